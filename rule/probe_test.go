package rule_test

// Each probe, asked by every role: what it answers, and that it answers no
// more than the asker may learn.

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"estatecrm/apperr"
	"estatecrm/database/dbtest"
	"estatecrm/ent"
	"estatecrm/ent/activationcode"
	"estatecrm/ent/auditevent"
	"estatecrm/ent/complaint"
	"estatecrm/ent/customer"
	"estatecrm/ent/privacy"
	"estatecrm/ent/project"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/user"
	"estatecrm/rule"
)

// outcome names an error as a client would hear it.
func outcome(err error) string {
	var e *apperr.Error
	switch {
	case err == nil:
		return "ok"
	case ent.IsNotFound(err):
		return "NOT_FOUND"
	case errors.As(err, &e):
		return string(e.Code)
	case errors.Is(err, privacy.Deny):
		return "FORBIDDEN"
	}
	return "error: " + err.Error()
}

// check compares a table of answers by role with what was wanted; every
// role must have a wanted answer.
func check(t *testing.T, what string, want map[string]string, got func(role string) string) {
	t.Helper()
	for _, r := range roles {
		w, ok := want[r]
		if !ok {
			t.Fatalf("%s: no answer wanted for %s", what, r)
		}
		if g := got(r); g != w {
			t.Errorf("%s as %s:\n got  %s\n want %s", what, r, g, w)
		}
	}
}

func every(cell string, except map[string]string) map[string]string {
	m := map[string]string{}
	for _, r := range roles {
		m[r] = cell
	}
	for r, c := range except {
		m[r] = c
	}
	return m
}

func (w *world) label(id string) string {
	for l, v := range w.ids {
		if string(v) == id {
			return l
		}
	}
	return id
}

func (w *world) showProtection(p *rule.Protection) string {
	until := "never"
	if p.Until != nil {
		until = p.Until.Sub(w.now).Round(time.Hour).String()
	}
	return fmt.Sprintf("customer=%q project=%s yours=%t pool=%t until=%s", w.label(string(p.CustomerID)), w.label(string(p.ProjectID)), p.Yours, p.InPool, until)
}

// phoneProbes are the ways of asking whether a phone is taken: alone
// (PhoneTaken), and on PostgreSQL with the read of the project
// (SelectPhoneHolder and PhoneHolder, registerCustomer's one statement
// there). They answer alike.
func phoneProbes() map[string]func(ctx context.Context, client *ent.Client, p pulid.ID, phone string) (*rule.Registered, error) {
	probes := map[string]func(ctx context.Context, client *ent.Client, p pulid.ID, phone string) (*rule.Registered, error){
		"PhoneTaken": rule.PhoneTaken,
	}
	if dbtest.OnPostgres() {
		probes["PhoneHolder"] = phoneHolder
	}
	return probes
}

// phoneHolder asks as registerCustomer does on PostgreSQL.
func phoneHolder(ctx context.Context, client *ent.Client, id pulid.ID, phone string) (*rule.Registered, error) {
	p, err := client.Project.Query().Where(project.ID(id)).Modify(rule.SelectPhoneHolder(phone)).Only(ctx)
	if err != nil {
		return nil, err
	}
	return rule.PhoneHolder(ctx, p)
}

func TestPhoneTaken(t *testing.T) {
	for name, probe := range phoneProbes() {
		t.Run(name, func(t *testing.T) { testPhoneTaken(t, probe) })
	}
}

func testPhoneTaken(t *testing.T, probe func(context.Context, *ent.Client, pulid.ID, string) (*rule.Registered, error)) {
	w := newWorld(t)
	ask := func(phone, project string) func(role string) string {
		return func(role string) string {
			r, err := probe(w.as(role), w.client, w.ids[project], phone)
			switch {
			case err != nil:
				return outcome(err)
			case r == nil:
				return "free"
			}
			return w.showProtection(r.Protection)
		}
	}
	outsiders := map[string]string{"C": "NOT_FOUND", "H": "NOT_FOUND", "portal": "NOT_FOUND", "anonymous": "UNAUTHENTICATED"}
	with := func(m map[string]string, more map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			out[k] = v
		}
		for k, v := range more {
			out[k] = v
		}
		return out
	}
	// cB is B's, protected 10 days: only B hears its ID; the others until when.
	protected := `customer="" project=P yours=false pool=false until=240h0m0s`
	check(t, "cB's phone in P", with(every(protected, outsiders), map[string]string{
		"B": `customer="cB" project=P yours=true pool=false until=240h0m0s`,
	}), ask(phoneOf(1), "P"))
	// cPool is B's, lapsed: anyone of P may take it (B too, as its own).
	pool := with(every(`customer="cPool" project=P yours=false pool=true until=-1h0m0s`, outsiders), map[string]string{
		"B": `customer="cPool" project=P yours=true pool=true until=-1h0m0s`,
	})
	check(t, "the pool's phone in P", pool, ask(phoneOf(2), "P"))
	// cQ is of project Q: a phone is one customer per project, so in P the
	// phone is free, exactly as one nobody has (issue 11).
	check(t, "cQ's phone in P", every("free", outsiders), ask(phoneOf(4), "P"))
	check(t, "an unknown phone", every("free", outsiders), ask("+8613999999999", "P"))
	// C works in Q: C hears of cQ, and nobody of Q hears of P's customers.
	check(t, "cQ's phone in Q", every("NOT_FOUND", map[string]string{
		"admin": `customer="" project=Q yours=false pool=false until=240h0m0s`,
		"C":     `customer="cQ" project=Q yours=true pool=false until=240h0m0s`, "anonymous": "UNAUTHENTICATED",
	}), ask(phoneOf(4), "Q"))

	// The public pool is on the request's clock: 11 days on, cB is in it.
	r, err := probe(w.at("A", w.now.Add(11*24*time.Hour)), w.client, w.ids["P"], phoneOf(1))
	if err != nil || !r.InPool || r.CustomerID != w.ids["cB"] {
		t.Errorf("11 days on, cB's phone: %+v %v, want cB in the pool", r, err)
	}
	// A probe reads no phone: a manager asking is no audited phone read.
	if n := w.client.AuditEvent.Query().Where(auditevent.Action("customer.phone.read")).CountX(w.sys()); n != 0 {
		t.Errorf("%d phone reads audited by the probes, want 0", n)
	}
}

func TestCustomerProtection(t *testing.T) {
	w := newWorld(t)
	ask := func(label string) func(role string) string {
		return func(role string) string {
			p, err := rule.CustomerProtection(w.as(role), w.client, w.ids[label])
			if err != nil {
				return outcome(err)
			}
			return w.showProtection(p)
		}
	}
	outsiders := map[string]string{"C": "NOT_FOUND", "H": "NOT_FOUND", "portal": "NOT_FOUND", "anonymous": "UNAUTHENTICATED"}
	protected := every(`customer="" project=P yours=false pool=false until=240h0m0s`, outsiders)
	protected["A"] = `customer="cA" project=P yours=true pool=false until=240h0m0s`
	check(t, "cA", protected, ask("cA"))
	pool := every(`customer="cPool" project=P yours=false pool=true until=-1h0m0s`, outsiders)
	pool["B"] = `customer="cPool" project=P yours=true pool=true until=-1h0m0s`
	check(t, "cPool", pool, ask("cPool"))
	check(t, "an unknown customer", every("NOT_FOUND", map[string]string{"anonymous": "UNAUTHENTICATED"}), ask("nobody"))
}

func TestInPersonVisitBefore(t *testing.T) {
	w := newWorld(t)
	ask := func(label string, before time.Time) func(role string) string {
		return func(role string) string {
			ok, err := rule.InPersonVisitBefore(w.as(role), w.client, w.ids[label], before)
			if err != nil {
				return outcome(err)
			}
			return fmt.Sprint(ok)
		}
	}
	// B's visit counts for A, who sees cA but not B's visit; those who do not
	// see cA hear nothing.
	came := every("NOT_FOUND", map[string]string{"admin": "true", "M": "true", "A": "true", "anonymous": "UNAUTHENTICATED"})
	notYet := every("NOT_FOUND", map[string]string{"admin": "false", "M": "false", "A": "false", "anonymous": "UNAUTHENTICATED"})
	check(t, "cA before now", came, ask("cA", w.now))
	check(t, "cA before B's visit", notYet, ask("cA", w.t0))

	// Asked inside a read of the customer (LogVisit): the same answers, to
	// whoever the read lets see the customer.
	askInRead := func(label string, before time.Time) func(role string) string {
		return func(role string) string {
			c, err := w.client.Customer.Query().Where(customer.ID(w.ids[label])).
				Modify(rule.SelectInPersonVisitBefore(before)).Only(w.as(role))
			if err != nil {
				return outcome(err)
			}
			ok, err := rule.InPersonVisitBeforeOf(c)
			if err != nil {
				return outcome(err)
			}
			return fmt.Sprint(ok)
		}
	}
	check(t, "cA before now, in a read", came, askInRead("cA", w.now))
	check(t, "cA before B's visit, in a read", notYet, askInRead("cA", w.t0))
}

func TestHoldProbes(t *testing.T) {
	w := newWorld(t)
	count := func(at time.Time) func(role string) string {
		return func(role string) string {
			n, err := rule.LiveHolds(w.at(role, at), w.client)
			if err != nil {
				return outcome(err)
			}
			return fmt.Sprint(n)
		}
	}
	// A holds uLive (live) and uLapsed (lapsed), in a project others may not see.
	zero := every("0", map[string]string{"A": "1", "portal": "UNAUTHENTICATED", "anonymous": "UNAUTHENTICATED"})
	check(t, "live holds now", zero, count(w.now))
	zero["A"] = "0"
	check(t, "live holds half an hour on", zero, count(w.now.Add(30*time.Minute)))

	before := w.client.User.Query().AllX(w.sys())
	lock := func(role string) string { return outcome(rule.LockHolds(w.as(role), w.client)) }
	check(t, "lock holds", every("FORBIDDEN", map[string]string{"M": "ok", "A": "ok", "B": "ok", "C": "ok"}), lock)
	// Each lock touched its own row's updated_at, and nothing else.
	for _, u := range before {
		after := w.client.User.GetX(w.sys(), u.ID)
		moved := !after.UpdatedAt.Equal(u.UpdatedAt)
		staff := u.Role == user.RoleMANAGER || u.Role == user.RoleAGENT
		if moved != staff || after.Name != u.Name || after.Role != u.Role || after.Active != u.Active {
			t.Errorf("%s: updated_at moved %t, want %t; or more changed: %+v", u.Name, moved, staff, after)
		}
	}
}

func TestBought(t *testing.T) {
	w := newWorld(t)
	ask := func(u, c string) func(role string) string {
		return func(role string) string {
			ok, err := rule.Bought(w.as(role), w.client, w.ids[u], w.ids[c])
			if err != nil {
				return outcome(err)
			}
			return fmt.Sprint(ok)
		}
	}
	// cH bought uSold through B. A sees cH (in the pool) and uSold, not B's
	// deal, and hears true; H about themself; C, the portal nothing.
	check(t, "cH bought uSold", every("false", map[string]string{
		"admin": "true", "M": "true", "A": "true", "B": "true", "H": "true", "anonymous": "UNAUTHENTICATED",
	}), ask("uSold", "cH"))
	check(t, "cH bought uFree", every("false", map[string]string{"anonymous": "UNAUTHENTICATED"}), ask("uFree", "cH"))
}

func TestActivation(t *testing.T) {
	w := newWorld(t)
	exp := w.now.Add(time.Hour)
	issue := func(role string) string {
		return outcome(rule.IssueActivationCode(w.as(role), w.client, w.ids["uSold"], "hash-"+role, exp))
	}
	check(t, "issue a code for uSold", every("FORBIDDEN", map[string]string{
		"admin": "ok", "M": "ok", "anonymous": "UNAUTHENTICATED",
	}), issue)
	if got := outcome(rule.IssueActivationCode(w.as("M"), w.client, w.ids["uFree"], "hash-free", exp)); got != "NOT_FOUND" {
		t.Errorf("a code for a unit not delivered: %s, want NOT_FOUND", got)
	}
	codes := w.client.ActivationCode.Query().AllX(w.sys())
	if len(codes) != 2 || codes[0].CustomerID != w.ids["cH"] || codes[1].CustomerID != w.ids["cH"] {
		t.Fatalf("codes issued: %+v, want two for cH", codes)
	}

	password := func() (string, error) { return "a-hash", nil }
	activate := func(role, code string, at time.Time, pw func() (string, error)) (*ent.User, error) {
		return rule.ActivateHomeowner(w.at(role, at), w.client, code, "new-"+code, pw)
	}
	// H already has a login: a good code says so, and is not spent.
	if _, err := activate("anonymous", "hash-M", w.now, password); !errors.Is(err, rule.ErrHasLogin) {
		t.Fatalf("a good code of a homeowner with a login: %v, want ErrHasLogin", err)
	}
	w.client.User.DeleteOneID(w.ids["H"]).ExecX(w.sys())
	for _, c := range []struct {
		name, code string
		at         time.Time
		want       error
	}{
		{"an unknown code", "hash-nobody", w.now, rule.ErrActivationCode},
		{"an expired code", "hash-M", exp, rule.ErrActivationCode},
	} {
		if _, err := activate("anonymous", c.code, c.at, password); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	bad := errors.New("too short")
	if _, err := activate("anonymous", "hash-M", w.now, func() (string, error) { return "", bad }); !errors.Is(err, bad) {
		t.Errorf("a refused password: %v", err)
	}
	u, err := activate("anonymous", "hash-M", w.now, password)
	if err != nil || u.Role != user.RoleOWNER || *u.CustomerID != w.ids["cH"] || u.Name != "cH" || u.PasswordHash != "a-hash" {
		t.Fatalf("activation: %+v %v, want an OWNER login of cH", u, err)
	}
	if _, err := activate("anonymous", "hash-M", w.now, password); !errors.Is(err, rule.ErrActivationCode) {
		t.Errorf("a code used twice: %v, want ErrActivationCode", err)
	}
	if n := w.client.ActivationCode.Query().Where(activationcode.UsedAtNotNil()).CountX(w.sys()); n != 1 {
		t.Errorf("%d codes spent, want 1", n)
	}
}

func TestPhotoByLink(t *testing.T) {
	w := newWorld(t)
	sys := w.sys()
	cp := w.client.Complaint.Create().SetUnitID(w.ids["uSold"]).SetProjectID(w.ids["P"]).SetCustomerID(w.ids["cH"]).
		SetCategory(complaint.CategoryLEAK).SetTitle("漏水").SetDescription("滴水").
		SetResponseDueAt(w.now).SetResponseRiskAt(w.now).SetResolutionStartedAt(w.now).
		SetResolutionDueAt(w.now).SetResolutionRiskAt(w.now).SaveX(sys)
	ph := w.client.ComplaintPhoto.Create().SetComplaintID(cp.ID).SetStorageKey("complaints/k1").
		SetContentType("image/png").SetSizeBytes(1).SetSha256("00").SaveX(sys)
	// The link is the credential: whoever holds a signed one gets that photo
	// (the caller checked the signature), and only that one.
	check(t, "the linked photo", every("complaints/k1", nil), func(role string) string {
		p, err := rule.PhotoByLink(w.as(role), w.client, ph.ID)
		if err != nil {
			return outcome(err)
		}
		return p.StorageKey
	})
	check(t, "another id", every("NOT_FOUND", nil), func(role string) string {
		_, err := rule.PhotoByLink(w.as(role), w.client, cp.ID)
		return outcome(err)
	})
}
