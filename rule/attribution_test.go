package rule_test

// The attribution history and Customer.sameAs, per role, on the ent client
// (issue 11, parts 3 and 5).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/attributionevent"
	"estatecrm/ent/customer"
	"estatecrm/ent/schema/pulid"
	"estatecrm/rule"
)

// TestAttributionHistoryReaders: the managers of the customer's project and
// admins read a history; agents (the owning one too), homeowners and
// portals read none of it.
func TestAttributionHistoryReaders(t *testing.T) {
	w := newWorld(t)
	for _, c := range []struct{ customer, project, owner string }{{"cB", "P", "B"}, {"cQ", "Q", "C"}} {
		to := w.ids[c.owner]
		w.client.AttributionEvent.Create().SetCustomerID(w.ids[c.customer]).SetProjectID(w.ids[c.project]).
			SetKind(attributionevent.KindREGISTERED).SetToID(to).SetActorID(to).SetAt(w.t0).ExecX(w.sys())
	}
	read := func(role string) string {
		events, err := w.client.AttributionEvent.Query().All(w.as(role))
		if err != nil {
			return outcome(err)
		}
		var out []string
		for _, e := range events {
			out = append(out, w.label(string(e.CustomerID)))
		}
		return strings.Join(out, ",")
	}
	check(t, "the attribution events", every("", map[string]string{
		"admin": "cB,cQ", "M": "cB", "anonymous": "UNAUTHENTICATED",
	}), read)
	// Nobody writes the history through the client: only the named writers.
	write := func(role string) string {
		err := w.client.AttributionEvent.Create().SetCustomerID(w.ids["cB"]).SetProjectID(w.ids["P"]).
			SetKind(attributionevent.KindCLAIMED).SetAt(w.now).Exec(w.as(role))
		return outcome(err)
	}
	check(t, "writing an attribution event", every("FORBIDDEN", map[string]string{
		"admin": "ok", "anonymous": "UNAUTHENTICATED",
	}), write)
}

// TestRecordOwnerChange: the workflows record a change of owner as the
// salesperson who made it; nobody outside the project can.
func TestRecordOwnerChange(t *testing.T) {
	w := newWorld(t)
	a := w.ids["A"]
	rec := func(role string) string {
		err := rule.RecordOwnerChange(w.as(role), w.client, rule.OwnerChange{CustomerID: w.ids["cPool"], ProjectID: w.ids["P"],
			Kind: attributionevent.KindCLAIMED, From: ptr(w.ids["B"]), To: &a, ProtectedUntil: w.now.Add(time.Hour), At: w.now})
		return outcome(err)
	}
	check(t, "recording a claim", every("NOT_FOUND", map[string]string{
		"admin": "ok", "M": "ok", "A": "ok", "B": "ok", "anonymous": "UNAUTHENTICATED",
	}), rec)
	events := w.client.AttributionEvent.Query().Where(attributionevent.ActorID(w.ids["M"])).AllX(w.sys())
	if len(events) != 1 || *events[0].FromID != w.ids["B"] || *events[0].ToID != a || events[0].ProjectID != w.ids["P"] {
		t.Fatalf("M's record: %+v", events)
	}
}

func ptr[T any](v T) *T { return &v }

// TestRecordRefusedRegistration: a refusal is recorded with who tried and
// who protected the customer, outside the refused transaction (which rolls
// back everything else), once per Idempotency-Key.
func TestRecordRefusedRegistration(t *testing.T) {
	w := newWorld(t)
	refusals := func() []*ent.AttributionEvent {
		return w.client.AttributionEvent.Query().Where(attributionevent.KindEQ(attributionevent.KindREGISTRATION_REFUSED)).AllX(w.sys())
	}
	// A, of P, registers cB's phone: protected by B.
	taken, err := rule.PhoneTaken(w.as("A"), w.client, w.ids["P"], phoneOf(1))
	if err != nil || taken == nil || taken.Yours || taken.InPool || taken.CustomerID != "" {
		t.Fatalf("cB's phone as A: %+v %v", taken, err)
	}
	// In a transaction that then fails: the record outlives the rollback.
	tx, err := w.client.Tx(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx := ent.NewTxContext(w.as("A"), tx)
	tx.Customer.UpdateOneID(w.ids["cA"]).SetNotes("written by the refused request").ExecX(auth.SystemContext(ctx))
	if err := rule.RecordRefusedRegistration(ctx, rule.Records{Client: w.client}, taken, "key-1", w.now); err != nil {
		t.Fatal(err)
	}
	if n := len(refusals()); n != 0 {
		t.Fatalf("%d refusals recorded before the transaction ended, want 0", n)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	got := refusals()
	if len(got) != 1 || got[0].CustomerID != w.ids["cB"] || *got[0].ActorID != w.ids["A"] || *got[0].FromID != w.ids["B"] ||
		got[0].ToID != nil || !got[0].At.Equal(w.now) || got[0].ProtectedUntil == nil {
		t.Fatalf("refusals after the rollback: %+v", got)
	}
	if c := w.client.Customer.GetX(w.sys(), w.ids["cA"]); c.Notes != "" {
		t.Fatalf("the refused transaction's write survived: %q", c.Notes)
	}
	// The retry with the same key is the same attempt; another key, or none, another.
	for _, key := range []string{"key-1", "key-1", "key-2", "", ""} {
		if err := rule.RecordRefusedRegistration(w.as("A"), rule.Records{Client: w.client}, taken, key, w.now); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(refusals()); n != 4 {
		t.Fatalf("%d refusals after retries, want 4 (key-1 once, key-2, and two without a key)", n)
	}
	// Nothing is recorded of a registration that was not refused.
	mine, _ := rule.PhoneTaken(w.as("B"), w.client, w.ids["P"], phoneOf(1))
	pool, _ := rule.PhoneTaken(w.as("A"), w.client, w.ids["P"], phoneOf(2))
	for _, r := range []*rule.Registered{nil, mine, pool} {
		if err := rule.RecordRefusedRegistration(w.as("A"), rule.Records{Client: w.client}, r, "", w.now); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(refusals()); n != 4 {
		t.Fatalf("%d refusals after registrations that were not refused, want 4", n)
	}
}

// TestSameAs: managers see the other records of a person in the projects
// they manage, of a customer of theirs, admins in all; nobody else sees
// any, not even an agent who owns the person in both projects.
func TestSameAs(t *testing.T) {
	w := newWorld(t)
	// cB (P, B's) is also a customer of Q, C's: cQB.
	cQB := w.client.Customer.Create().SetProjectID(w.ids["Q"]).SetName("cQB").SetPhone(phoneOf(1)).
		SetSource(customer.SourceWALK_IN).SetOwnerID(w.ids["C"]).SetProtectedUntil(w.now.Add(time.Hour)).SaveX(w.sys())
	w.ids["cQB"] = cQB.ID
	w.viewers["MPQ"] = &auth.Viewer{UserID: w.ids["M"], Role: auth.RoleManager, ProjectIDs: []pulid.ID{w.ids["P"], w.ids["Q"]}}
	w.viewers["CPQ"] = &auth.Viewer{UserID: w.ids["C"], Role: auth.RoleAgent, ProjectIDs: []pulid.ID{w.ids["P"], w.ids["Q"]}}
	same := func(of string) func(role string) string {
		return func(role string) string {
			got, err := rule.SameAs(w.as(role), w.client.Customer.Query(), w.ids[of]).All(w.as(role))
			if err != nil {
				return outcome(err)
			}
			var out []string
			for _, c := range got {
				out = append(out, w.label(string(c.ID)))
			}
			return fmt.Sprint(out)
		}
	}
	// A manager of P and Q sees across them; an agent of both does not.
	for of, want := range map[string]string{"cB": "[cQB]", "cQB": "[cB]"} {
		if got := same(of)("MPQ"); got != want {
			t.Errorf("the same person as %s, to a manager of P and Q: %s, want %s", of, got, want)
		}
		if got := same(of)("CPQ"); got != "[]" {
			t.Errorf("the same person as %s, to an agent of P and Q who owns cQB: %s, want []", of, got)
		}
	}
	check(t, "the same person as cB", every("[]", map[string]string{
		"admin": "[cQB]", "anonymous": "UNAUTHENTICATED",
	}), same("cB"))
	check(t, "the same person as cQB", every("[]", map[string]string{
		"admin": "[cB]", "anonymous": "UNAUTHENTICATED",
	}), same("cQB"))
	check(t, "the same person as cA (nobody else)", every("[]", map[string]string{"anonymous": "UNAUTHENTICATED"}), same("cA"))
}

// TestSameAsEach: the answer for a page of customers at once is, for each
// of them and every role, the answer of SameAs for that customer alone.
func TestSameAsEach(t *testing.T) {
	w := newWorld(t)
	for _, c := range []struct{ label, project, phone string }{{"cQB", "Q", phoneOf(1)}, {"cQA", "Q", phoneOf(0)}, {"cQ9", "Q", "+8613900000999"}} {
		w.ids[c.label] = w.client.Customer.Create().SetProjectID(w.ids[c.project]).SetName(c.label).SetPhone(c.phone).
			SetSource(customer.SourceWALK_IN).SaveX(w.sys()).ID
	}
	w.viewers["MPQ"] = &auth.Viewer{UserID: w.ids["M"], Role: auth.RoleManager, ProjectIDs: []pulid.ID{w.ids["P"], w.ids["Q"]}}
	w.viewers["MQ"] = &auth.Viewer{UserID: w.ids["M"], Role: auth.RoleManager, ProjectIDs: []pulid.ID{w.ids["Q"]}}
	page := []pulid.ID{w.ids["cA"], w.ids["cB"], w.ids["cQB"], w.ids["cQA"], w.ids["cQ9"]}
	labels := func(cs []*ent.Customer) string {
		var out []string
		for _, c := range cs {
			out = append(out, w.label(string(c.ID)))
		}
		return fmt.Sprint(out)
	}
	for _, role := range append([]string{"MPQ", "MQ"}, roles...) {
		ctx := w.as(role)
		each, err := rule.SameAsEach(ctx, w.client.Customer.Query(), page)
		for _, id := range page {
			one, oneErr := rule.SameAs(ctx, w.client.Customer.Query(), id).All(ctx)
			if (err == nil) != (oneErr == nil) {
				t.Fatalf("as %s, of %s: one at a time %v, all at once %v", role, w.label(string(id)), oneErr, err)
			}
			if got, want := labels(each[id]), labels(one); got != want {
				t.Errorf("as %s, the same person as %s: all at once %s, one at a time %s", role, w.label(string(id)), got, want)
			}
		}
	}
	if got := labels(must(rule.SameAsEach(w.as("admin"), w.client.Customer.Query(), page))[w.ids["cB"]]); got != "[cQB]" {
		t.Fatalf("the same person as cB to an admin: %s, want [cQB]", got)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestRefusedRegistrationNotRecorded: when the record of a refusal cannot
// be written after the rollback, the rollback still succeeds and one line
// at error level says so, naming neither the customer nor the phone; so
// does a record written at once (no transaction): the refusal stands.
func TestRefusedRegistrationNotRecorded(t *testing.T) {
	w := newWorld(t)
	taken, err := rule.PhoneTaken(w.as("A"), w.client, w.ids["P"], phoneOf(1))
	if err != nil || taken == nil {
		t.Fatalf("cB's phone as A: %+v %v", taken, err)
	}
	broken := errors.New("the database is gone")
	w.client.AttributionEvent.Use(func(next ent.Mutator) ent.Mutator {
		return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
			return nil, broken
		})
	})
	var log bytes.Buffer
	records := rule.Records{Client: w.client, Logger: slog.New(slog.NewJSONHandler(&log, nil))}
	tx, err := w.client.Tx(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := rule.RecordRefusedRegistration(ent.NewTxContext(w.as("A"), tx), records, taken, "", w.now); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatalf("the rollback failed with the record: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	var line struct{ Level, Msg, Err string }
	if len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &line) != nil || line.Level != "ERROR" ||
		!strings.Contains(line.Msg, "refused registration not recorded") || line.Err != broken.Error() {
		t.Fatalf("logged %q, want one error line", log.String())
	}
	cB := w.client.Customer.GetX(w.sys(), w.ids["cB"])
	for _, private := range []string{cB.Phone, cB.Name, string(cB.ID), string(w.ids["A"])} {
		if strings.Contains(log.String(), private) {
			t.Fatalf("the log line holds %q: %s", private, log.String())
		}
	}
	if n := w.client.AttributionEvent.Query().CountX(w.sys()); n != 0 {
		t.Fatalf("%d attribution events, want none", n)
	}
	// Without a transaction (registerCustomer alone on PostgreSQL) the
	// refusal stands likewise, and the failure is logged.
	log.Reset()
	if err := rule.RecordRefusedRegistration(w.as("A"), records, taken, "", w.now); err != nil {
		t.Fatalf("recording without a transaction: %v, want the refusal to stand", err)
	}
	if n := strings.Count(strings.TrimSpace(log.String()), "\n") + 1; log.Len() == 0 || n != 1 ||
		!strings.Contains(log.String(), "refused registration not recorded") {
		t.Fatalf("logged %q, want one error line", log.String())
	}
}
