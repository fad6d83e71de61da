package api_test

// Customer.sameAs costs the same statements for a page of 3 customers as
// for one of 20 (SPEC.md §6: statements per request independent of result
// size): the page's records of the same persons are read in one statement,
// at the top level and under a list of projects alike.

import (
	"encoding/json"
	"fmt"
	"testing"

	"estatecrm/api/apitest"
	"estatecrm/ent"
	"estatecrm/ent/customer"
	"estatecrm/ent/user"
)

func TestSameAsStatementsIndependentOfPageSize(t *testing.T) {
	env := apitest.New(t)
	ctx := apitest.System()
	pA, pB := env.Project(t, "滨江·云玺", 1, 1, 1), env.Project(t, "前海·天汇", 1, 1, 1)
	// 20 persons, each a customer of both projects.
	for i := range 20 {
		phone := fmt.Sprintf("+861390000%04d", i)
		for _, p := range []*ent.Project{pA, pB} {
			env.Client.Customer.Create().SetProjectID(p.ID).SetName(fmt.Sprintf("客户%d", i)).SetPhone(phone).
				SetSource(customer.SourceWALK_IN).ExecX(ctx)
		}
	}
	_, mAB := env.User(t, user.RoleMANAGER, "manager.ab", pA, pB)
	_, mA := env.User(t, user.RoleMANAGER, "manager.a", pA)
	_, agent := env.User(t, user.RoleAGENT, "agent.a", pA)
	type node struct {
		ID, ProjectID string
		SameAs        []struct {
			ID, ProjectID string
			Project       struct{ Name string }
		}
	}
	type page struct{ Edges []struct{ Node node } }
	for _, tc := range []struct {
		name, query string
		vars        map[string]any
		nodes       func(json.RawMessage) []node
	}{{
		name: "customers",
		query: `query($n: Int!, $p: ID!) { customers(first: $n, where: {projectID: $p}) {
		  edges { node { id projectID sameAs { id projectID project { name } } } } } }`,
		vars: map[string]any{"p": pA.ID},
		nodes: func(data json.RawMessage) []node {
			var out struct{ Customers page }
			mustUnmarshal(t, data, &out)
			var ns []node
			for _, e := range out.Customers.Edges {
				ns = append(ns, e.Node)
			}
			return ns
		},
	}, {
		name: "customers of each project",
		query: `query($n: Int!) { projects(first: 10) { edges { node {
		  customers(first: $n) { edges { node { id projectID sameAs { id projectID project { name } } } } } } } } }`,
		nodes: func(data json.RawMessage) []node {
			var out struct {
				Projects struct {
					Edges []struct{ Node struct{ Customers page } }
				}
			}
			mustUnmarshal(t, data, &out)
			var ns []node
			for _, p := range out.Projects.Edges {
				for _, e := range p.Node.Customers.Edges {
					ns = append(ns, e.Node)
				}
			}
			return ns
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			for _, actor := range []struct {
				name string
				as   *apitest.Caller
				// projects: how many projects' customers the list has;
				// same: how many records each has in sameAs.
				projects, same int
			}{
				{"manager of both", env.As(t, mAB), 2, 1},
				{"manager of A", env.As(t, mA), 1, 0},
				{"agent", env.As(t, agent), 1, 0},
			} {
				run := func(n int) int64 {
					t.Helper()
					env.Counter.Reset()
					vars := map[string]any{"n": n}
					for k, v := range tc.vars {
						vars[k] = v
					}
					res := actor.as.Query(t, tc.query, vars)
					count := env.Counter.Count()
					if len(res.Errors) > 0 {
						t.Fatalf("%s: %s", actor.name, res.Body)
					}
					nodes := tc.nodes(res.Data)
					if actor.name == "agent" {
						return count // sees no customer of theirs: nothing more to check
					}
					want := n * actor.projects
					if tc.vars != nil {
						want = n // of project A alone
					}
					if len(nodes) != want {
						t.Fatalf("%s, first %d: %d customers", actor.name, n, len(nodes))
					}
					for _, c := range nodes {
						if len(c.SameAs) != actor.same {
							t.Fatalf("%s, first %d: %s has sameAs %+v, want %d records", actor.name, n, c.ID, c.SameAs, actor.same)
						}
						for _, s := range c.SameAs {
							if s.ID == c.ID || s.ProjectID == c.ProjectID || s.Project.Name == "" {
								t.Fatalf("%s: sameAs of %s (%s) is %+v", actor.name, c.ID, c.ProjectID, s)
							}
						}
					}
					return count
				}
				small, large := run(3), run(20)
				t.Logf("%s: %d statements for 3 customers, %d for 20", actor.name, small, large)
				if small != large {
					t.Errorf("%s: sameAs of 3 customers took %d statements, of 20 %d: want the same", actor.name, small, large)
				}
			}
		})
	}
}
