package api_test

// Customer.attributionHistory (issue 11, part 5): every change of owner
// with its rule, from, to, who and when, and every refused registration of
// the phone while protected (who tried, when); read by the managers of the
// project and admins only.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"estatecrm/api/apitest"
	"estatecrm/ent"
	"estatecrm/ent/attributionevent"
	"estatecrm/ent/schema/pulid"
)

const historyQuery = `query($id: ID!) { node(id: $id) { ... on Customer {
  attributionHistory { id kind at protectedUntil from { id } to { id } actor { id } }
} } }`

type historyLine struct {
	ID, Kind, At   string
	ProtectedUntil *string
	From, To       *struct{ ID string }
	Actor          *struct{ ID string }
}

// renderHistory is a history as "KIND from→to by actor" lines, with labels.
func renderHistory(w *apitest.World, lines []historyLine) string {
	who := func(u *struct{ ID string }) string {
		if u == nil {
			return "-"
		}
		return w.Label(u.ID)
	}
	var out []string
	for _, l := range lines {
		out = append(out, fmt.Sprintf("%s %s→%s by %s", l.Kind, who(l.From), who(l.To), who(l.Actor)))
	}
	return strings.Join(out, "; ")
}

func historyAs(t *testing.T, w *apitest.World, caller *apitest.Caller, label string) (string, []historyLine) {
	t.Helper()
	res := caller.Query(t, historyQuery, map[string]any{"id": w.ID(label)})
	if len(res.Errors) > 0 {
		return res.Errors[0].Code(), nil
	}
	var out struct {
		Node *struct{ AttributionHistory []historyLine }
	}
	res.Decode(t, &out)
	if out.Node == nil {
		return "NOT_FOUND", nil
	}
	return renderHistory(w, out.Node.AttributionHistory), out.Node.AttributionHistory
}

func TestAttributionHistory(t *testing.T) {
	env := apitest.New(t)
	w := env.World(t)
	ctx := apitest.System()
	const phone = "13733330001"
	vars := map[string]any{"p": w.ID("pA"), "name": "陈静", "phone": phone}

	// A1 registers.
	var r registered
	w.Caller(t, "A1").Query(t, registerMutation, vars).Decode(t, &r)
	id := pulid.ID(r.RegisterCustomer.Customer.ID)
	w.Add("cX", id)
	registeredUntil := r.RegisterCustomer.Customer.Attribution.ProtectedUntil

	// A2 tries while A1 protects: CONFLICT, recorded; the same request
	// retried with its Idempotency-Key is one refusal; nothing else changes.
	before := countRows(t, env, id)
	for range 2 {
		res := postWithKey(t, env, w.Viewers["A2"], "refused-once", registerMutation, vars)
		if e := res.OnlyError(t); e.Code() != "CONFLICT" {
			t.Fatalf("A2 registering A1's customer: %s", res.Body)
		}
	}
	want1 := before
	want1.history++
	if after := countRows(t, env, id); after.customers != want1.customers || after.audit != want1.audit || after.visits != want1.visits ||
		after.deals != want1.deals || after.keys != want1.keys || after.history != want1.history || !after.updated.Equal(want1.updated) {
		t.Fatalf("after the refused registrations %+v, want %+v (one attribution event more, nothing else)", after, want1)
	}
	// Protection lapses; A2 claims from the pool.
	env.Client.Customer.UpdateOneID(id).SetProtectedUntil(time.Now().Add(-time.Minute)).ExecX(ctx)
	w.Caller(t, "A2").Query(t, `mutation($c: ID!) { claimCustomer(input: {customerId: $c}) { customer { id } } }`, map[string]any{"c": id}).
		Decode(t, &struct{}{})
	// MA reassigns to A1.
	w.Caller(t, "MA").Query(t, `mutation($c: ID!, $a: ID!) { reassignCustomer(input: {customerId: $c, agentId: $a}) { customer { id } } }`,
		map[string]any{"c": id, "a": w.ID("A1")}).Decode(t, &struct{}{})

	full := "REGISTERED -→A1 by A1; REGISTRATION_REFUSED A1→- by A2; CLAIMED A1→A2 by A2; REASSIGNED A2→A1 by MA"
	got, lines := historyAs(t, w, w.Caller(t, "MA"), "cX")
	if got != full {
		t.Fatalf("the history, as MA:\n got  %s\n want %s", got, full)
	}
	// Times and protection: the registration's is the one it gave; the
	// refusal's the one that refused it; each line later than the last.
	// (PostgreSQL keeps microseconds; the registration answered what it wrote.)
	same := func(a, b string) bool {
		ta, _ := time.Parse(time.RFC3339Nano, a)
		tb, _ := time.Parse(time.RFC3339Nano, b)
		return ta.Sub(tb).Abs() < time.Microsecond
	}
	if !same(*lines[0].ProtectedUntil, registeredUntil) || !same(*lines[1].ProtectedUntil, registeredUntil) {
		t.Errorf("protection of the registration and the refusal: %v %v, want %s", *lines[0].ProtectedUntil, *lines[1].ProtectedUntil, registeredUntil)
	}
	for i := 1; i < len(lines); i++ {
		ti, _ := time.Parse(time.RFC3339Nano, lines[i].At)
		tp, _ := time.Parse(time.RFC3339Nano, lines[i-1].At)
		if ti.Before(tp) {
			t.Errorf("line %d at %s, before line %d at %s", i, lines[i].At, i-1, lines[i-1].At)
		}
	}

	// Who reads it: the managers of the project and admins; an agent reads
	// none, the owning one included (the customer they see, the history
	// empty); anyone who may not see the customer, nothing at all.
	want := map[string]string{
		"admin": full, "MA": full, "A1": "",
		"MB": "NOT_FOUND", "A2": "NOT_FOUND", "B1": "NOT_FOUND", "H1": "NOT_FOUND", "H2": "NOT_FOUND",
		"portal": "NOT_FOUND", "anonymous": "UNAUTHENTICATED",
	}
	for _, actor := range apitest.Actors {
		if got, _ := historyAs(t, w, w.Caller(t, actor), "cX"); got != want[actor] {
			t.Errorf("the history as %s:\n got  %s\n want %s", actor, got, want[actor])
		}
	}
	// An event by its ID: the same readers.
	ev := env.Client.AttributionEvent.Query().Where(attributionevent.CustomerID(id), attributionevent.KindEQ(attributionevent.KindREGISTRATION_REFUSED)).OnlyX(ctx)
	for _, actor := range apitest.Actors {
		res := w.Caller(t, actor).Query(t, `query($id: ID!) { node(id: $id) { id ... on AttributionEvent { kind } } }`, map[string]any{"id": ev.ID})
		seen := len(res.Errors) == 0 && strings.Contains(string(res.Body), "REGISTRATION_REFUSED")
		if mayRead := actor == "admin" || actor == "MA"; seen != mayRead {
			t.Errorf("node(id:) of the refusal as %s: %s", actor, res.Body)
		}
	}
}

// rowCounts is what a request could have written.
type rowCounts struct {
	customers, audit, visits, deals, keys, history int
	updated                                        time.Time // of the customer
}

func countRows(t *testing.T, env *apitest.Env, id pulid.ID) rowCounts {
	t.Helper()
	ctx := apitest.System()
	c := env.Client
	return rowCounts{
		customers: c.Customer.Query().CountX(ctx), audit: c.AuditEvent.Query().CountX(ctx),
		visits: c.Visit.Query().CountX(ctx), deals: c.Deal.Query().CountX(ctx),
		keys: c.IdempotencyKey.Query().CountX(ctx), history: c.AttributionEvent.Query().CountX(ctx),
		updated: c.Customer.GetX(ctx, id).UpdatedAt,
	}
}

// TestRefusedRegistrationRecordFails: a refusal whose record cannot be
// written after the rollback is still the CONFLICT it was, and the server
// logs one error line about it, without the phone, the name or the ids.
func TestRefusedRegistrationRecordFails(t *testing.T) {
	env := apitest.New(t)
	w := env.World(t)
	const phone = "13733330002"
	vars := map[string]any{"p": w.ID("pA"), "name": "陈静", "phone": phone}
	var r registered
	w.Caller(t, "A1").Query(t, registerMutation, vars).Decode(t, &r)
	env.Client.AttributionEvent.Use(func(next ent.Mutator) ent.Mutator {
		return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
			return nil, errors.New("attribution history unavailable")
		})
	})
	env.Log.Reset()
	res := w.Caller(t, "A2").Query(t, registerMutation, vars)
	if e := res.OnlyError(t); e.Code() != "CONFLICT" {
		t.Fatalf("A2 registering A1's customer: %s", res.Body)
	}
	var errorLines []string
	for _, l := range strings.Split(strings.TrimSpace(env.Log.String()), "\n") {
		if strings.Contains(l, `"level":"ERROR"`) {
			errorLines = append(errorLines, l)
		}
	}
	if len(errorLines) != 1 || !strings.Contains(errorLines[0], "refused registration not recorded") ||
		!strings.Contains(errorLines[0], "attribution history unavailable") {
		t.Fatalf("error lines logged: %q", errorLines)
	}
	for _, private := range []string{phone, "陈静", r.RegisterCustomer.Customer.ID, string(w.ID("A2")), string(w.ID("A1"))} {
		if strings.Contains(errorLines[0], private) {
			t.Fatalf("the log line holds %q: %s", private, errorLines[0])
		}
	}
}
