package api_test

// listings and listingChanges (issue 12): filters, orders and pages of the
// portal projection; the change log followed by a poller whose copy ends
// equal to listings; retention; a portal key limited to some projects.

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"estatecrm/account"
	"estatecrm/api/apitest"
	"estatecrm/ent"
	entmedia "estatecrm/ent/media"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/unit"
	"estatecrm/money"
)

// portal returns a caller with a new portal key, limited to projects if any.
func portal(t testing.TB, env *apitest.Env, projects ...pulid.ID) *apitest.Caller {
	t.Helper()
	// A generous request limit and query-cost budget: the tests poll hard.
	limit, budget, restore := 100000, 1_000_000, 100_000
	k, err := account.CreateAPIKey(apitest.System(), env.Client, account.NewAPIKey{Name: "portal", RateLimitPerMinute: &limit,
		CostBudget: &budget, CostRestoreRate: &restore})
	if err != nil {
		t.Fatal(err)
	}
	if len(projects) > 0 {
		if _, err := account.SetAPIKeyProjects(apitest.System(), env.Client, k.APIKey.ID, projects); err != nil {
			t.Fatal(err)
		}
	}
	return env.WithHeader("X-API-Key", k.Key)
}

type listingNode struct {
	ID      string
	Project struct {
		ID, Name, City, District string
	}
	Building       struct{ Name string }
	Number         string
	Bedrooms       int
	GrossArea      float64
	Orientation    string
	Decoration     string
	ListPrice      string
	Status         string
	StandardStatus string
	ModifiedAt     string
}

type listingPage struct {
	Listings struct {
		TotalCount int
		PageInfo   struct {
			HasNextPage bool
			EndCursor   *string
		}
		Edges []struct {
			Cursor string
			Node   listingNode
		}
	}
}

const listingsQuery = `query($where: ListingFilter, $order: [ListingOrder!], $first: Int, $after: Cursor) {
  listings(where: $where, orderBy: $order, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { id project { id name city district } building { name } number bedrooms grossArea
      orientation decoration listPrice status standardStatus modifiedAt } }
  }
}`

// listAll reads every listing the caller sees with the filter and order,
// page by page of size, and returns their numbers in order.
func listAll(t *testing.T, c *apitest.Caller, where map[string]any, order map[string]any, size int) []listingNode {
	t.Helper()
	var out []listingNode
	var after any
	for range 100 {
		res := c.Query(t, listingsQuery, map[string]any{"where": where, "order": order, "first": size, "after": after})
		if len(res.Errors) > 0 {
			t.Fatalf("listings: %s", res.Body)
		}
		var p listingPage
		res.Decode(t, &p)
		for _, e := range p.Listings.Edges {
			out = append(out, e.Node)
		}
		if !p.Listings.PageInfo.HasNextPage {
			return out
		}
		after = *p.Listings.PageInfo.EndCursor
	}
	t.Fatal("listings: more than 100 pages")
	return nil
}

func numbers(ls []listingNode) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.Number)
	}
	return out
}

// listingsFixture: project P (杭州 西湖区, published) with 12 units of
// varied bedrooms, areas, orientations, decorations and prices; 1201
// unpublished, 1101 withdrawn, 1001 held (live), 901 held (lapsed), 801
// reserved, 701 contracted; project Q (published, 上海) with 2 units, and R
// (unpublished) with 2.
func listingsFixture(t *testing.T, env *apitest.Env) (p, q, r *ent.Project) {
	t.Helper()
	ctx := apitest.System()
	p = env.Project(t, "西溪·云庐", 1, 12, 1)
	env.Client.Project.UpdateOne(p).SetDistrict("西湖区").ExecX(ctx)
	q = env.Project(t, "前滩·悦府", 1, 2, 1)
	env.Client.Project.UpdateOne(q).SetCity("上海").ExecX(ctx)
	r = env.Project(t, "未开·某盘", 1, 2, 1)
	env.Client.Project.UpdateOne(r).SetPublished(false).ExecX(ctx)
	orient := []unit.Orientation{unit.OrientationSOUTH, unit.OrientationNORTH, unit.OrientationEAST}
	now := time.Now().UTC()
	for _, u := range env.Client.Unit.Query().Where(unit.ProjectID(p.ID)).AllX(ctx) {
		f := u.Floor
		upd := env.Client.Unit.UpdateOne(u).SetBedrooms(1 + f%4).SetGrossArea(float64(60 + 10*f)).
			SetOrientation(orient[f%3]).SetListPrice(money.Yuan(int64(2_000_000 + 100_000*((f*7)%12))))
		if f%2 == 0 {
			upd.SetDecoration(unit.DecorationFURNISHED)
		}
		switch u.Number {
		case "1201":
			upd.SetPublished(false)
		case "1101":
			upd.SetStatus(unit.StatusWITHDRAWN)
		case "1001":
			upd.SetStatus(unit.StatusHELD).SetHoldExpiresAt(now.Add(time.Hour))
		case "901":
			upd.SetStatus(unit.StatusHELD).SetHoldExpiresAt(now.Add(-time.Minute))
		case "801":
			upd.SetStatus(unit.StatusRESERVED)
		case "701":
			upd.SetStatus(unit.StatusCONTRACTED)
		}
		upd.ExecX(ctx)
	}
	return p, q, r
}

func TestListingsFiltersOrdersAndPages(t *testing.T) {
	env := apitest.New(t)
	p, q, _ := listingsFixture(t, env)
	c := portal(t, env)

	all := listAll(t, c, nil, nil, 3)
	got := numbers(all)
	want := []string{"101", "201", "301", "401", "501", "601", "701", "801", "901", "1001", "101", "201"}
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Fatalf("listings by a portal: %v, want %v (no unpublished, withdrawn or unpublished project's unit)", got, want)
	}
	ids := map[string]bool{}
	for _, l := range all {
		if ids[l.ID] {
			t.Fatalf("listing %s twice across pages", l.ID)
		}
		ids[l.ID] = true
	}

	status := map[string]string{}
	for _, l := range listAll(t, c, map[string]any{"projectIds": []pulid.ID{p.ID}}, nil, 100) {
		status[l.Number] = l.Status + "/" + l.StandardStatus
		if l.Project.District != "西湖区" || l.Building.Name != "1栋" || l.Project.Name != "西溪·云庐" {
			t.Fatalf("listing %s: project %+v building %+v", l.Number, l.Project, l.Building)
		}
	}
	for n, w := range map[string]string{"101": "AVAILABLE/ACTIVE", "901": "AVAILABLE/ACTIVE", "1001": "HELD/PENDING",
		"801": "RESERVED/PENDING", "701": "CONTRACTED/CLOSED"} {
		if status[n] != w {
			t.Errorf("unit %s reads %q, want %q (a lapsed hold reads available)", n, status[n], w)
		}
	}

	for _, tc := range []struct {
		name  string
		where map[string]any
		want  string
	}{
		{"city", map[string]any{"city": "上海"}, "101 201"},
		{"district", map[string]any{"district": "西湖区", "bedrooms": []int{1}}, "401 801"},
		{"project", map[string]any{"projectIds": []pulid.ID{q.ID}}, "101 201"},
		{"price range", map[string]any{"projectIds": []pulid.ID{p.ID}, "priceMin": "2300000.00", "priceMax": "2500000.00"}, "401 901"},
		{"area range", map[string]any{"projectIds": []pulid.ID{p.ID}, "areaMin": 150, "areaMax": 170}, "901 1001"},
		{"orientation", map[string]any{"projectIds": []pulid.ID{p.ID}, "orientation": []string{"NORTH"}}, "101 401 701 1001"},
		{"decoration", map[string]any{"projectIds": []pulid.ID{p.ID}, "decoration": []string{"FURNISHED"}, "bedrooms": []int{3}}, "201 601 1001"},
		{"status lapsed hold is available", map[string]any{"projectIds": []pulid.ID{p.ID}, "status": []string{"AVAILABLE"}, "areaMin": 150}, "901"},
		{"standard status", map[string]any{"standardStatus": []string{"PENDING", "CLOSED"}}, "701 801 1001"},
		{"ids", map[string]any{"ids": []string{all[0].ID}}, all[0].Number},
	} {
		got := numbers(listAll(t, c, tc.where, nil, 2))
		sort.Strings(got)
		w := strings.Fields(tc.want)
		sort.Strings(w)
		if !slices.Equal(got, w) {
			t.Errorf("%s: %v, want %v", tc.name, got, w)
		}
	}

	// Orders, walked in pages of 2: each page continues the last.
	for _, tc := range []struct {
		field string
		desc  bool
		key   func(l listingNode) string
	}{
		{"LIST_PRICE", false, func(l listingNode) string { return fmt.Sprintf("%012s", l.ListPrice) }},
		{"LIST_PRICE", true, func(l listingNode) string { return fmt.Sprintf("%012s", l.ListPrice) }},
		{"GROSS_AREA", false, func(l listingNode) string { return fmt.Sprintf("%08.2f", l.GrossArea) }},
		{"GROSS_AREA", true, func(l listingNode) string { return fmt.Sprintf("%08.2f", l.GrossArea) }},
		{"MODIFIED_AT", true, func(l listingNode) string { return l.ModifiedAt }},
		{"MODIFIED_AT", false, func(l listingNode) string { return l.ModifiedAt }},
	} {
		dir := "ASC"
		if tc.desc {
			dir = "DESC"
		}
		paged := listAll(t, c, nil, map[string]any{"field": tc.field, "direction": dir}, 2)
		if len(paged) != len(all) {
			t.Fatalf("%s %s: %d listings in pages, want %d", tc.field, dir, len(paged), len(all))
		}
		if !sort.SliceIsSorted(paged, func(i, j int) bool {
			if tc.desc {
				return tc.key(paged[i]) > tc.key(paged[j])
			}
			return tc.key(paged[i]) < tc.key(paged[j])
		}) {
			t.Errorf("%s %s: not in order: %v", tc.field, dir, numbers(paged))
		}
	}

	// An ACTIVE-only page reads two ordered halves on PostgreSQL (units
	// stored AVAILABLE, lapsed holds stored HELD; rule.AvailableInOrder):
	// walked in pages of 2 by price both ways, it gives every active listing
	// once, in order, the lapsed hold included.
	var active []string
	for _, l := range all {
		if l.StandardStatus == "ACTIVE" {
			active = append(active, l.Number)
		}
	}
	slices.Sort(active)
	for _, dir := range []string{"ASC", "DESC"} {
		paged := listAll(t, c, map[string]any{"standardStatus": []string{"ACTIVE"}}, map[string]any{"field": "LIST_PRICE", "direction": dir}, 2)
		got := numbers(paged)
		slices.Sort(got)
		if !slices.Equal(got, active) || !slices.Contains(got, "901") {
			t.Errorf("ACTIVE by LIST_PRICE %s: %v, want %v (901 is a lapsed hold)", dir, got, active)
		}
		if !sort.SliceIsSorted(paged, func(i, j int) bool {
			a, b := fmt.Sprintf("%012s", paged[i].ListPrice), fmt.Sprintf("%012s", paged[j].ListPrice)
			if dir == "DESC" {
				return a > b
			}
			return a < b
		}) {
			t.Errorf("ACTIVE by LIST_PRICE %s: not in order: %v", dir, numbers(paged))
		}
	}

	var one listingPage
	res := c.Query(t, listingsQuery, map[string]any{"first": 1})
	res.Decode(t, &one)
	if one.Listings.TotalCount != len(all) || len(one.Listings.Edges) != 1 || !one.Listings.PageInfo.HasNextPage {
		t.Fatalf("first: 1 answered %+v; want 1 edge, a next page, totalCount %d", one.Listings, len(all))
	}
	if e := c.Query(t, listingsQuery, map[string]any{"first": 101}).OnlyError(t); e.Code() != "BAD_USER_INPUT" || !strings.HasSuffix(e.Field(), "first") {
		t.Fatalf("first: 101 answered %+v; want BAD_USER_INPUT on first", e)
	}
}

// TestListingsStatementsIndependentOfPageSize: a page of listings is one
// statement (two with totalCount), and one more for the listings' media,
// whatever its size.
func TestListingsStatementsIndependentOfPageSize(t *testing.T) {
	env := apitest.New(t)
	p := env.Project(t, "大盘", 2, 10, 4)
	addMediaItem(t, env, p.ID, nil, nil, entmedia.KindPHOTO, "site")
	c := portal(t, env)
	c.Query(t, listingsQuery, map[string]any{"first": 1}) // the key's first use writes last_used_at
	env.Counter.Record()
	counts := map[int]int64{}
	for _, n := range []int{1, 20, 100} {
		env.Counter.Reset()
		res := c.Query(t, `query($n: Int) { listings(first: $n) { edges { node { id project { name } building { name } listPrice status
		  media { id caption url } } } } }`, map[string]any{"n": n})
		if len(res.Errors) > 0 {
			t.Fatal(string(res.Body), env.Log.String())
		}
		var out struct {
			Listings struct {
				Edges []struct {
					Node struct{ Media []struct{ Caption string } }
				}
			}
		}
		res.Decode(t, &out)
		if len(out.Listings.Edges) != min(n, 80) {
			t.Fatalf("page of %d: %d listings", n, len(out.Listings.Edges))
		}
		for _, e := range out.Listings.Edges {
			if len(e.Node.Media) != 1 || e.Node.Media[0].Caption != "site" {
				t.Fatalf("page of %d: a listing's media %+v, want the project's photo", n, e.Node.Media)
			}
		}
		counts[n] = env.Counter.Count()
	}
	if counts[1] != counts[100] || counts[1] > 3 {
		t.Fatalf("statements by page size: %v; want the same for every size, at most 3 (the key, the page, the media)", counts)
	}
}
