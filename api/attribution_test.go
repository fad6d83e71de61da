package api_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"estatecrm/api/apitest"
	"estatecrm/auth"
	"estatecrm/ent/attributionevent"
	"estatecrm/ent/auditevent"
	"estatecrm/ent/consentevent"
	"estatecrm/ent/customer"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/user"
)

const registerMutation = `mutation($p: ID!, $name: String!, $phone: String!) {
  registerCustomer(input: {projectId: $p, name: $name, phone: $phone, source: WALK_IN, contactConsent: true, consentChannels: [PHONE]}) {
    customer { id name phone owner { id } attribution { rule inPublicPool since protectedUntil owner { id } } }
  }
}`

type registered struct {
	RegisterCustomer struct {
		Customer struct {
			ID, Name, Phone string
			Owner           struct{ ID string }
			Attribution     struct {
				Rule                  string
				InPublicPool          bool
				Since, ProtectedUntil string
				Owner                 struct{ ID string }
			}
		}
	}
}

func TestRegistrationAndAttribution(t *testing.T) {
	env := apitest.New(t)
	ctx := apitest.System()
	p := env.Project(t, "滨江·云玺", 1, 1, 1)
	a1u, a1 := env.User(t, user.RoleAGENT, "agent.hz1", p)
	a2u, a2 := env.User(t, user.RoleAGENT, "agent.hz2", p)
	mu, manager := env.User(t, user.RoleMANAGER, "manager.hz", p)
	vars := func(phone string) map[string]any { return map[string]any{"p": p.ID, "name": "王伟", "phone": phone} }

	// A1 registers a walk-in: theirs, protected for the project's 30 days.
	var r registered
	env.As(t, a1).Query(t, registerMutation, vars("138 0013 8000")).Decode(t, &r)
	c := r.RegisterCustomer.Customer
	if c.Phone != "+8613800138000" || c.Owner.ID != string(a1u.ID) || c.Attribution.Rule != "REGISTERED" || c.Attribution.InPublicPool {
		t.Fatalf("registered %+v", c)
	}
	until, _ := time.Parse(time.RFC3339Nano, c.Attribution.ProtectedUntil)
	if d := time.Until(until); d < 29*24*time.Hour || d > 30*24*time.Hour {
		t.Fatalf("protected until %s, want 30 days from now", c.Attribution.ProtectedUntil)
	}

	// A2 registers the same person, written differently: CONFLICT, with the
	// date and nothing else about the customer.
	res := env.As(t, a2).Query(t, registerMutation, vars("+86-138-0013-8000"))
	e := res.OnlyError(t)
	if e.Code() != "CONFLICT" || e.Field() != "input.phone" || !strings.Contains(e.Message, until.UTC().Format("2006-01-02")) {
		t.Fatalf("want CONFLICT with the protection date, got %s", res.Body)
	}
	if strings.Contains(string(res.Body), "王伟") || strings.Contains(string(res.Body), "8000") || strings.Contains(string(res.Body), string(a1u.ID)) {
		t.Fatalf("the conflict leaks the customer: %s", res.Body)
	}

	// Bad input changes nothing.
	if e := env.As(t, a2).Query(t, registerMutation, vars("12345")).OnlyError(t); e.Code() != "BAD_USER_INPUT" || e.Field() != "input.phone" {
		t.Fatalf("a malformed phone: %+v", e)
	}
	if n := env.Client.Customer.Query().CountX(ctx); n != 1 {
		t.Fatalf("%d customers after the refused registrations, want 1", n)
	}

	// Protection lapses: the customer is in the pool, and A2's registration claims them.
	env.Client.Customer.UpdateOneID(pulid.ID(c.ID)).SetProtectedUntil(time.Now().Add(-time.Minute)).ExecX(ctx)
	r = registered{}
	env.As(t, a2).Query(t, registerMutation, vars("13800138000")).Decode(t, &r)
	if got := r.RegisterCustomer.Customer; got.ID != c.ID || got.Owner.ID != string(a2u.ID) || got.Attribution.Rule != "CLAIMED" {
		t.Fatalf("a lapsed customer should be claimed, not duplicated: %+v", got)
	}

	// A manager reassigns to A1.
	var out struct {
		ReassignCustomer struct {
			Customer struct{ Attribution struct{ Rule string } }
		}
	}
	env.As(t, manager).Query(t, `mutation($c: ID!, $a: ID!) { reassignCustomer(input: {customerId: $c, agentId: $a}) { customer { attribution { rule } } } }`,
		map[string]any{"c": c.ID, "a": a1u.ID}).Decode(t, &out)
	if out.ReassignCustomer.Customer.Attribution.Rule != "REASSIGNED" {
		t.Fatalf("reassigned %+v", out)
	}

	// Every change of owner is audited, with who did it and what changed.
	events := env.Client.AuditEvent.Query().Where(auditevent.ObjectID(c.ID), auditevent.Action("customer.owner.change")).
		Order(auditevent.ByCreatedAt()).AllX(ctx)
	if len(events) != 2 || *events[0].ActorID != a2u.ID || events[0].Detail != string(a1u.ID)+" → "+string(a2u.ID) ||
		*events[1].ActorID != mu.ID || events[1].Detail != string(a2u.ID)+" → "+string(a1u.ID) || *events[1].ProjectID != p.ID {
		t.Fatalf("owner changes audited as %+v", events)
	}
}

// Of many agents claiming one pool customer at once, exactly one wins; the
// rest get CONFLICT.
func TestConcurrentClaimsHaveOneWinner(t *testing.T) {
	env := apitest.New(t)
	ctx := apitest.System()
	p := env.Project(t, "滨江·云玺", 1, 1, 1)
	c := env.Client.Customer.Create().SetProjectID(p.ID).SetName("李娜").SetPhone("13900139000").
		SetSource(customer.SourceREFERRAL).SetProtectedUntil(time.Now().Add(-time.Hour)).SaveX(ctx)
	const agents = 20
	viewers := make([]*auth.Viewer, agents)
	for i := range viewers {
		_, viewers[i] = env.User(t, user.RoleAGENT, fmt.Sprintf("agent.%02d", i), p)
	}
	var wg sync.WaitGroup
	codes := make([]string, agents)
	for i, v := range viewers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := env.As(t, v).Query(t, `mutation($c: ID!) { claimCustomer(input: {customerId: $c}) { customer { id } } }`, map[string]any{"c": c.ID})
			if len(res.Errors) == 0 {
				codes[i] = "OK"
			} else {
				codes[i] = res.Errors[0].Code()
			}
		}()
	}
	wg.Wait()
	count := map[string]int{}
	for _, c := range codes {
		count[c]++
	}
	if count["OK"] != 1 || count["CONFLICT"] != agents-1 {
		t.Fatalf("claims: %v", count)
	}
	if n := env.Client.AuditEvent.Query().Where(auditevent.ObjectID(string(c.ID))).CountX(ctx); n != 1 {
		t.Fatalf("%d owner changes audited, want 1", n)
	}
}

// Of many agents registering one new phone at once, exactly one registers
// it, with one line of history; the rest get CONFLICT (on PostgreSQL the
// customer's INSERT and its history's go as one statement, whose unique
// violation must answer CONFLICT too, not INTERNAL).
func TestConcurrentRegistrationsOfOnePhoneHaveOneWinner(t *testing.T) {
	// With consent a registration writes in a transaction; without, on
	// PostgreSQL, in one statement outside any (graph/tx.go).
	for _, m := range []struct{ name, query string }{{"with consent", registerMutation}, {"without consent", registerWithoutConsent}} {
		t.Run(m.name, func(t *testing.T) { concurrentRegistrations(t, m.query) })
	}
}

// registerWithoutConsent is registerMutation without the consent.
var registerWithoutConsent = strings.Replace(registerMutation, "contactConsent: true, consentChannels: [PHONE]", "", 1)

func concurrentRegistrations(t *testing.T, mutation string) {
	env := apitest.New(t)
	ctx := apitest.System()
	p := env.Project(t, "滨江·云玺", 1, 1, 1)
	const agents = 12
	viewers := make([]*auth.Viewer, agents)
	for i := range viewers {
		_, viewers[i] = env.User(t, user.RoleAGENT, fmt.Sprintf("agent.%02d", i), p)
	}
	var wg sync.WaitGroup
	codes := make([]string, agents)
	winner := make([]string, agents)
	for i, v := range viewers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := env.As(t, v).Query(t, mutation, map[string]any{"p": p.ID, "name": "张三", "phone": "13900139000"})
			if len(res.Errors) > 0 {
				codes[i] = res.Errors[0].Code()
				return
			}
			var out registered
			mustUnmarshal(t, res.Data, &out)
			codes[i], winner[i] = "OK", out.RegisterCustomer.Customer.Owner.ID
		}()
	}
	wg.Wait()
	count := map[string]int{}
	var owner string
	for i, c := range codes {
		count[c]++
		if c == "OK" {
			owner = winner[i]
		}
	}
	if count["OK"] != 1 || count["CONFLICT"] != agents-1 {
		t.Fatalf("registrations: %v", count)
	}
	cs := env.Client.Customer.Query().Where(customer.ProjectID(p.ID)).AllX(ctx)
	if len(cs) != 1 || cs[0].OwnerID == nil || string(*cs[0].OwnerID) != owner {
		t.Fatalf("customers of the project: %v; want one, owned by the winner %s", cs, owner)
	}
	// (The losers who saw the phone taken add REGISTRATION_REFUSED lines.)
	history := env.Client.AttributionEvent.Query().
		Where(attributionevent.CustomerID(cs[0].ID), attributionevent.KindEQ(attributionevent.KindREGISTERED)).AllX(ctx)
	if len(history) != 1 || history[0].ToID == nil || string(*history[0].ToID) != owner {
		t.Fatalf("REGISTERED lines of the customer's history: %v; want one, to the winner", history)
	}
}

// registerCustomer alone runs without the request's transaction on
// PostgreSQL when it writes one statement (a new customer and their first
// line of history); a claim and a registration with consent write more and
// run in a transaction of their own, which commits them together.
func TestRegistrationWritesMoreThanOneStatementInATransaction(t *testing.T) {
	env := apitest.New(t)
	p := env.Project(t, "滨江·云玺", 1, 1, 1)
	ctx := apitest.System()
	_, agent := env.User(t, user.RoleAGENT, "agent.hz1", p)
	other := env.Client.User.Create().SetName("离职顾问").SetLogin("agent.gone").SetRole(user.RoleAGENT).
		AddProjectIDs(p.ID).SaveX(ctx)
	env.Client.Customer.Create().SetProjectID(p.ID).SetName("公客").SetPhone("13900000003").
		SetSource(customer.SourceWALK_IN).SetOwnerID(other.ID).SetProtectedUntil(time.Now().Add(-time.Hour)).SaveX(ctx) // in the public pool
	alone := int64(1)
	if env.DB.Dialect == dialect.Postgres {
		alone = 0
	}
	const plain = `mutation($p: ID!, $ph: String!) { registerCustomer(input: {projectId: $p, name: "到访客户", phone: $ph, source: WALK_IN}) { customer { id } } }`
	for _, c := range []struct {
		name, query, phone string
		txs                int64
		kind               attributionevent.Kind
		consents           int
	}{
		{"a new customer", plain, "13900000001", alone, attributionevent.KindREGISTERED, 0},
		{"a new customer with consent", registerMutation, "13900000002", 1, attributionevent.KindREGISTERED, 1},
		{"a customer of the public pool", plain, "13900000003", 1, attributionevent.KindCLAIMED, 0},
	} {
		env.Counter.Reset()
		res := env.As(t, agent).Query(t, c.query, map[string]any{"p": p.ID, "ph": c.phone, "phone": c.phone, "name": "到访客户"})
		if len(res.Errors) > 0 {
			t.Fatalf("%s: %s", c.name, res.Body)
		}
		if got := env.Counter.Txs(); got != c.txs {
			t.Errorf("%s began %d transactions, want %d", c.name, got, c.txs)
		}
		cu := env.Client.Customer.Query().Where(customer.Phone("+86" + c.phone)).OnlyX(ctx)
		if cu.OwnerID == nil || *cu.OwnerID != agent.UserID {
			t.Errorf("%s: owner %v, want the agent", c.name, cu.OwnerID)
		}
		if n := env.Client.AttributionEvent.Query().Where(attributionevent.CustomerID(cu.ID), attributionevent.KindEQ(c.kind)).CountX(ctx); n != 1 {
			t.Errorf("%s: %d %s lines in the attribution history, want 1", c.name, n, c.kind)
		}
		if n := env.Client.ConsentEvent.Query().Where(consentevent.CustomerID(cu.ID)).CountX(ctx); n != c.consents {
			t.Errorf("%s: %d consent events, want %d", c.name, n, c.consents)
		}
	}
}
