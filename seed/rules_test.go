package seed_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"estatecrm/aftersales"
	"estatecrm/api/apitest"
	"estatecrm/auth"
	"estatecrm/clock"
	"estatecrm/database"
	"estatecrm/ent"
	"estatecrm/ent/complaintevent"
	"estatecrm/ent/customer"
	"estatecrm/ent/deal"
	"estatecrm/ent/pricechange"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/unit"
	"estatecrm/ent/user"
	"estatecrm/ent/visit"
	"estatecrm/money"
	"estatecrm/seed"
)

// TestSeedObeysTheRules: the demo data is what the rules of the API would
// have made of its history, for every customer, unit and deal, whichever
// way the seed entered them:
//   - attribution: the owner and since are the last line of the customer's
//     attribution history, and protection runs the project's protection
//     days from the later of since and the owner's latest contact;
//   - consent: the latest consent event is the customer's consent now;
//   - visits: a customer's first visit in person is their FIRST_VISIT, the
//     others revisits; the last contact is the latest visit; nobody who
//     came in person is still a LEAD;
//   - holds: no agent holds more than 3 units, each hold is by an agent of
//     the project for a customer of theirs;
//   - deals: a customer with a deal is in the stage the stage recompute
//     gives (CancelDeal's: OWNER, CONTRACTED, RESERVED, NEGOTIATING while a
//     discount waits, else VISITED or LEAD; LOST stays LOST), and each deal
//     costs the list price of its reservation day less its discount;
//   - prices: there is a price history, each change is by a manager of the
//     project, changes chain, and the latest is the unit's list price;
//   - complaints: the status and reopen count are the timeline's, the SLA
//     deadlines the policy's windows from filing and from the latest reopen;
//   - surveys: one per delivery and per resolved complaint, to its
//     homeowner; an answer is whole and in range, given once, by the
//     homeowner through their login, after the survey was sent and not
//     after now (checkSurveys); satisfaction, read through the API as each
//     demo manager, is a direct count of those answers (checkSatisfaction).
func TestSeedObeysTheRules(t *testing.T) {
	env := apitest.New(t)
	// The seed refuses a database with users other than the demo's: the
	// test server's admin goes (it has done nothing yet).
	env.Client.User.DeleteOneID(apitest.Admin.UserID).ExecX(apitest.System())
	client := database.NewClient(env.DB.Driver)
	ctx := auth.SystemContext(context.Background())
	now := time.Date(2026, 3, 14, 6, 30, 0, 0, time.UTC)
	if _, err := seed.Run(ctx, client, now); err != nil {
		t.Fatalf("Run: %v", err)
	}
	ctx = clock.NewContext(ctx, func() time.Time { return now }) // holds read as of the seed's now
	projects := map[pulid.ID]*ent.Project{}
	for _, p := range client.Project.Query().AllX(ctx) {
		projects[p.ID] = p
	}
	customers := client.Customer.Query().WithAttributionHistory().WithConsentEvents().WithVisits().AllX(ctx)
	byID := map[pulid.ID]*ent.Customer{}
	for _, c := range customers {
		byID[c.ID] = c
		checkAttribution(t, c, projects[c.ProjectID])
		checkConsent(t, c)
		checkVisitHistory(t, c)
	}
	checkHeldUnits(t, ctx, client, byID, now)
	checkDealStages(t, ctx, client, byID)
	checkPrices(t, ctx, client)
	checkComplaints(t, ctx, client)
	checkSurveys(t, ctx, client, now)
	checkSatisfaction(t, ctx, env, client, now)
}

// checkComplaints: a complaint's status is where its timeline left it, and
// its SLA deadlines run the policy's windows from its filing (response) and
// from its latest start of resolution (resolution: a reopen restarts it).
func checkComplaints(t *testing.T, ctx context.Context, client *ent.Client) {
	t.Helper()
	cs := client.Complaint.Query().WithEvents().AllX(ctx)
	if len(cs) == 0 {
		t.Fatal("no complaints")
	}
	for _, c := range cs {
		evs := slices.Clone(c.Edges.Events)
		slices.SortStableFunc(evs, func(a, b *ent.ComplaintEvent) int { return a.CreatedAt.Compare(b.CreatedAt) })
		w := aftersales.DefaultPolicy().Window(c.Severity)
		status, started, reopens := "", c.CreatedAt, 0
		for _, e := range evs {
			if e.ToStatus != "" {
				status = e.ToStatus
			}
			if e.Kind == complaintevent.KindREOPENED {
				started, reopens = e.CreatedAt, reopens+1
			}
		}
		switch {
		case len(evs) == 0 || evs[0].Kind != complaintevent.KindSUBMITTED || !evs[0].CreatedAt.Equal(c.CreatedAt):
			t.Errorf("complaint %s filed %v: its timeline does not start with its filing", c.ID, c.CreatedAt)
		case string(c.Status) != status || c.ReopenCount != reopens:
			t.Errorf("complaint %s: %s reopened %d times, its timeline says %s and %d", c.ID, c.Status, c.ReopenCount, status, reopens)
		case !c.ResponseDueAt.Equal(c.CreatedAt.Add(w.Response)) || !c.ResolutionStartedAt.Equal(started) ||
			!c.ResolutionDueAt.Equal(started.Add(w.Resolution)):
			t.Errorf("complaint %s (%s) filed %v: response due %v, resolution started %v due %v", c.ID, c.Severity,
				c.CreatedAt, c.ResponseDueAt, c.ResolutionStartedAt, c.ResolutionDueAt)
		}
	}
}

func checkAttribution(t *testing.T, c *ent.Customer, p *ent.Project) {
	t.Helper()
	h := slices.Clone(c.Edges.AttributionHistory)
	slices.SortStableFunc(h, func(a, b *ent.AttributionEvent) int { return a.At.Compare(b.At) })
	if c.OwnerID == nil {
		if len(h) != 0 {
			t.Errorf("customer %s has no owner but %d attribution lines", c.ID, len(h))
		}
		return
	}
	if len(h) == 0 {
		t.Errorf("customer %s (owner %s) has no attribution history", c.ID, *c.OwnerID)
		return
	}
	last := h[len(h)-1]
	if last.ToID == nil || *last.ToID != *c.OwnerID || c.OwnedSince == nil || !last.At.Equal(*c.OwnedSince) ||
		c.AttributionRule == nil || string(last.Kind) != string(*c.AttributionRule) {
		t.Errorf("customer %s: owner %s since %v by %v, but the history ends %s to %v at %v",
			c.ID, *c.OwnerID, c.OwnedSince, c.AttributionRule, last.Kind, last.ToID, last.At)
	}
	from := *c.OwnedSince
	for _, v := range c.Edges.Visits {
		if v.AgentID == *c.OwnerID && v.OccurredAt.After(from) {
			from = v.OccurredAt
		}
	}
	want := from.Add(time.Duration(*p.ProtectionDays) * 24 * time.Hour)
	if c.ProtectedUntil == nil || !c.ProtectedUntil.Equal(want) {
		t.Errorf("customer %s: protected until %v, want %v (%d days from %v)", c.ID, c.ProtectedUntil, want, *p.ProtectionDays, from)
	}
}

func checkConsent(t *testing.T, c *ent.Customer) {
	t.Helper()
	evs := slices.Clone(c.Edges.ConsentEvents)
	slices.SortStableFunc(evs, func(a, b *ent.ConsentEvent) int { return a.CreatedAt.Compare(b.CreatedAt) })
	if len(evs) == 0 {
		if c.ContactConsent {
			t.Errorf("customer %s consents with no consent history", c.ID)
		}
		return
	}
	e := evs[len(evs)-1]
	if e.Consent != c.ContactConsent || c.ConsentAt == nil || !e.CreatedAt.Equal(*c.ConsentAt) ||
		(c.ContactConsent && !slices.Equal(e.Channels, c.ConsentChannels)) {
		t.Errorf("customer %s: consent %v at %v by %v, but the latest event is %s %v at %v by %v",
			c.ID, c.ContactConsent, c.ConsentAt, c.ConsentChannels, e.Kind, e.Consent, e.CreatedAt, e.Channels)
	}
}

func checkVisitHistory(t *testing.T, c *ent.Customer) {
	t.Helper()
	vs := slices.Clone(c.Edges.Visits)
	slices.SortStableFunc(vs, func(a, b *ent.Visit) int { return a.OccurredAt.Compare(b.OccurredAt) })
	inPerson := false
	for _, v := range vs {
		switch v.Kind {
		case visit.KindFIRST_VISIT, visit.KindREVISIT:
			if want := map[bool]visit.Kind{false: visit.KindFIRST_VISIT, true: visit.KindREVISIT}[inPerson]; v.Kind != want {
				t.Errorf("customer %s: visit in person at %v is %s, want %s", c.ID, v.OccurredAt, v.Kind, want)
			}
			inPerson = true
		}
		if v.OccurredAt.Before(c.CreatedAt) {
			t.Errorf("customer %s: visit at %v before registration at %v", c.ID, v.OccurredAt, c.CreatedAt)
		}
	}
	if len(vs) > 0 && (c.LastContactAt == nil || !c.LastContactAt.Equal(vs[len(vs)-1].OccurredAt)) {
		t.Errorf("customer %s: last contact %v, latest visit %v", c.ID, c.LastContactAt, vs[len(vs)-1].OccurredAt)
	}
	came := slices.ContainsFunc(vs, func(v *ent.Visit) bool {
		return v.Kind == visit.KindFIRST_VISIT || v.Kind == visit.KindREVISIT || v.Kind == visit.KindHOME_VISIT
	})
	if came && c.Stage == customer.StageLEAD {
		t.Errorf("customer %s came in person and is still a LEAD", c.ID)
	}
}

func checkHeldUnits(t *testing.T, ctx context.Context, client *ent.Client, customers map[pulid.ID]*ent.Customer, now time.Time) {
	t.Helper()
	held := client.Unit.Query().Where(unit.HeldByIDNotNil()).AllX(ctx)
	if len(held) == 0 {
		t.Fatal("no unit is held")
	}
	perAgent := map[pulid.ID]int{}
	for _, u := range held {
		if u.HoldExpiresAt != nil && !u.HoldExpiresAt.After(now) {
			continue // lapsed
		}
		perAgent[*u.HeldByID]++
		agent := client.User.Query().Where(user.ID(*u.HeldByID)).WithProjects().OnlyX(ctx)
		c := customers[*u.HeldForID]
		if agent.Role != user.RoleAGENT || !slices.ContainsFunc(agent.Edges.Projects, func(p *ent.Project) bool { return p.ID == u.ProjectID }) ||
			c == nil || c.OwnerID == nil || *c.OwnerID != agent.ID || c.ProjectID != u.ProjectID {
			t.Errorf("unit %s held by %s (%s) for %v: not the agent's customer in the unit's project", u.ID, agent.Login, agent.Role, u.HeldForID)
		}
	}
	for a, n := range perAgent {
		if n > 3 {
			t.Errorf("agent %s holds %d units, more than 3", a, n)
		}
	}
}

func checkDealStages(t *testing.T, ctx context.Context, client *ent.Client, customers map[pulid.ID]*ent.Customer) {
	t.Helper()
	deals := client.Deal.Query().WithUnit().AllX(ctx)
	if len(deals) == 0 {
		t.Fatal("no deals")
	}
	byCustomer := map[pulid.ID][]*ent.Deal{}
	for _, d := range deals {
		byCustomer[d.CustomerID] = append(byCustomer[d.CustomerID], d)
		if d.CreatedAt.After(d.ReservedAt) || d.UpdatedAt.Before(d.ReservedAt) {
			t.Errorf("deal %s: created %v, updated %v, reserved %v", d.ID, d.CreatedAt, d.UpdatedAt, d.ReservedAt)
		}
	}
	for id, ds := range byCustomer {
		c := customers[id]
		want := recomputedStage(c, ds)
		if c.Stage != want {
			t.Errorf("customer %s with deals %v: stage %s, the recompute gives %s", id, stagesOf(ds), c.Stage, want)
		}
	}
}

func stagesOf(ds []*ent.Deal) []deal.Stage {
	var out []deal.Stage
	for _, d := range ds {
		out = append(out, d.Stage)
	}
	return out
}

// recomputedStage is the stage a customer's deals and visits give, as
// sales.CancelDeal restores it.
func recomputedStage(c *ent.Customer, ds []*ent.Deal) customer.Stage {
	has := func(s deal.Stage, delivered bool) bool {
		return slices.ContainsFunc(ds, func(d *ent.Deal) bool {
			return d.Stage == s && (!delivered || d.Edges.Unit.Status == unit.StatusDELIVERED)
		})
	}
	switch {
	case has(deal.StageCONTRACTED, true):
		return customer.StageOWNER
	case has(deal.StageCONTRACTED, false):
		return customer.StageCONTRACTED
	case has(deal.StageRESERVED, false):
		return customer.StageRESERVED
	case has(deal.StagePENDING_APPROVAL, false):
		return customer.StageNEGOTIATING
	case c.Stage == customer.StageLOST:
		return customer.StageLOST
	}
	for _, v := range c.Edges.Visits {
		if v.Kind == visit.KindFIRST_VISIT || v.Kind == visit.KindREVISIT || v.Kind == visit.KindHOME_VISIT {
			return customer.StageVISITED
		}
	}
	return customer.StageLEAD
}

func checkPrices(t *testing.T, ctx context.Context, client *ent.Client) {
	t.Helper()
	changes := client.PriceChange.Query().Order(pricechange.ByChangedAt(), pricechange.ByID()).AllX(ctx)
	if len(changes) == 0 {
		t.Fatal("no price history")
	}
	history := map[pulid.ID][]*ent.PriceChange{}
	for _, pc := range changes {
		history[pc.UnitID] = append(history[pc.UnitID], pc)
		if pc.ChangedByID == nil {
			t.Errorf("price change %s by nobody", pc.ID)
			continue
		}
		by := client.User.Query().Where(user.ID(*pc.ChangedByID)).WithProjects().OnlyX(ctx)
		if by.Role != user.RoleMANAGER || !slices.ContainsFunc(by.Edges.Projects, func(p *ent.Project) bool { return p.ID == pc.ProjectID }) {
			t.Errorf("price change %s by %s (%s), not a manager of the project", pc.ID, by.Login, by.Role)
		}
	}
	units := map[pulid.ID]*ent.Unit{}
	for _, u := range client.Unit.Query().AllX(ctx) {
		units[u.ID] = u
	}
	for id, h := range history {
		for i := 1; i < len(h); i++ {
			if h[i].OldPrice != h[i-1].NewPrice {
				t.Errorf("unit %s: price change %s from %v, but the one before set %v", id, h[i].ID, h[i].OldPrice, h[i-1].NewPrice)
			}
		}
		if last := h[len(h)-1]; last.NewPrice != units[id].ListPrice {
			t.Errorf("unit %s: list price %v, latest price change to %v", id, units[id].ListPrice, last.NewPrice)
		}
	}
	// A deal costs the list price of its day less its discount (the
	// arithmetic of sales.ReserveUnit).
	listAt := func(u *ent.Unit, at time.Time) money.Fen {
		h := history[u.ID]
		price := u.ListPrice
		if len(h) > 0 {
			price = h[0].OldPrice
		}
		for _, pc := range h {
			if pc.ChangedAt.After(at) {
				break
			}
			price = pc.NewPrice
		}
		return price
	}
	repriced := 0
	for _, d := range client.Deal.Query().WithUnit().AllX(ctx) {
		list := listAt(d.Edges.Unit, d.ReservedAt)
		if len(history[d.UnitID]) > 0 && d.ReservedAt.After(history[d.UnitID][0].ChangedAt) {
			repriced++
		}
		want := money.Fen(int64(list) * int64(10000-*d.DiscountBp) / 10000)
		if d.Price == nil || *d.Price != want {
			t.Errorf("deal %s reserved %v: price %v, want %v (list %v less %d bp)", d.ID, d.ReservedAt, d.Price, want, list, *d.DiscountBp)
		}
	}
	if repriced == 0 {
		t.Error("no deal was reserved after a price change of its unit")
	}
}
