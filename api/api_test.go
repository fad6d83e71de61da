package api_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"estatecrm/api/apitest"
	"estatecrm/ent/unit"
)

const projectsWithUnits = `query ProjectsWithUnits($n: Int!) {
  projects(first: $n, orderBy: [{field: NAME}]) {
    totalCount
    edges { node { id name
      units(first: 20, orderBy: [{field: LIST_PRICE}]) {
        totalCount
        edges { node { id number listPrice status project { name } } }
      }
    } }
  }
}`

type projectsPage struct {
	Projects struct {
		TotalCount int
		Edges      []struct {
			Node struct {
				ID, Name string
				Units    struct {
					TotalCount int
					Edges      []struct {
						Node struct {
							ID, Number, ListPrice, Status string
							Project                       struct{ Name string }
						}
					}
				}
			}
		}
	}
}

func TestProjectUnitsWithTheirProject(t *testing.T) {
	env := apitest.New(t)
	env.Project(t, "滨江·云玺", 1, 3, 4)
	env.Project(t, "前海·天汇", 2, 2, 2)

	var page projectsPage
	env.Query(t, projectsWithUnits, map[string]any{"n": 10}).Decode(t, &page)
	if page.Projects.TotalCount != 2 || len(page.Projects.Edges) != 2 {
		t.Fatalf("want 2 projects, got %+v", page.Projects)
	}
	wantUnits := map[string]int{"滨江·云玺": 12, "前海·天汇": 8}
	for _, e := range page.Projects.Edges {
		p := e.Node
		if p.Units.TotalCount != wantUnits[p.Name] || len(p.Units.Edges) != wantUnits[p.Name] {
			t.Fatalf("%s: want %d units, got total %d, %d edges", p.Name, wantUnits[p.Name], p.Units.TotalCount, len(p.Units.Edges))
		}
		prev := ""
		for _, u := range p.Units.Edges {
			if u.Node.Project.Name != p.Name {
				t.Fatalf("unit %s of %s says its project is %q", u.Node.Number, p.Name, u.Node.Project.Name)
			}
			if !strings.HasPrefix(u.Node.ID, "UN") || u.Node.Status != "AVAILABLE" {
				t.Fatalf("unexpected unit %+v", u.Node)
			}
			if prev != "" && len(u.Node.ListPrice) < len(prev) {
				t.Fatalf("units not ordered by price: %s after %s", u.Node.ListPrice, prev)
			}
			prev = u.Node.ListPrice
		}
	}
	if got := page.Projects.Edges[0].Node.Units.Edges[0].Node.ListPrice; got != "3010001.00" {
		t.Fatalf("cheapest unit's price is %q, want the decimal string 3010001.00", got)
	}
}

// statementsQuery is the N+1 probe of issue 2: projects, each with its first
// 20 units, each unit with its project's name (kept lean to stay under the
// query cost limit at 50 projects).
const statementsQuery = `query Statements($n: Int!) {
  projects(first: $n) {
    edges { node { name
      units(first: 20) { totalCount edges { node { project { name } } } }
    } }
  }
}`

// The statement count of a nested request must not grow with its result:
// 50 projects × 20 units × project name costs what 2 projects cost.
func TestStatementCountIndependentOfResultSize(t *testing.T) {
	count := func(projects int) int64 {
		env := apitest.New(t)
		for i := range projects {
			env.Project(t, fmt.Sprintf("P%02d", i), 1, 5, 5)
		}
		env.Counter.Reset()
		var page projectsPage
		env.Query(t, statementsQuery, map[string]any{"n": 50}).Decode(t, &page)
		if len(page.Projects.Edges) != projects {
			t.Fatalf("want %d projects, got %d", projects, len(page.Projects.Edges))
		}
		for _, e := range page.Projects.Edges {
			if len(e.Node.Units.Edges) != 20 || e.Node.Units.TotalCount != 25 {
				t.Fatalf("%s: want 20 of 25 units, got %d of %d", e.Node.Name, len(e.Node.Units.Edges), e.Node.Units.TotalCount)
			}
			for _, u := range e.Node.Units.Edges {
				if u.Node.Project.Name != e.Node.Name {
					t.Fatalf("a unit of %s names its project %q", e.Node.Name, u.Node.Project.Name)
				}
			}
		}
		return env.Counter.Count()
	}
	small, large := count(2), count(50)
	t.Logf("statements: 2 projects → %d, 50 projects → %d", small, large)
	if small != large {
		t.Fatalf("statement count grows with the result: %d for 2 projects, %d for 50", small, large)
	}
	// projects, units (windowed), unit counts, units' projects: depth + 1 at most.
	if large > 4 {
		t.Fatalf("%d statements for a 3-level query; want at most depth + 1 = 4", large)
	}
}

func TestWhereFiltersAndMoneyScalar(t *testing.T) {
	env := apitest.New(t)
	p := env.Project(t, "滨江·云玺", 1, 10, 2)
	ctx := apitest.System()
	if err := env.Client.Unit.Update().Where(unit.Floor(10)).SetStatus(unit.StatusRESERVED).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	var out struct {
		Units struct {
			TotalCount int
			Edges      []struct {
				Node struct {
					Floor             int
					ListPrice, Status string
				}
			}
		}
	}
	env.Query(t, `query($p: ID!, $lo: Money!, $hi: Money!) {
	  units(first: 100, where: {projectID: $p, status: AVAILABLE, listPriceGTE: $lo, listPriceLT: $hi}, orderBy: [{field: LIST_PRICE, direction: DESC}]) {
	    totalCount edges { node { floor listPrice status } }
	  }
	}`, map[string]any{"p": p.ID, "lo": "3050000", "hi": "3100002.00"}).Decode(t, &out)
	// Floors 5..10 are in range (3,050,001 … 3,100,002 exclusive); floor 10 is reserved.
	if out.Units.TotalCount != 10 {
		t.Fatalf("want 10 available units in the price range, got %d: %+v", out.Units.TotalCount, out.Units.Edges)
	}
	if first := out.Units.Edges[0].Node; first.Floor != 9 || first.ListPrice != "3090002.00" {
		t.Fatalf("want the dearest available unit first, got %+v", first)
	}

	res := env.Query(t, `{ units(first: 1, where: {listPriceGT: 12.5}) { totalCount } }`, nil)
	if e := res.OnlyError(t); e.Code() != "BAD_USER_INPUT" {
		t.Fatalf("a float as Money: want BAD_USER_INPUT, got %s", res.Body)
	}
	res = env.Query(t, `query($x: Money!) { units(first: 1, where: {listPriceGT: $x}) { totalCount } }`, map[string]any{"x": "1.234"})
	if e := res.OnlyError(t); e.Code() != "BAD_USER_INPUT" || !strings.Contains(e.Message, "two decimal places") {
		t.Fatalf("three decimal places: want BAD_USER_INPUT, got %s", res.Body)
	}
}

func TestNodeAndNodes(t *testing.T) {
	env := apitest.New(t)
	p := env.Project(t, "滨江·云玺", 1, 1, 2)
	u := env.Client.Unit.Query().FirstX(apitest.System())

	var out struct {
		Node struct {
			Typename string `json:"__typename"`
			Name     string
		}
		Nodes []struct {
			Typename string `json:"__typename"`
			Number   string
		}
	}
	env.Query(t, `query($p: ID!, $u: ID!) {
	  node(id: $p) { __typename ... on Project { name } }
	  nodes(ids: [$u]) { __typename ... on Unit { number } }
	}`, map[string]any{"p": p.ID, "u": u.ID}).Decode(t, &out)
	if out.Node.Typename != "Project" || out.Node.Name != "滨江·云玺" {
		t.Fatalf("node(id:) = %+v", out.Node)
	}
	if len(out.Nodes) != 1 || out.Nodes[0].Typename != "Unit" || out.Nodes[0].Number != u.Number {
		t.Fatalf("nodes(ids:) = %+v", out.Nodes)
	}

	for _, tc := range []struct{ name, id, code string }{
		{"malformed", "not-an-id", "BAD_USER_INPUT"},
		{"unknown prefix", "ZZ" + string(p.ID[2:]), "BAD_USER_INPUT"},
		{"no such project", "PJ01ARZ3NDEKTSV4RRFFQ69G5FAV", "NOT_FOUND"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := env.Query(t, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": tc.id})
			if e := res.OnlyError(t); e.Code() != tc.code {
				t.Fatalf("want %s, got %s", tc.code, res.Body)
			}
		})
	}
}

func TestPageSizeIsRequiredAndCapped(t *testing.T) {
	env := apitest.New(t)
	env.Project(t, "滨江·云玺", 1, 1, 1)
	for _, tc := range []struct{ name, query, field string }{
		{"over the cap", `{ units(first: 101) { totalCount } }`, "units.first"},
		{"last over the cap", `{ units(last: 500) { totalCount } }`, "units.last"},
		{"missing", `{ projects { totalCount } }`, "projects.first"},
		{"nested missing", `{ projects(first: 1) { edges { node { units { totalCount } } } } }`, "units.first"},
		{"in a fragment", `{ projects(first: 1) { edges { node { ...U } } } } fragment U on Project { units(first: 1000) { totalCount } }`, "units.first"},
		{"by variable", `query($n: Int) { customers(first: $n) { totalCount } }`, "customers.first"},
		{"negative last", `{ units(last: -1) { totalCount } }`, "units.last"},
		{"first and last", `{ customers(first: 2, last: 2) { totalCount } }`, "customers.last"},
		{"nested first and last", `{ projects(first: 1) { edges { node { units(first: 1, last: 1) { totalCount } } } } }`, "units.last"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := env.Query(t, tc.query, map[string]any{"n": 101})
			e := res.OnlyError(t)
			if e.Code() != "BAD_USER_INPUT" || e.Field() != tc.field {
				t.Fatalf("want BAD_USER_INPUT on %s, got %s", tc.field, res.Body)
			}
			if len(res.Data) > 0 && string(res.Data) != "null" {
				t.Fatalf("a refused request returned data: %s", res.Data)
			}
		})
	}
	// gqlparser lets a JSON string through as an Int variable: it is named
	// for what it is, not taken for a missing page size.
	res := env.Query(t, `query($s: Int) { customers(first: $s) { totalCount } }`, map[string]any{"s": "3"})
	if e := res.OnlyError(t); e.Code() != "BAD_USER_INPUT" || e.Field() != "customers.first" || !strings.Contains(e.Message, "not an Int") {
		t.Fatalf("a string for first: got %s", res.Body)
	}
	res = env.Query(t, `{ units(first: 100) { totalCount } }`, nil)
	if len(res.Errors) != 0 {
		t.Fatalf("first: 100 is allowed, got %s", res.Body)
	}
}

func TestBadRequestsGetCodes(t *testing.T) {
	env := apitest.New(t)
	for _, tc := range []struct {
		name        string
		contentType string
		body        string
		status      int
		must, never string
	}{
		{"syntax error", "application/json", `{"query":"{ projects(first: 1) { totalCount "}`, 0, "", ""},
		{"unknown field", "application/json", `{"query":"{ projects(first: 1) { totalCont } }"}`, 0, "totalCont", "Did you mean"},
		{"not JSON", "application/json", `{"query": "{ projects`, http.StatusBadRequest, "not valid JSON", "projects"},
		{"data after the JSON", "application/json", `{"query":"{ __typename }"} {"query": "{ projects`, http.StatusBadRequest, "not valid JSON", "projects"},
		{"no body", "application/json", ``, http.StatusBadRequest, "not valid JSON", ""},
		{"a space JSON has not after it", "application/json", "{\"query\":\"{ __typename }\"}\u00a0", http.StatusBadRequest, "not valid JSON", ""},
		{"not an object", "application/json", `["{ projects(first: 1) { totalCount } }"]`, http.StatusBadRequest, "one JSON object", "projects"},
		{"no query", "application/json", `{}`, 0, "", ""},
		{"wrong argument type", "application/json", `{"query":"{ projects(first: \"ten\") { totalCount } }"}`, 0, "", ""},
		{"too large", "application/json", `{"query":"` + strings.Repeat(" ", 2<<20) + `{ __typename }"}`, http.StatusRequestEntityTooLarge, "larger than", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := env.Post(t, tc.contentType, []byte(tc.body))
			e := res.OnlyError(t)
			if e.Code() != "BAD_USER_INPUT" {
				t.Fatalf("want BAD_USER_INPUT, got %s", res.Body)
			}
			if tc.status != 0 && res.Status != tc.status {
				t.Fatalf("want HTTP %d, got %d", tc.status, res.Status)
			}
			if tc.must != "" && !strings.Contains(e.Message, tc.must) {
				t.Fatalf("message %q should mention %q", e.Message, tc.must)
			}
			if tc.never != "" && strings.Contains(string(res.Body), tc.never) {
				t.Fatalf("response should not contain %q: %s", tc.never, res.Body)
			}
		})
	}
}

func TestHealthAndReadiness(t *testing.T) {
	env := apitest.New(t)
	get := func(path string) int {
		rec := httptest.NewRecorder()
		env.Handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec.Code
	}
	if got := get("/healthz"); got != http.StatusOK {
		t.Fatalf("/healthz = %d", got)
	}
	if got := get("/readyz"); got != http.StatusOK {
		t.Fatalf("/readyz = %d", got)
	}
	env.DB.SQL.Close() // the database goes away
	if got := get("/readyz"); got != http.StatusServiceUnavailable {
		t.Fatalf("/readyz with the database gone = %d, want 503", got)
	}
	if got := get("/healthz"); got != http.StatusOK {
		t.Fatalf("/healthz is liveness and must not depend on the database, got %d", got)
	}
}

func TestRequestLogCarriesIDAndOperation(t *testing.T) {
	env := apitest.New(t)
	req := httptest.NewRequest(http.MethodPost, "/query", strings.NewReader(`{"query":"query CountProjects { projects(first: 1) { totalCount } }","operationName":"CountProjects"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Request-Id", "tour-42")
	rec := httptest.NewRecorder()
	env.Handler.ServeHTTP(rec, req)
	if rec.Header().Get("X-Request-Id") != "tour-42" {
		t.Fatalf("request id not echoed: %v", rec.Header())
	}
	log := env.Log.String()
	if !strings.Contains(log, `"request_id":"tour-42"`) || !strings.Contains(log, `"operation":"CountProjects"`) {
		t.Fatalf("request log lacks id or operation: %s", log)
	}
}
