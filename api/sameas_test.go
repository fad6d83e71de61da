package api_test

// One person, several projects (issue 11, part 3): a phone is one customer
// per project; registering a phone another project knows creates this
// project's customer and tells nothing of the other; Customer.sameAs shows
// a manager the person's records in the projects they manage, an admin all,
// nobody else any.

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"estatecrm/api/apitest"
	"estatecrm/ent/customer"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/user"
)

const sameAsQuery = `query($id: ID!) { node(id: $id) { ... on Customer { sameAs { id projectID } } } }`

// sameAsOf renders what actor reads of the sameAs of the customer label:
// the labels of the records, or the error code.
func sameAsOf(t *testing.T, w *apitest.World, caller *apitest.Caller, label string) string {
	t.Helper()
	res := caller.Query(t, sameAsQuery, map[string]any{"id": w.ID(label)})
	if len(res.Errors) > 0 {
		return res.Errors[0].Code()
	}
	var out struct {
		Node *struct {
			SameAs []struct{ ID, ProjectID string }
		}
	}
	res.Decode(t, &out)
	if out.Node == nil {
		return "null"
	}
	var labels []string
	for _, c := range out.Node.SameAs {
		labels = append(labels, w.Label(c.ID)+"@"+w.Label(c.ProjectID))
	}
	sort.Strings(labels)
	return "[" + strings.Join(labels, " ") + "]"
}

func TestOnePersonInTwoProjects(t *testing.T) {
	env := apitest.New(t)
	w := env.World(t)
	ctx := apitest.System()
	const register = `mutation($p: ID!, $phone: String!) {
	  registerCustomer(input: {projectId: $p, name: "周婷", phone: $phone, source: WALK_IN}) {
	    customer { id name phone projectID owner { id } attribution { rule inPublicPool protectedUntil } sameAs { id } attributionHistory { id } }
	  }
	}`
	type answer struct {
		RegisterCustomer struct {
			Customer struct {
				ID, Name, Phone, ProjectID string
				Owner                      struct{ ID string }
				Attribution                struct {
					Rule           string
					InPublicPool   bool
					ProtectedUntil string
				}
				SameAs             []struct{ ID string }
				AttributionHistory []struct{ ID string }
			}
		}
	}
	// A1 (project A) registers the phone of cB1, a protected customer of
	// project B (B1's), and a phone nobody has: both alike, a new customer
	// of A, A1's, protected; nothing of cB1 in the answer.
	var known, fresh answer
	resKnown := w.Caller(t, "A1").Query(t, register, map[string]any{"p": w.ID("pA"), "phone": apitest.WorldPhones["cB1"]})
	resKnown.Decode(t, &known)
	w.Caller(t, "A1").Query(t, register, map[string]any{"p": w.ID("pA"), "phone": "13922220001"}).Decode(t, &fresh)
	for _, a := range []answer{known, fresh} {
		c := a.RegisterCustomer.Customer
		if c.ProjectID != string(w.ID("pA")) || c.Owner.ID != string(w.ID("A1")) || c.Attribution.Rule != "REGISTERED" ||
			c.Attribution.InPublicPool || c.Name != "周婷" || len(c.SameAs) != 0 || len(c.AttributionHistory) != 0 {
			t.Fatalf("registered %+v", c)
		}
	}
	cA := known.RegisterCustomer.Customer.ID
	if cA == string(w.ID("cB1")) {
		t.Fatal("the registration in A answered B's customer")
	}
	w.Add("cA-of-cB1", pulid.ID(cA))
	b1 := env.Client.Customer.GetX(ctx, w.ID("cB1"))
	for _, leak := range []string{string(w.ID("cB1")), string(w.ID("pB")), string(w.ID("B1")), b1.Name} {
		if strings.Contains(string(resKnown.Body), leak) {
			t.Fatalf("the answer holds %q of project B: %s", leak, resKnown.Body)
		}
	}
	// Both answers have the same shape: the same fields, nothing extra.
	if shape(t, resKnown.Body) != shape(t, mustBody(t, w, register, "13922220002")) {
		t.Fatalf("registering a phone project B knows answers differently from a new one: %s", resKnown.Body)
	}
	// B's customer is as it was.
	if after := env.Client.Customer.GetX(ctx, w.ID("cB1")); *after.OwnerID != w.ID("B1") || !after.ProtectedUntil.Equal(*b1.ProtectedUntil) ||
		!after.UpdatedAt.Equal(b1.UpdatedAt) {
		t.Fatalf("B's customer changed: %+v", after)
	}
	if n := env.Client.Customer.Query().Where(customer.Phone(apitest.WorldPhones["cB1"])).CountX(ctx); n != 2 {
		t.Fatalf("%d customers with the phone, want 2 (one per project)", n)
	}
	// In project A the existing rules stand: A2 registering it now is a
	// CONFLICT saying until when (A1's protection), nothing of project B.
	res := w.Caller(t, "A2").Query(t, register, map[string]any{"p": w.ID("pA"), "phone": apitest.WorldPhones["cB1"]})
	if e := res.OnlyError(t); e.Code() != "CONFLICT" || e.Field() != "input.phone" || strings.Contains(e.Message, "project") {
		t.Fatalf("A2 registering A1's customer: %s", res.Body)
	}

	// cH1 (homeowner H1, project A) is also a customer of project B.
	h1 := env.Client.Customer.GetX(ctx, w.ID("cH1"))
	cHB := env.Client.Customer.Create().SetProjectID(w.ID("pB")).SetName("cH1 in B").SetPhone(h1.Phone).
		SetSource(customer.SourceREFERRAL).SetOwnerID(w.ID("B1")).SetProtectedUntil(time.Now().Add(time.Hour)).SaveX(ctx)
	w.Add("cHB", cHB.ID)

	// A manager of both projects.
	_, mAB := env.User(t, user.RoleMANAGER, "manager.ab", env.Client.Project.GetX(ctx, w.ID("pA")), env.Client.Project.GetX(ctx, w.ID("pB")))
	callers := map[string]*apitest.Caller{"MAB": env.As(t, mAB)}
	for _, a := range apitest.Actors {
		callers[a] = w.Caller(t, a)
	}
	hidden := "NOT_FOUND"
	for _, c := range []struct {
		customer string
		want     map[string]string
	}{
		// A's record of the person of cB1: the admin sees B's record, the
		// manager of both too; the manager of A alone, and the owning
		// agent, see none; to anyone else A's record does not exist.
		{"cA-of-cB1", map[string]string{"admin": "[cB1@pB]", "MAB": "[cB1@pB]", "MA": "[]", "A1": "[]",
			"MB": hidden, "A2": hidden, "B1": hidden, "H1": hidden, "H2": hidden, "portal": hidden, "anonymous": "UNAUTHENTICATED"}},
		// B's record: the manager of B alone sees none, nor does B1.
		{"cB1", map[string]string{"admin": "[cA-of-cB1@pA]", "MAB": "[cA-of-cB1@pA]", "MB": "[]", "B1": "[]",
			"MA": hidden, "A1": hidden, "A2": hidden, "H1": hidden, "H2": hidden, "portal": hidden, "anonymous": "UNAUTHENTICATED"}},
		// A homeowner reads themself, and never their records elsewhere.
		{"cH1", map[string]string{"admin": "[cHB@pB]", "MAB": "[cHB@pB]", "MA": "[]", "A1": "[]", "H1": "[]",
			"MB": hidden, "A2": hidden, "B1": hidden, "H2": hidden, "portal": hidden, "anonymous": "UNAUTHENTICATED"}},
	} {
		for actor, want := range c.want {
			got := sameAsOf(t, w, callers[actor], c.customer)
			if got == "null" {
				got = hidden
			}
			if got != want {
				t.Errorf("sameAs of %s as %s: got %s, want %s", c.customer, actor, got, want)
			}
		}
	}
	// A list: the same answer as node(id:), for each row.
	var list struct {
		Customers struct {
			Edges []struct {
				Node struct {
					ID     string
					SameAs []struct{ ID string }
				}
			}
		}
	}
	env.As(t, mAB).Query(t, `{ customers(first: 100) { edges { node { id sameAs { id } } } } }`, nil).Decode(t, &list)
	pairs := map[string]string{}
	for _, e := range list.Customers.Edges {
		for _, s := range e.Node.SameAs {
			pairs[w.Label(e.Node.ID)] += w.Label(s.ID)
		}
	}
	if fmt.Sprint(pairs) != "map[cA-of-cB1:cB1 cB1:cA-of-cB1 cH1:cHB cHB:cH1]" {
		t.Errorf("sameAs in the list of the manager of both: %v", pairs)
	}
}

// mustBody registers phone in A as A1 and returns the answer's body.
func mustBody(t *testing.T, w *apitest.World, register, phone string) []byte {
	t.Helper()
	res := w.Caller(t, "A1").Query(t, register, map[string]any{"p": w.ID("pA"), "phone": phone})
	if len(res.Errors) > 0 {
		t.Fatalf("registering %s: %s", phone, res.Body)
	}
	return res.Body
}

// shape is a JSON document with every string and number blanked: what is
// left are the keys and the structure.
func shape(t *testing.T, body []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	var blank func(any) any
	blank = func(v any) any {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				v[k] = blank(x)
			}
			return v
		case []any:
			for i, x := range v {
				v[i] = blank(x)
			}
			return v
		case string, float64:
			return "_"
		}
		return v
	}
	b, _ := json.Marshal(blank(v))
	return string(b)
}
