package apitest

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"sort"
	"testing"
	"time"

	"estatecrm/account"
	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/complaint"
	"estatecrm/ent/complaintevent"
	"estatecrm/ent/customer"
	"estatecrm/ent/deal"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/unit"
	"estatecrm/ent/user"
	"estatecrm/ent/visit"
	"estatecrm/money"
)

// Actors are everyone who may call the API, as named in a World: the admin,
// the managers of projects A and B, agents A1 and A2 of A and B1 of B,
// homeowners H1 and H2 (who bought units in A), a listing portal with an API
// key, and an anonymous caller.
var Actors = []string{"admin", "MA", "MB", "A1", "A2", "B1", "H1", "H2", "portal", "anonymous"}

// World is the fixture of the authorization matrix (SPEC.md §3.4): two
// projects with their staff, homeowners, customers in every state of
// attribution, visits, deals, a hold, complaints with events and photos,
// audit events and a portal's API key. Every object has a short label
// (pA, cPool, uHeld, …) so that tests can state what a viewer sees.
//
//	project pA (published): building bA, units 101 uH1, 102 uH2, 103 uR,
//	  201 uHeld, 202 uFree, 203 uUnpub (not published)
//	project pB (not published): building bB, units 101 uB1, 102 uB2
//	customers: cA1 (A1's, protected), cA2 (A2's, protected), cPool (A2's,
//	  protection lapsed: A's public pool), cB1 (B1's), cH1 (A1's, homeowner
//	  H1), cH2 (A2's, homeowner H2)
//	visits: vA1 (A1 with cA1, units uR and uFree shown), vA2 (A2 with cA2),
//	  vA2c (A2 with cA1, before cA1 was reassigned to A1), vPool (A2 with
//	  cPool), vB (B1 with cB1)
//	deals: dR (A1 reserved uR for cA1), dH1 (uH1 contracted by cH1 via A1),
//	  dH2 (uH2 contracted by cH2 via A2), dB (B1 reserved uB1 for cB1)
//	hold: uHeld held by A1 for cA1 until half an hour from now
//	complaints: cpH1 by H1 on uH1 (events evH1, evH1int internal; photo
//	  phH1), cpH2 by H2 on uH2 (event evH2; photo phH2)
//	audit events: auA (project A), auB (project B), and those the hooks
//	  wrote for the users, labelled au:<action>:<user>, e.g. au:user.create:MA
//	tAdmin: the admin row apitest.New makes for Env.Query
//	API key kPortal; refresh token rtA1 (A1's session)
type World struct {
	Env *Env
	// Users and Viewers by actor name (not the portal or anonymous).
	Users   map[string]*ent.User
	Viewers map[string]*auth.Viewer
	// PortalKey is the portal's X-API-Key.
	PortalKey string
	// Now is when the world was made.
	Now time.Time

	ids    map[string]pulid.ID
	labels map[pulid.ID]string
}

// Phones of the world's customers, as stored (E.164).
var WorldPhones = map[string]string{
	"cA1": "+8613811110001", "cA2": "+8613811110002", "cPool": "+8613811110003",
	"cB1": "+8613811110004", "cH1": "+8613811110005", "cH2": "+8613811110006",
}

// World builds the fixture of the authorization matrix in e's database,
// writing as the system.
func (e *Env) World(t testing.TB) *World {
	t.Helper()
	ctx := System()
	c := e.Client
	now := time.Now().UTC().Truncate(time.Second)
	w := &World{Env: e, Users: map[string]*ent.User{}, Viewers: map[string]*auth.Viewer{}, Now: now,
		ids: map[string]pulid.ID{}, labels: map[pulid.ID]string{}}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("world: %v", err)
		}
	}

	pA := e.Project(t, "pA", 1, 2, 3)
	pB := e.Project(t, "pB", 1, 1, 2)
	must(c.Project.UpdateOne(pB).SetPublished(false).Exec(ctx))
	w.add("pA", pA.ID)
	w.add("pB", pB.ID)
	for _, bd := range c.Building.Query().AllX(ctx) {
		w.add(map[pulid.ID]string{pA.ID: "bA", pB.ID: "bB"}[bd.ProjectID], bd.ID)
	}
	unitLabels := map[pulid.ID]map[string]string{
		pA.ID: {"101": "uH1", "102": "uH2", "103": "uR", "201": "uHeld", "202": "uFree", "203": "uUnpub"},
		pB.ID: {"101": "uB1", "102": "uB2"},
	}
	for _, u := range c.Unit.Query().AllX(ctx) {
		w.add(unitLabels[u.ProjectID][u.Number], u.ID)
	}
	must(c.Unit.UpdateOneID(w.ID("uUnpub")).SetPublished(false).Exec(ctx))

	// Env's own admin row (apitest.Admin).
	if u, err := c.User.Get(ctx, Admin.UserID); err == nil {
		w.add("tAdmin", u.ID)
	}

	// Staff.
	for _, s := range []struct {
		label string
		role  user.Role
		p     []*ent.Project
	}{
		{"admin", user.RoleADMIN, nil},
		{"MA", user.RoleMANAGER, []*ent.Project{pA}},
		{"MB", user.RoleMANAGER, []*ent.Project{pB}},
		{"A1", user.RoleAGENT, []*ent.Project{pA}},
		{"A2", user.RoleAGENT, []*ent.Project{pA}},
		{"B1", user.RoleAGENT, []*ent.Project{pB}},
	} {
		u, v := e.User(t, s.role, s.label, s.p...)
		w.Users[s.label], w.Viewers[s.label] = u, v
		w.add(s.label, u.ID)
	}

	// Customers.
	protected, lapsed := now.Add(30*24*time.Hour), now.Add(-24*time.Hour)
	for _, cu := range []struct {
		label, project, owner string
		until                 time.Time
		stage                 customer.Stage
	}{
		{"cA1", "pA", "A1", protected, customer.StageRESERVED},
		{"cA2", "pA", "A2", protected, customer.StageVISITED},
		{"cPool", "pA", "A2", lapsed, customer.StageVISITED},
		{"cB1", "pB", "B1", protected, customer.StageRESERVED},
		{"cH1", "pA", "A1", protected, customer.StageOWNER},
		{"cH2", "pA", "A2", protected, customer.StageOWNER},
	} {
		got, err := c.Customer.Create().SetProjectID(w.ID(cu.project)).SetName(cu.label).
			SetPhone(WorldPhones[cu.label]).SetSource(customer.SourceWALK_IN).SetStage(cu.stage).
			SetOwnerID(w.ID(cu.owner)).SetProtectedUntil(cu.until).Save(ctx)
		must(err)
		w.add(cu.label, got.ID)
	}

	// Homeowners: logins of their customer records.
	for _, h := range []struct{ label, cust string }{{"H1", "cH1"}, {"H2", "cH2"}} {
		hash, err := auth.HashPassword(Password)
		must(err)
		u, err := c.User.Create().SetName(h.label).SetLogin(h.label).SetPasswordHash(hash).
			SetRole(user.RoleOWNER).SetCustomerID(w.ID(h.cust)).Save(ctx)
		must(err)
		w.Users[h.label], w.Viewers[h.label] = u, auth.ViewerOf(u)
		w.add(h.label, u.ID)
	}

	// Visits.
	for _, v := range []struct {
		label, agent, cust, project string
		kind                        visit.Kind
		shown                       []string
	}{
		{"vA1", "A1", "cA1", "pA", visit.KindFIRST_VISIT, []string{"uR", "uFree"}},
		{"vA2", "A2", "cA2", "pA", visit.KindFIRST_VISIT, nil},
		{"vA2c", "A2", "cA1", "pA", visit.KindPHONE_CALL, nil},
		{"vPool", "A2", "cPool", "pA", visit.KindFIRST_VISIT, nil},
		{"vB", "B1", "cB1", "pB", visit.KindFIRST_VISIT, nil},
	} {
		cr := c.Visit.Create().SetAgentID(w.ID(v.agent)).SetCustomerID(w.ID(v.cust)).
			SetProjectID(w.ID(v.project)).SetKind(v.kind).SetOccurredAt(now.Add(-2 * time.Hour)).
			SetNotes("notes of " + v.label)
		for _, u := range v.shown {
			cr.AddUnitsShownIDs(w.ID(u))
		}
		got, err := cr.Save(ctx)
		must(err)
		w.add(v.label, got.ID)
	}

	// Deals, and the units' status to match.
	for _, d := range []struct {
		label, unit, cust, agent, project string
		stage                             deal.Stage
		status                            unit.Status
	}{
		{"dR", "uR", "cA1", "A1", "pA", deal.StageRESERVED, unit.StatusRESERVED},
		{"dH1", "uH1", "cH1", "A1", "pA", deal.StageCONTRACTED, unit.StatusCONTRACTED},
		{"dH2", "uH2", "cH2", "A2", "pA", deal.StageCONTRACTED, unit.StatusCONTRACTED},
		{"dB", "uB1", "cB1", "B1", "pB", deal.StageRESERVED, unit.StatusRESERVED},
	} {
		cr := c.Deal.Create().SetUnitID(w.ID(d.unit)).SetCustomerID(w.ID(d.cust)).
			SetAgentID(w.ID(d.agent)).SetProjectID(w.ID(d.project)).SetStage(d.stage).
			SetPrice(money.Yuan(3_000_000)).SetPaymentMethod(deal.PaymentMethodMORTGAGE).
			SetDeposit(money.Yuan(50_000)).SetReservedAt(now.Add(-48 * time.Hour))
		if d.stage == deal.StageCONTRACTED {
			cr.SetContractedAt(now.Add(-24 * time.Hour))
		}
		got, err := cr.Save(ctx)
		must(err)
		w.add(d.label, got.ID)
		must(c.Unit.UpdateOneID(w.ID(d.unit)).SetStatus(d.status).Exec(ctx))
	}

	// A1 holds uHeld for cA1.
	must(c.Unit.UpdateOneID(w.ID("uHeld")).SetStatus(unit.StatusHELD).
		SetHeldByID(w.ID("A1")).SetHeldForID(w.ID("cA1")).SetHoldExpiresAt(now.Add(30 * time.Minute)).Exec(ctx))

	// Complaints, their events and photos.
	for _, k := range []struct {
		label, unit, cust, owner, event string
		internal                        string
		photo                           string
	}{
		{"cpH1", "uH1", "cH1", "H1", "evH1", "evH1int", "phH1"},
		{"cpH2", "uH2", "cH2", "H2", "evH2", "", "phH2"},
	} {
		got, err := c.Complaint.Create().SetUnitID(w.ID(k.unit)).SetProjectID(pA.ID).
			SetCustomerID(w.ID(k.cust)).SetFiledByID(w.ID(k.owner)).SetCategory(complaint.CategoryLEAK).
			SetTitle("leak in " + k.unit).SetDescription("water on the floor").
			SetResponseDueAt(now.Add(24 * time.Hour)).SetResponseRiskAt(now.Add(24 * time.Hour * 4 / 5)).
			SetResolutionStartedAt(now).SetResolutionDueAt(now.Add(48 * time.Hour)).SetResolutionRiskAt(now.Add(48 * time.Hour * 4 / 5)).
			Save(ctx)
		must(err)
		w.add(k.label, got.ID)
		ev, err := c.ComplaintEvent.Create().SetComplaintID(got.ID).SetActorID(w.ID(k.owner)).
			SetKind(complaintevent.KindSUBMITTED).SetToStatus("SUBMITTED").SetNote("please come").Save(ctx)
		must(err)
		w.add(k.event, ev.ID)
		if k.internal != "" {
			ev, err := c.ComplaintEvent.Create().SetComplaintID(got.ID).SetActorID(w.ID("MA")).
				SetKind(complaintevent.KindNOTE).SetNote("staff only: the owner drilled into the pipe").
				SetInternal(true).Save(ctx)
			must(err)
			w.add(k.internal, ev.ID)
		}
		blob := PhotoBytes(k.label)
		key, n, err := e.Photos.Put(ctx, "complaints", bytes.NewReader(blob))
		must(err)
		ph, err := c.ComplaintPhoto.Create().SetComplaintID(got.ID).SetStorageKey(key).
			SetContentType("image/png").SetSizeBytes(n).
			SetSha256(fmt.Sprintf("%x", sha256.Sum256(blob))).Save(ctx)
		must(err)
		w.add(k.photo, ph.ID)
	}

	// Audit events, one per project.
	for _, a := range []struct{ label, project, object string }{{"auA", "pA", "cPool"}, {"auB", "pB", "cB1"}} {
		got, err := c.AuditEvent.Create().SetAction("customer.owner.change").SetObjectID(string(w.ID(a.object))).
			SetProjectID(w.ID(a.project)).SetDetail("reassigned").Save(ctx)
		must(err)
		w.add(a.label, got.ID)
	}

	// The portal's key (generous rate limit and query-cost budget: the
	// matrix makes many requests).
	limit, budget, restore := 100000, 1_000_000, 100_000
	key, err := account.CreateAPIKey(ctx, c, account.NewAPIKey{Name: "portal", RateLimitPerMinute: &limit,
		CostBudget: &budget, CostRestoreRate: &restore})
	must(err)
	w.PortalKey = key.Key
	w.add("kPortal", key.APIKey.ID)

	// A session of A1's, to show refresh tokens are no node of anyone's.
	rt, err := c.RefreshToken.Create().SetUserID(w.ID("A1")).SetFamily("RFworld").
		SetTokenHash("0000world").SetExpiresAt(now.Add(time.Hour)).Save(ctx)
	must(err)
	w.add("rtA1", rt.ID)

	// The audit events the hooks wrote (user.create, user.projects.change).
	for _, e := range c.AuditEvent.Query().AllX(ctx) {
		if _, ok := w.labels[e.ID]; !ok {
			w.add("au:"+e.Action+":"+w.Label(e.ObjectID), e.ID)
		}
	}
	return w
}

func (w *World) add(label string, id pulid.ID) {
	if label == "" {
		panic(fmt.Sprintf("world: no label for %s", id))
	}
	if _, dup := w.ids[label]; dup {
		panic("world: duplicate label " + label)
	}
	w.ids[label], w.labels[id] = id, label
}

// ID returns the ID of the object labelled label; it panics on an unknown
// label, a mistake in the test.
func (w *World) ID(label string) pulid.ID {
	id, ok := w.ids[label]
	if !ok {
		panic("world: no object labelled " + label)
	}
	return id
}

// Label returns the label of an ID, or "?"+id for an object not of the world.
func (w *World) Label(id string) string {
	if l, ok := w.labels[pulid.ID(id)]; ok {
		return l
	}
	return "?" + id
}

// Labels returns every label, sorted.
func (w *World) Labels() []string {
	out := make([]string, 0, len(w.ids))
	for l := range w.ids {
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}

// Add registers an object made after the world (by a test) under label.
func (w *World) Add(label string, id pulid.ID) { w.add(label, id) }

// Caller returns a caller with actor's credentials: a bearer token for a
// user, the API key for the portal, none for anonymous.
func (w *World) Caller(t testing.TB, actor string) *Caller {
	t.Helper()
	switch actor {
	case "portal":
		return w.Env.WithHeader("X-API-Key", w.PortalKey)
	case "anonymous":
		return w.Env.Anonymous()
	}
	v, ok := w.Viewers[actor]
	if !ok {
		t.Fatalf("world: no actor %q", actor)
	}
	return w.Env.As(t, v)
}
