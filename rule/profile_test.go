package rule_test

// The rules of customer profiles (issue 11), asked by every role on the ent
// client: who changes a profile, who records and reads consent, and what
// the referrer probe tells.

import (
	"errors"
	"fmt"
	"testing"

	"estatecrm/ent/consentevent"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/schema/schematype"
	"estatecrm/rule"
)

// A profile is changed by the owning agent, the project's managers and
// admins; another agent of the project does not find a pool customer for
// it (although it may claim them), and a contact or a claim is not
// narrowed by the rule.
func TestLimitProfileWrites(t *testing.T) {
	w := newWorld(t)
	notes := func(role string) string {
		return outcome(w.client.Customer.UpdateOneID(w.ids["cPool"]).SetNotes("by " + role).Exec(w.as(role)))
	}
	check(t, "notes of B's pool customer", every("FORBIDDEN", map[string]string{
		"admin": "ok", "M": "ok", "B": "ok", "A": "NOT_FOUND", "C": "NOT_FOUND", "anonymous": "UNAUTHENTICATED",
	}), notes)
	cleared := func(role string) string {
		return outcome(w.client.Customer.UpdateOneID(w.ids["cPool"]).ClearReferredBy().Exec(w.as(role)))
	}
	check(t, "clearing the referrer edge of B's pool customer", every("FORBIDDEN", map[string]string{
		"admin": "ok", "M": "ok", "B": "ok", "A": "NOT_FOUND", "C": "NOT_FOUND", "anonymous": "UNAUTHENTICATED",
	}), cleared)
	// Not a profile write: A still updates a pool customer as before.
	if err := w.client.Customer.UpdateOneID(w.ids["cPool"]).SetLastContactAt(w.now).Exec(w.as("A")); err != nil {
		t.Fatalf("a contact with a pool customer was refused: %v", err)
	}
}

// Consent is recorded by the managers of the customer's project and its
// owning agent, under their own name; it is read by whoever reads the
// customer in full: not by an agent looking at the pool.
func TestConsentEventRules(t *testing.T) {
	w := newWorld(t)
	record := func(cust, role, by string) error {
		c := w.client.ConsentEvent.Create().SetCustomerID(w.ids[cust]).SetKind(consentevent.KindGIVEN).
			SetConsent(true).SetChannels([]schematype.ContactChannel{"SMS"})
		if id, ok := w.ids[by]; ok {
			c.SetRecordedByID(id)
		}
		return c.Exec(w.as(role))
	}
	check(t, "consent of A's customer", every("FORBIDDEN", map[string]string{
		"admin": "ok", "M": "ok", "A": "ok", "anonymous": "UNAUTHENTICATED",
	}), func(role string) string { return outcome(record("cA", role, role)) })
	check(t, "consent of B's pool customer", every("FORBIDDEN", map[string]string{
		"admin": "ok", "M": "ok", "B": "ok", "anonymous": "UNAUTHENTICATED",
	}), func(role string) string { return outcome(record("cPool", role, role)) })
	check(t, "consent of A's customer under another's name", every("FORBIDDEN", map[string]string{
		"admin": "ok", "anonymous": "UNAUTHENTICATED",
	}), func(role string) string { return outcome(record("cA", role, "admin")) })
	if err := record("cH", "admin", "admin"); err != nil {
		t.Fatal(err)
	}
	// The history is a record: only an admin changes a line of it.
	ev := w.client.ConsentEvent.Query().Where(consentevent.CustomerID(w.ids["cA"])).FirstX(w.sys())
	check(t, "deleting a line of A's customer's history", every("FORBIDDEN", map[string]string{
		"admin": "ok", "anonymous": "UNAUTHENTICATED",
	}), func(role string) string {
		if role == "admin" {
			return "ok" // checked last, below
		}
		return outcome(w.client.ConsentEvent.DeleteOneID(ev.ID).Exec(w.as(role)))
	})
	defer func() {
		if err := w.client.ConsentEvent.DeleteOneID(ev.ID).Exec(w.as("admin")); err != nil {
			t.Errorf("an admin deleting a line: %v", err)
		}
	}()

	seen := func(role string) string {
		var out string
		for _, cust := range []string{"cA", "cPool", "cH", "cQ"} {
			n, err := w.client.ConsentEvent.Query().Where(consentevent.CustomerID(w.ids[cust])).Count(w.as(role))
			if err != nil {
				return outcome(err)
			}
			out += fmt.Sprintf("%s=%d ", cust, n)
		}
		return out
	}
	// cA: 4 lines (admin twice, M, A), cPool: 3 (admin, M, B), cH: 1 (admin).
	check(t, "consent lines read", every("cA=0 cPool=0 cH=0 cQ=0 ", map[string]string{
		"admin": "cA=4 cPool=3 cH=1 cQ=0 ", "M": "cA=4 cPool=3 cH=1 cQ=0 ",
		"A": "cA=4 cPool=0 cH=0 cQ=0 ", "B": "cA=0 cPool=3 cH=1 cQ=0 ",
		"H": "cA=0 cPool=0 cH=1 cQ=0 ", "anonymous": "UNAUTHENTICATED",
	}), seen)
}

// The referrer probe tells staff, and only staff, whether an ID is a
// customer (of any project) or a homeowner's login, and nothing more.
func TestReferrerProbe(t *testing.T) {
	w := newWorld(t)
	ask := func(label string) func(role string) string {
		return func(role string) string {
			id, err := rule.Referrer(w.as(role), w.client, w.ids[label])
			switch {
			case errors.Is(err, rule.ErrNoReferrer):
				return "none"
			case err != nil:
				return outcome(err)
			}
			for l, v := range w.ids {
				if v == id {
					return l
				}
			}
			return string(id)
		}
	}
	staff := func(answer string) map[string]string {
		return every(answer, map[string]string{"H": "FORBIDDEN", "portal": "FORBIDDEN", "anonymous": "UNAUTHENTICATED"})
	}
	check(t, "a customer of another project", staff("cQ"), ask("cQ"))
	check(t, "another agent's customer", staff("cB"), ask("cB"))
	check(t, "a homeowner's login", staff("cH"), ask("H"))
	check(t, "a manager's login", staff("none"), ask("M"))
	check(t, "a unit", staff("none"), ask("uFree"))
	if _, err := rule.Referrer(w.as("A"), w.client, pulid.ID("CU01ARZ3NDEKTSV4RRFFQ69G5FAV")); !errors.Is(err, rule.ErrNoReferrer) {
		t.Fatalf("a customer ID that does not exist: %v", err)
	}
}
