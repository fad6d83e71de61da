package api_test

// Customer profiles (客户画像), consent to be contacted and referrals
// (老带新): issue 11, part 2.

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"estatecrm/api/apitest"
	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/auditevent"
	"estatecrm/ent/consentevent"
	"estatecrm/ent/customer"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/user"
)

// profileEnv is a project with its manager, two agents, a customer of
// each agent and a homeowner (a customer of A2's with a login).
type profileEnv struct {
	env               *apitest.Env
	p                 *ent.Project
	a1u, a2u, mu      *ent.User
	a1, a2, manager   *auth.Viewer
	c1, c2, homeowner *ent.Customer
	hu                *ent.User
}

func newProfileEnv(t *testing.T) *profileEnv {
	t.Helper()
	env := apitest.New(t)
	ctx := apitest.System()
	e := &profileEnv{env: env, p: env.Project(t, "滨江·云玺", 1, 1, 1)}
	e.a1u, e.a1 = env.User(t, user.RoleAGENT, "agent.1", e.p)
	e.a2u, e.a2 = env.User(t, user.RoleAGENT, "agent.2", e.p)
	e.mu, e.manager = env.User(t, user.RoleMANAGER, "manager", e.p)
	newCustomer := func(name, phone string, owner *ent.User) *ent.Customer {
		return env.Client.Customer.Create().SetProjectID(e.p.ID).SetName(name).SetPhone(phone).
			SetSource(customer.SourceWALK_IN).SetOwnerID(owner.ID).SetProtectedUntil(time.Now().Add(24 * time.Hour)).
			SaveX(ctx)
	}
	e.c1 = newCustomer("王伟", "13800138001", e.a1u)
	e.c2 = newCustomer("李娜", "13800138002", e.a2u)
	e.homeowner = newCustomer("张敏", "13800138003", e.a2u)
	e.hu = env.Client.User.Create().SetName("张敏").SetLogin("owner.1").SetRole(user.RoleOWNER).
		SetCustomerID(e.homeowner.ID).SaveX(ctx)
	return e
}

const profileFields = `id name gender ageBand occupation familyStructure purpose budgetMin budgetMax
  wantedBedrooms wantedAreaMin wantedAreaMax focusFactors tags notes referredBy { id }`

const updateCustomerMutation = `mutation($in: UpdateCustomerInput!) { updateCustomer(input: $in) { customer { ` + profileFields + ` } } }`

// profileOf is a customer's profile as the API shows it.
type profileOf struct {
	ID, Name, Gender                     string
	AgeBand, Occupation, FamilyStructure *string
	Purpose, BudgetMin, BudgetMax        *string
	WantedBedrooms                       []int
	WantedAreaMin, WantedAreaMax         *float64
	FocusFactors, Tags                   []string
	Notes                                *string
	ReferredBy                           *struct{ ID string }
}

func updateCustomer(t *testing.T, c *apitest.Caller, in map[string]any) profileOf {
	t.Helper()
	var out struct{ UpdateCustomer struct{ Customer profileOf } }
	c.Query(t, updateCustomerMutation, map[string]any{"in": in}).Decode(t, &out)
	return out.UpdateCustomer.Customer
}

// The owning agent fills in a profile over several visits: only the
// fields sent change, null clears a field, and each change is audited by
// the names of the fields, never their values.
func TestUpdateCustomerIsPartial(t *testing.T) {
	e := newProfileEnv(t)
	ctx := apitest.System()
	agent := e.env.As(t, e.a1)
	id := string(e.c1.ID)

	got := updateCustomer(t, agent, map[string]any{"customerId": id,
		"name": "王伟先生", "gender": "MALE", "ageBand": "FROM_35_TO_44", "occupation": "教师",
		"familyStructure": "COUPLE_WITH_CHILDREN", "purpose": "UPGRADE", "budgetMin": "3000000", "budgetMax": "4500000",
		"wantedBedrooms": []int{4, 3, 3}, "wantedAreaMin": 95.5, "wantedAreaMax": 130,
		"focusFactors": []string{"SCHOOL", "TRANSPORT", "SCHOOL"}, "tags": []string{" 学区 ", "二胎", "学区"},
		"notes": "看重学区\n周末来访", "referredBy": string(e.c2.ID)})
	want := profileOf{ID: id, Name: "王伟先生", Gender: "MALE", AgeBand: ptr("FROM_35_TO_44"), Occupation: ptr("教师"),
		FamilyStructure: ptr("COUPLE_WITH_CHILDREN"), Purpose: ptr("UPGRADE"), BudgetMin: ptr("3000000.00"), BudgetMax: ptr("4500000.00"),
		WantedBedrooms: []int{3, 4}, WantedAreaMin: ptr(95.5), WantedAreaMax: ptr(130.0),
		FocusFactors: []string{"SCHOOL", "TRANSPORT"}, Tags: []string{"学区", "二胎"}, Notes: ptr("看重学区\n周末来访")}
	// A1 named A2's customer as the referrer; A1 may not read them, so
	// the referrer reads null to A1 and is kept all the same.
	if diff := profileDiff(got, want); diff != "" {
		t.Fatalf("after the first update: %s", diff)
	}
	if ref := e.env.Client.Customer.GetX(ctx, e.c1.ID).ReferredByID; ref == nil || *ref != e.c2.ID {
		t.Fatalf("referrer stored as %v, want %s", ref, e.c2.ID)
	}

	// Only the notes change; the rest stays.
	got = updateCustomer(t, agent, map[string]any{"customerId": id, "notes": "已交意向金"})
	want.Notes = ptr("已交意向金")
	if diff := profileDiff(got, want); diff != "" {
		t.Fatalf("after a notes-only update: %s", diff)
	}

	// Explicit nulls clear; gender goes back to UNKNOWN.
	got = updateCustomer(t, agent, map[string]any{"customerId": id, "gender": nil, "ageBand": nil, "occupation": nil,
		"budgetMin": nil, "wantedBedrooms": nil, "wantedAreaMax": nil, "tags": nil, "referredBy": nil})
	want.Gender, want.AgeBand, want.Occupation, want.BudgetMin, want.WantedBedrooms, want.WantedAreaMax, want.Tags =
		"UNKNOWN", nil, nil, nil, nil, nil, nil
	if diff := profileDiff(got, want); diff != "" {
		t.Fatalf("after clearing: %s", diff)
	}
	if c := e.env.Client.Customer.GetX(ctx, e.c1.ID); c.ReferredByID != nil || c.BudgetMin != nil || c.BudgetMax == nil {
		t.Fatalf("stored after clearing: referrer %v, budget %v–%v", c.ReferredByID, c.BudgetMin, c.BudgetMax)
	}

	// Three changes, three audit events naming the fields, by A1, visible
	// to the project's managers; no value of the profile in them.
	events := e.env.Client.AuditEvent.Query().
		Where(auditevent.ObjectID(id), auditevent.Action("customer.profile.change")).
		Order(auditevent.ByCreatedAt(), auditevent.ByID()).AllX(ctx)
	if len(events) != 3 {
		t.Fatalf("%d profile changes audited, want 3", len(events))
	}
	for _, ev := range events {
		if ev.ActorID == nil || *ev.ActorID != e.a1u.ID || ev.ProjectID == nil || *ev.ProjectID != e.p.ID ||
			strings.Contains(ev.Detail, "王") || strings.Contains(ev.Detail, "学区") {
			t.Fatalf("audited as %+v", ev)
		}
	}
	if d := events[1].Detail; d != "notes" {
		t.Fatalf("the notes-only change audited as %q", d)
	}
	if d := events[2].Detail; !strings.Contains(d, "referredBy") || !strings.Contains(d, "ageBand") || strings.Contains(d, "notes") {
		t.Fatalf("the clearing audited as %q", d)
	}
	var seen struct {
		AuditEvents struct{ TotalCount int }
	}
	e.env.As(t, e.manager).Query(t, `query($o: String!) { auditEvents(first: 10, where: {objectID: $o, action: "customer.profile.change"}) { totalCount } }`,
		map[string]any{"o": id}).Decode(t, &seen)
	if seen.AuditEvents.TotalCount != 3 {
		t.Fatalf("the manager sees %d profile changes, want 3", seen.AuditEvents.TotalCount)
	}

	// The manager of the project changes it too; so does the admin.
	if got := updateCustomer(t, e.env.As(t, e.manager), map[string]any{"customerId": id, "purpose": "INVESTMENT"}); got.Purpose == nil || *got.Purpose != "INVESTMENT" {
		t.Fatalf("the manager's update: %+v", got)
	}
	if got := updateCustomer(t, e.env.As(t, apitest.Admin), map[string]any{"customerId": id, "familyStructure": nil}); got.FamilyStructure != nil {
		t.Fatalf("the admin's update: %+v", got)
	}
}

// Bad input is BAD_USER_INPUT naming the field, and nothing changes, not
// even the fields of the same request that were good.
func TestUpdateCustomerBadInput(t *testing.T) {
	e := newProfileEnv(t)
	ctx := apitest.System()
	agent := e.env.As(t, e.a1)
	id := string(e.c1.ID)
	updateCustomer(t, agent, map[string]any{"customerId": id, "budgetMin": "3000000", "wantedAreaMin": 90})
	staff := e.a2u.ID
	many := make([]string, 21)
	for i := range many {
		many[i] = fmt.Sprintf("tag%d", i)
	}
	for _, tc := range []struct {
		name  string
		in    map[string]any
		field string
	}{
		{"a blank name", map[string]any{"name": " \u3000"}, "input.name"},
		{"no name", map[string]any{"name": nil}, "input.name"},
		{"a name of 51 characters", map[string]any{"name": strings.Repeat("王", 51)}, "input.name"},
		{"a budget maximum below the stored minimum", map[string]any{"budgetMax": "2000000"}, "input.budgetMax"},
		{"an area maximum below the stored minimum", map[string]any{"wantedAreaMax": 80}, "input.wantedAreaMax"},
		{"an area of 0", map[string]any{"wantedAreaMin": 0}, "input.wantedAreaMin"},
		{"11 bedrooms", map[string]any{"wantedBedrooms": []int{3, 11}}, "input.wantedBedrooms.1"},
		{"a blank tag", map[string]any{"tags": []string{"学区", " "}}, "input.tags.1"},
		{"a tag of 21 characters", map[string]any{"tags": []string{strings.Repeat("a", 21)}}, "input.tags.0"},
		{"21 tags", map[string]any{"tags": many}, "input.tags"},
		{"notes of 2,001 characters", map[string]any{"notes": strings.Repeat("记", 2001)}, "input.notes"},
		{"an occupation with a line break", map[string]any{"occupation": "教\n师"}, "input.occupation"},
		{"a staff member as referrer", map[string]any{"referredBy": string(staff)}, "input.referredBy"},
		{"a referrer that does not exist", map[string]any{"referredBy": "CU01ARZ3NDEKTSV4RRFFQ69G5FAV"}, "input.referredBy"},
		{"a unit as referrer", map[string]any{"referredBy": "UN01ARZ3NDEKTSV4RRFFQ69G5FAV"}, "input.referredBy"},
		{"the customer as their own referrer", map[string]any{"referredBy": id}, "input.referredBy"},
		{"not a customer's ID", map[string]any{"customerId": string(e.p.ID)}, "input.customerId"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.env.Client.Customer.GetX(ctx, e.c1.ID)
			audits := e.env.Client.AuditEvent.Query().CountX(ctx)
			in := map[string]any{"customerId": id, "notes": "changed along with the bad field", "gender": "FEMALE"}
			for k, v := range tc.in {
				in[k] = v
			}
			res := agent.Query(t, updateCustomerMutation, map[string]any{"in": in})
			if err := res.OnlyError(t); err.Code() != "BAD_USER_INPUT" || err.Field() != tc.field {
				t.Fatalf("want BAD_USER_INPUT on %s, got %s", tc.field, res.Body)
			}
			after := e.env.Client.Customer.GetX(ctx, e.c1.ID)
			if !after.UpdatedAt.Equal(before.UpdatedAt) || after.Notes != before.Notes || after.Gender != before.Gender {
				t.Fatalf("a refused update changed the customer: %+v", after)
			}
			if n := e.env.Client.AuditEvent.Query().CountX(ctx); n != audits {
				t.Fatalf("a refused update wrote %d audit events", n-audits)
			}
		})
	}
}

// registerCustomer takes the whole profile, a referrer (here a homeowner
// by their login) and the consent, which starts the consent history.
func TestRegisterCustomerWithProfile(t *testing.T) {
	e := newProfileEnv(t)
	ctx := apitest.System()
	const register = `mutation($in: RegisterCustomerInput!) { registerCustomer(input: $in) { customer {
	  ` + profileFields + ` source contactConsent consentChannels
	  consentHistory { kind consent channels recordedBy { id } } } } }`
	in := map[string]any{"projectId": string(e.p.ID), "name": "陈静", "phone": "13900139000", "source": "REFERRAL",
		"gender": "FEMALE", "ageBand": "FROM_25_TO_34", "purpose": "FIRST_HOME", "budgetMin": "2000000", "budgetMax": "2600000",
		"occupation": "设计师", "familyStructure": "COUPLE", "wantedBedrooms": []int{2, 3}, "wantedAreaMin": 80, "wantedAreaMax": 100,
		"focusFactors": []string{"TRANSPORT", "PRICE"}, "tags": []string{"首置"}, "notes": "朋友推荐",
		"referredBy": string(e.hu.ID), "contactConsent": true, "consentChannels": []string{"WECHAT"}}
	var out struct {
		RegisterCustomer struct {
			Customer struct {
				profileOf
				Source          string
				ContactConsent  bool
				ConsentChannels []string
				ConsentHistory  []struct {
					Kind       string
					Consent    bool
					Channels   []string
					RecordedBy struct{ ID string }
				}
			}
		}
	}
	e.env.As(t, e.a1).Query(t, register, map[string]any{"in": in}).Decode(t, &out)
	got := out.RegisterCustomer.Customer
	want := profileOf{ID: got.ID, Name: "陈静", Gender: "FEMALE", AgeBand: ptr("FROM_25_TO_34"), Occupation: ptr("设计师"),
		FamilyStructure: ptr("COUPLE"), Purpose: ptr("FIRST_HOME"), BudgetMin: ptr("2000000.00"), BudgetMax: ptr("2600000.00"),
		WantedBedrooms: []int{2, 3}, WantedAreaMin: ptr(80.0), WantedAreaMax: ptr(100.0),
		FocusFactors: []string{"TRANSPORT", "PRICE"}, Tags: []string{"首置"}, Notes: ptr("朋友推荐")}
	if diff := profileDiff(got.profileOf, want); diff != "" {
		t.Fatalf("registered: %s", diff)
	}
	if h := got.ConsentHistory; !got.ContactConsent || len(h) != 1 || h[0].Kind != "GIVEN" || !h[0].Consent ||
		!slices.Equal(h[0].Channels, []string{"WECHAT"}) || h[0].RecordedBy.ID != string(e.a1u.ID) {
		t.Fatalf("consent at registration: %+v", got)
	}
	// The homeowner's login stands for their customer record.
	if ref := e.env.Client.Customer.GetX(ctx, pulid.ID(got.ID)).ReferredByID; ref == nil || *ref != e.homeowner.ID {
		t.Fatalf("referrer stored as %v, want the homeowner's record %s", ref, e.homeowner.ID)
	}

	// A bad profile field refuses the registration: nobody is created.
	n := e.env.Client.Customer.Query().CountX(ctx)
	for field, bad := range map[string]any{"input.tags.0": []string{""}, "input.wantedAreaMax": 10, "input.referredBy": string(e.mu.ID)} {
		in := merged(in, map[string]any{"phone": "13700137000"})
		in[strings.Split(field, ".")[1]] = bad
		res := e.env.As(t, e.a1).Query(t, register, map[string]any{"in": in})
		if err := res.OnlyError(t); err.Code() != "BAD_USER_INPUT" || err.Field() != field {
			t.Fatalf("want BAD_USER_INPUT on %s, got %s", field, res.Body)
		}
	}
	if got := e.env.Client.Customer.Query().CountX(ctx); got != n {
		t.Fatalf("%d customers after refused registrations, want %d", got, n)
	}
	if c := e.env.Client.ConsentEvent.Query().CountX(ctx); c != 1 {
		t.Fatalf("%d consent events, want the registration's one", c)
	}
}

// Consent is given, changed and withdrawn, each a line of the history
// (newest first) with its time, channels and recorder; the customer's
// consent fields follow the latest, and each change is audited.
func TestContactConsentHistory(t *testing.T) {
	e := newProfileEnv(t)
	ctx := apitest.System()
	const set = `mutation($in: SetContactConsentInput!) { setContactConsent(input: $in) { customer {
	  contactConsent consentAt consentChannels
	  consentHistory { id kind consent channels note createdAt recordedBy { id } } } } }`
	type event struct {
		ID, Kind   string
		Consent    bool
		Channels   []string
		Note       *string
		CreatedAt  time.Time
		RecordedBy *struct{ ID string }
	}
	type answer struct {
		SetContactConsent struct {
			Customer struct {
				ContactConsent  bool
				ConsentAt       *time.Time
				ConsentChannels []string
				ConsentHistory  []event
			}
		}
	}
	id := string(e.c1.ID)
	var out answer
	e.env.As(t, e.a1).Query(t, set, map[string]any{"in": map[string]any{"customerId": id, "consent": true,
		"channels": []string{"SMS", "PHONE", "SMS"}, "note": "到访时签署同意书"}}).Decode(t, &out)
	e.env.As(t, e.manager).Query(t, set, map[string]any{"in": map[string]any{"customerId": id, "consent": true,
		"channels": []string{"WECHAT"}}}).Decode(t, &out)
	c := out.SetContactConsent.Customer
	if !c.ContactConsent || !slices.Equal(c.ConsentChannels, []string{"WECHAT"}) || c.ConsentAt == nil {
		t.Fatalf("after the change: %+v", c)
	}
	out = answer{}
	e.env.As(t, e.a1).Query(t, set, map[string]any{"in": map[string]any{"customerId": id, "consent": false,
		"note": "电话中要求不再联系"}}).Decode(t, &out)
	c = out.SetContactConsent.Customer
	if c.ContactConsent || len(c.ConsentChannels) != 0 {
		t.Fatalf("after the withdrawal: %+v", c)
	}
	h := c.ConsentHistory
	if len(h) != 3 {
		t.Fatalf("history %+v, want 3 events", h)
	}
	if h[0].Kind != "WITHDRAWN" || h[0].Consent || len(h[0].Channels) != 0 || h[0].Note == nil || h[0].RecordedBy.ID != string(e.a1u.ID) ||
		h[1].Kind != "CHANGED" || !slices.Equal(h[1].Channels, []string{"WECHAT"}) || h[1].RecordedBy.ID != string(e.mu.ID) ||
		h[2].Kind != "GIVEN" || !slices.Equal(h[2].Channels, []string{"SMS", "PHONE"}) || *h[2].Note != "到访时签署同意书" {
		b, _ := json.Marshal(h)
		t.Fatalf("history, newest first: %s", b)
	}
	if h[0].CreatedAt.Before(h[1].CreatedAt) || h[1].CreatedAt.Before(h[2].CreatedAt) || !c.ConsentAt.Equal(h[0].CreatedAt) {
		t.Fatalf("history out of order, or consentAt %v not the latest event's", c.ConsentAt)
	}
	if n := e.env.Client.AuditEvent.Query().Where(auditevent.ObjectID(id), auditevent.Action("customer.consent.change")).CountX(ctx); n != 3 {
		t.Fatalf("%d consent changes audited, want 3", n)
	}

	// Bad input: nothing written.
	for _, tc := range []struct {
		in    map[string]any
		field string
	}{
		{map[string]any{"consent": true}, "input.channels"},
		{map[string]any{"consent": true, "channels": []string{}}, "input.channels"},
		{map[string]any{"consent": false, "channels": []string{"SMS"}}, "input.channels"},
		{map[string]any{"consent": true, "channels": []string{"SMS"}, "note": strings.Repeat("注", 501)}, "input.note"},
	} {
		tc.in["customerId"] = id
		res := e.env.As(t, e.a1).Query(t, set, map[string]any{"in": tc.in})
		if err := res.OnlyError(t); err.Code() != "BAD_USER_INPUT" || err.Field() != tc.field {
			t.Fatalf("%v: want BAD_USER_INPUT on %s, got %s", tc.in, tc.field, res.Body)
		}
	}
	if n := e.env.Client.ConsentEvent.Query().Where(consentevent.CustomerID(e.c1.ID)).CountX(ctx); n != 3 {
		t.Fatalf("%d consent events after refused changes, want 3", n)
	}
	if cu := e.env.Client.Customer.GetX(ctx, e.c1.ID); cu.ContactConsent {
		t.Fatal("a refused change gave consent")
	}

	// Another agent neither reads nor records this customer's consent.
	res := e.env.As(t, e.a2).Query(t, set, map[string]any{"in": map[string]any{"customerId": id, "consent": true, "channels": []string{"SMS"}}})
	if err := res.OnlyError(t); err.Code() != "NOT_FOUND" || strings.Contains(string(res.Body), "王伟") {
		t.Fatalf("another agent: %s", res.Body)
	}
}

// Referral (老带新): the referrer's agent sees whom their customer referred
// and how far each got, as far as the rules let them read; nothing of a
// referral or referrer they may not read leaks, through the edge, its
// count, or a filter.
func TestReferralsFollowThePrivacyRules(t *testing.T) {
	e := newProfileEnv(t)
	ctx := apitest.System()
	// A2 registers a friend of A1's customer c1, and one of its own c2.
	const register = `mutation($p: ID!, $ph: String!, $ref: ID!) { registerCustomer(input: {projectId: $p, name: "朋友", phone: $ph, source: REFERRAL, referredBy: $ref}) { customer { id referredBy { id name } } } }`
	var r1, r2 struct {
		RegisterCustomer struct {
			Customer struct {
				ID         string
				ReferredBy *struct{ ID, Name string }
			}
		}
	}
	e.env.As(t, e.a2).Query(t, register, map[string]any{"p": e.p.ID, "ph": "13600136001", "ref": e.c1.ID}).Decode(t, &r1)
	e.env.As(t, e.a2).Query(t, register, map[string]any{"p": e.p.ID, "ph": "13600136002", "ref": e.c1.ID}).Decode(t, &r2)
	if r1.RegisterCustomer.Customer.ReferredBy != nil {
		t.Fatalf("A2 reads A1's customer as the referrer: %+v", r1)
	}
	e.env.Client.Customer.UpdateOneID(pulid.ID(r2.RegisterCustomer.Customer.ID)).SetStage(customer.StageRESERVED).ExecX(ctx)
	const referrals = `query($id: ID!) { node(id: $id) { ... on Customer { referrals(first: 10) { totalCount edges { node { id stage } } } } } }`
	type answer struct {
		Node struct {
			Referrals struct {
				TotalCount int
				Edges      []struct{ Node struct{ ID, Stage string } }
			}
		}
	}
	var m answer
	e.env.As(t, e.manager).Query(t, referrals, map[string]any{"id": e.c1.ID}).Decode(t, &m)
	stages := map[string]string{}
	for _, ed := range m.Node.Referrals.Edges {
		stages[ed.Node.ID] = ed.Node.Stage
	}
	if m.Node.Referrals.TotalCount != 2 || stages[r1.RegisterCustomer.Customer.ID] != "LEAD" || stages[r2.RegisterCustomer.Customer.ID] != "RESERVED" {
		t.Fatalf("the manager sees referrals %+v", m)
	}
	// A1 owns the referrer, not the referrals (A2's): nothing of them.
	var a answer
	res := e.env.As(t, e.a1).Query(t, referrals, map[string]any{"id": e.c1.ID})
	res.Decode(t, &a)
	if a.Node.Referrals.TotalCount != 0 || len(a.Node.Referrals.Edges) != 0 || strings.Contains(string(res.Body), "朋友") {
		t.Fatalf("A1 learns of A2's customers: %s", res.Body)
	}
	// Once one is reassigned to A1, A1 sees that one, with its stage.
	e.env.Client.Customer.UpdateOneID(pulid.ID(r2.RegisterCustomer.Customer.ID)).SetOwnerID(e.a1u.ID).ExecX(ctx)
	a = answer{}
	e.env.As(t, e.a1).Query(t, referrals, map[string]any{"id": e.c1.ID}).Decode(t, &a)
	if a.Node.Referrals.TotalCount != 1 || a.Node.Referrals.Edges[0].Node.Stage != "RESERVED" {
		t.Fatalf("A1 after the reassignment: %+v", a)
	}

	// No filter on referrals: the where input has no referral edge.
	for _, q := range []string{
		`{ customers(first: 10, where: {hasReferredBy: true}) { totalCount } }`,
		`{ customers(first: 10, where: {hasReferralsWith: [{name: "朋友"}]}) { totalCount } }`,
	} {
		res := e.env.As(t, e.a1).Query(t, q, nil)
		if len(res.Errors) == 0 || res.Errors[0].Code() != "BAD_USER_INPUT" {
			t.Fatalf("%s: want a refused filter, got %s", q, res.Body)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// merged returns a copy of a with b's entries over it.
func merged(a, b map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// profileDiff describes how got differs from want ("" if not).
func profileDiff(got, want profileOf) string {
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		return fmt.Sprintf("\n got  %s\n want %s", g, w)
	}
	return ""
}
