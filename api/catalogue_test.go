package api_test

// The catalogue through the API (issue 11): an admin sets up a project with
// its buildings and units; a manager keeps it; bad input is refused naming
// the field, and changes nothing.

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"estatecrm/api/apitest"
	"estatecrm/ent/project"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/unit"
	"estatecrm/ent/user"
)

// catalogueCounts is how many projects, buildings and units there are, and
// a digest of every unit's description: what a refused request must leave
// as it was.
func catalogueCounts(t *testing.T, env *apitest.Env) string {
	t.Helper()
	ctx := apitest.System()
	var sb strings.Builder
	fmt.Fprintf(&sb, "%d projects %d buildings %d units;", env.Client.Project.Query().CountX(ctx),
		env.Client.Building.Query().CountX(ctx), env.Client.Unit.Query().CountX(ctx))
	for _, p := range env.Client.Project.Query().Order(project.ByID()).AllX(ctx) {
		fmt.Fprintf(&sb, " %s/%s/%s/%v/%v", p.Name, p.City, p.District, *p.ProtectionDays, p.Status)
	}
	for _, b := range env.Client.Building.Query().AllX(ctx) {
		fmt.Fprintf(&sb, " %s/%d/%d", b.Name, b.Floors, b.UnitsPerFloor)
	}
	for _, u := range env.Client.Unit.Query().Order(unit.ByID()).AllX(ctx) {
		fmt.Fprintf(&sb, " %s/%d/%d%d%d/%g/%g/%s/%s", u.Number, u.Floor, u.Bedrooms, u.LivingRooms, u.Bathrooms,
			u.GrossArea, u.NetArea, u.Orientation, u.Decoration)
	}
	return sb.String()
}

// unitsCSV is an import of floors × perFloor units in each of buildings.
func unitsCSV(buildings []string, floors, perFloor int) string {
	var b strings.Builder
	b.WriteString(catalogueHeader)
	for _, name := range buildings {
		for f := 1; f <= floors; f++ {
			for n := 1; n <= perFloor; n++ {
				fmt.Fprintf(&b, "%s,%d,%d%02d,3,2,2,%.2f,%.2f,SOUTH,BARE,%d.00\n",
					name, f, f, n, 110.0+float64(n), 86.0+float64(n), 3_000_000+f*10_000+n*1_000)
			}
		}
	}
	return b.String()
}

type importAnswer struct {
	ImportUnits struct {
		DryRun         bool
		Rows, Imported int
		Errors         []struct {
			Line    int
			Column  *string
			Message string
		}
	}
}

const importSelection = "dryRun rows imported errors { line column message }"

// TestCatalogueNewProjectThroughTheAPI is the "done when": an admin
// sets up a project with 3 buildings and 600 units through the API alone,
// and its manager keeps it; the sales grid shows them.
func TestCatalogueNewProjectThroughTheAPI(t *testing.T) {
	env := apitest.New(t)
	var created struct {
		CreateProject struct {
			Project struct {
				ID                                              pulid.ID
				Name, City, District, Address, Status           string
				PresalePermit                                   string
				Latitude, Longitude                             float64
				LaunchDate, DeliveryDate                        string
				ProtectionDays, HoldMinutes, AgentDiscountCapBp int
				Published                                       bool
				Amenities                                       []struct {
					Kind, Name     string
					DistanceMeters int
				}
			}
		}
	}
	env.Query(t, `mutation { createProject(input: {
		name: " 滨江·云澜府 ", city: "杭州", district: "滨江区", address: "江南大道 1688 号",
		latitude: 30.2084, longitude: 120.2119, status: PRESALE, presalePermit: "杭售许字(2026)第 0031 号",
		launchDate: "2026-12-01T02:00:00Z", deliveryDate: "2029-06-30T02:00:00Z",
		amenities: [{kind: METRO, name: "6号线 江汉路站", distanceMeters: 650}, {kind: SCHOOL, name: "滨江一小", distanceMeters: 900}],
		protectionDays: 15, holdMinutes: 20, agentDiscountCapBp: 200}) {
		project { id name city district address status presalePermit latitude longitude launchDate deliveryDate
			protectionDays holdMinutes agentDiscountCapBp published amenities { kind name distanceMeters } } } }`, nil).Decode(t, &created)
	p := created.CreateProject.Project
	if p.Name != "滨江·云澜府" || p.City != "杭州" || p.District != "滨江区" || p.Status != "PRESALE" ||
		p.PresalePermit != "杭售许字(2026)第 0031 号" || p.Latitude != 30.2084 || p.LaunchDate != "2026-12-01T02:00:00Z" ||
		p.DeliveryDate != "2029-06-30T02:00:00Z" || p.ProtectionDays != 15 || p.HoldMinutes != 20 ||
		p.AgentDiscountCapBp != 200 || p.Published || len(p.Amenities) != 2 || p.Amenities[0].Name != "6号线 江汉路站" {
		t.Fatalf("created project: %+v", p)
	}

	var names []string
	for i := 1; i <= 3; i++ {
		name := fmt.Sprintf("%d幢", i)
		names = append(names, name)
		env.Query(t, `mutation($p: ID!, $n: String!) { createBuilding(input: {projectId: $p, name: $n, floors: 25, unitsPerFloor: 8}) { building { id } } }`,
			map[string]any{"p": p.ID, "n": name}).Decode(t, &struct{}{})
	}

	// 600 units: 3 buildings × 25 floors × 8, imported in one file.
	file := unitsCSV(names, 25, 8)
	start := time.Now()
	env.Counter.Reset()
	var imp importAnswer
	importCSV(t, env.As(t, apitest.Admin), p.ID, file, false, importSelection).Decode(t, &imp)
	t.Logf("importUnits of 600 units on %s took %v (request, parse, checks, inserts, commit) in %d statements",
		env.DB.Dialect, time.Since(start), env.Counter.Count())
	// The units go in by the hundred, and no hook reads each unit's building
	// again: the statements do not grow with the units.
	if n := env.Counter.Count(); n > 8 {
		t.Errorf("importing 600 units took %d statements; want at most 8", n)
	}
	if imp.ImportUnits.Imported != 600 || imp.ImportUnits.Rows != 600 || len(imp.ImportUnits.Errors) != 0 {
		t.Fatalf("import: %+v", imp.ImportUnits)
	}

	// The project's manager changes its rules and a unit, and sees the grid.
	pj := env.Client.Project.GetX(apitest.System(), p.ID)
	_, mv := env.User(t, user.RoleMANAGER, "manager.ylf", pj)
	m := env.As(t, mv)
	var upd struct {
		UpdateProject struct {
			Project struct{ HoldMinutes, ProtectionDays int }
		}
	}
	m.Query(t, `mutation($id: ID!) { updateProject(input: {id: $id, holdMinutes: 45}) { project { holdMinutes protectionDays } } }`,
		map[string]any{"id": p.ID}).Decode(t, &upd)
	if upd.UpdateProject.Project.HoldMinutes != 45 || upd.UpdateProject.Project.ProtectionDays != 15 {
		t.Fatalf("update: %+v", upd)
	}
	var g grid
	m.Query(t, gridQuery, map[string]any{"p": p.ID}).Decode(t, &g)
	n := 0
	for _, b := range g.SalesGrid.Buildings {
		for _, f := range b.Floors {
			n += len(f.Units)
		}
	}
	if len(g.SalesGrid.Buildings) != 3 || n != 600 {
		t.Fatalf("grid has %d buildings, %d units; want 3, 600", len(g.SalesGrid.Buildings), n)
	}
	u := g.SalesGrid.Buildings[0].Floors[0].Units[0] // top floor first
	if u.Status != "AVAILABLE" || u.Number != "2501" || u.ListPrice != "3251000.00" {
		t.Fatalf("top-floor unit: %+v", u)
	}
}

// TestCatalogueCreateUnits enters a grid with a per-floor increment and a
// skipped floor; a second call clashing on one number creates nothing.
func TestCatalogueCreateUnits(t *testing.T) {
	env := apitest.New(t)
	p := env.Project(t, "云栖", 0, 0, 0)
	var b struct {
		CreateBuilding struct{ Building struct{ ID pulid.ID } }
	}
	env.Query(t, `mutation($p: ID!) { createBuilding(input: {projectId: $p, name: "A座", floors: 18}) { building { id } } }`,
		map[string]any{"p": p.ID}).Decode(t, &b)
	bid := b.CreateBuilding.Building.ID
	const create = `mutation($in: CreateUnitsInput!) { createUnits(input: $in) { units { number floor bedrooms grossArea netArea orientation decoration listPrice status published } } }`
	stacks := []any{
		map[string]any{"suffix": "01", "bedrooms": 3, "livingRooms": 2, "bathrooms": 2, "grossArea": 128.6, "netArea": 101.2,
			"orientation": "SOUTH", "decoration": "FURNISHED", "basePrice": "4000000", "floorIncrement": "20000"},
		map[string]any{"suffix": "02", "bedrooms": 2, "livingRooms": 1, "bathrooms": 1, "grossArea": 89, "netArea": 70,
			"orientation": "NORTH_SOUTH", "basePrice": "2800000.50"},
	}
	var out struct {
		CreateUnits struct {
			Units []struct {
				Number, Orientation, Decoration, ListPrice, Status string
				Floor, Bedrooms                                    int
				GrossArea, NetArea                                 float64
				Published                                          bool
			}
		}
	}
	env.Query(t, create, map[string]any{"in": map[string]any{"buildingId": bid, "fromFloor": 2, "toFloor": 5, "skipFloors": []int{4}, "stacks": stacks}}).Decode(t, &out)
	var got []string
	for _, u := range out.CreateUnits.Units {
		got = append(got, fmt.Sprintf("%s:%d:%d:%s:%s:%s:%s:%v", u.Number, u.Floor, u.Bedrooms, u.Orientation, u.Decoration, u.ListPrice, u.Status, u.Published))
	}
	want := "201:2:3:SOUTH:FURNISHED:4000000.00:AVAILABLE:false 202:2:2:NORTH_SOUTH:BARE:2800000.50:AVAILABLE:false " +
		"301:3:3:SOUTH:FURNISHED:4020000.00:AVAILABLE:false 302:3:2:NORTH_SOUTH:BARE:2800000.50:AVAILABLE:false " +
		"501:5:3:SOUTH:FURNISHED:4060000.00:AVAILABLE:false 502:5:2:NORTH_SOUTH:BARE:2800000.50:AVAILABLE:false"
	if strings.Join(got, " ") != want {
		t.Fatalf("units:\n got  %s\n want %s", strings.Join(got, " "), want)
	}

	// Floors 5–6 again: 501 and 502 exist, so 601 and 602 are not made either.
	before := catalogueCounts(t, env)
	res := env.Query(t, create, map[string]any{"in": map[string]any{"buildingId": bid, "fromFloor": 5, "toFloor": 6, "stacks": stacks}})
	e := res.OnlyError(t)
	if e.Code() != "BAD_USER_INPUT" || e.Field() != "input.stacks.0.suffix" || !strings.Contains(e.Message, "501") {
		t.Fatalf("clash: %s", res.Body)
	}
	if catalogueCounts(t, env) != before {
		t.Fatal("a refused createUnits changed the catalogue")
	}
}

// TestCatalogueBadInput: every mutation refuses bad input with
// BAD_USER_INPUT naming the field, and changes nothing.
func TestCatalogueBadInput(t *testing.T) {
	env := apitest.New(t)
	w := env.World(t)
	stack := func(over map[string]any) map[string]any {
		s := map[string]any{"suffix": "01", "bedrooms": 3, "livingRooms": 2, "bathrooms": 2, "grossArea": 120, "netArea": 95,
			"orientation": "SOUTH", "basePrice": "3000000"}
		for k, v := range over {
			s[k] = v
		}
		return s
	}
	grid := func(over map[string]any, stacks ...map[string]any) map[string]any {
		in := map[string]any{"buildingId": w.ID("bA"), "fromFloor": 1, "toFloor": 2, "stacks": stacks}
		for k, v := range over {
			in[k] = v
		}
		return map[string]any{"in": in}
	}
	// pA is delivered on 1 June 2026.
	env.Client.Project.UpdateOneID(w.ID("pA")).SetDeliveryDate(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)).ExecX(apitest.System())
	const createProject = `mutation($in: CreateProjectInput!) { createProject(input: $in) { project { id } } }`
	const updateProject = `mutation($in: UpdateProjectInput!) { updateProject(input: $in) { project { id } } }`
	const createBuilding = `mutation($in: CreateBuildingInput!) { createBuilding(input: $in) { building { id } } }`
	const updateBuilding = `mutation($in: UpdateBuildingInput!) { updateBuilding(input: $in) { building { id } } }`
	const createUnits = `mutation($in: CreateUnitsInput!) { createUnits(input: $in) { units { id } } }`
	const updateUnit = `mutation($in: UpdateUnitInput!) { updateUnit(input: $in) { unit { id } } }`
	project := func(over map[string]any) map[string]any {
		in := map[string]any{"name": "新盘", "city": "杭州"}
		for k, v := range over {
			in[k] = v
		}
		return map[string]any{"in": in}
	}
	pA := func(over map[string]any) map[string]any {
		in := map[string]any{"id": w.ID("pA")}
		for k, v := range over {
			in[k] = v
		}
		return map[string]any{"in": in}
	}
	for _, tc := range []struct {
		name, actor, query string
		vars               map[string]any
		field              string
	}{
		{"blank project name", "admin", createProject, project(map[string]any{"name": "  "}), "input.name"},
		{"project name too long", "admin", createProject, project(map[string]any{"name": strings.Repeat("楼", 101)}), "input.name"},
		{"NUL in an address", "admin", createProject, project(map[string]any{"address": "a\x00b"}), "input.address"},
		{"latitude", "admin", createProject, project(map[string]any{"latitude": 91.0}), "input.latitude"},
		{"longitude", "admin", createProject, project(map[string]any{"longitude": -181.0}), "input.longitude"},
		{"delivery before launch", "admin", createProject, project(map[string]any{"launchDate": "2027-01-01T00:00:00Z", "deliveryDate": "2026-01-01T00:00:00Z"}), "input.deliveryDate"},
		{"protection days", "admin", createProject, project(map[string]any{"protectionDays": 0}), "input.protectionDays"},
		{"hold minutes", "admin", createProject, project(map[string]any{"holdMinutes": 24*60 + 1}), "input.holdMinutes"},
		{"discount cap", "admin", createProject, project(map[string]any{"agentDiscountCapBp": -1}), "input.agentDiscountCapBp"},
		{"amenity distance", "admin", createProject, project(map[string]any{"amenities": []any{map[string]any{"kind": "MALL", "name": "万象城", "distanceMeters": -5}}}), "input.amenities.0.distanceMeters"},
		{"amenity name", "admin", createProject, project(map[string]any{"amenities": []any{map[string]any{"kind": "MALL", "name": "", "distanceMeters": 5}}}), "input.amenities.0.name"},
		{"status", "admin", createProject, project(map[string]any{"status": "ON_FIRE"}), "status"},
		{"update: blank city", "MA", updateProject, pA(map[string]any{"city": ""}), "input.city"},
		{"update: delivery before the stored launch", "MA", updateProject, pA(map[string]any{"launchDate": "2027-01-01T00:00:00Z"}), "input.launchDate"},
		{"building without floors", "MA", createBuilding, map[string]any{"in": map[string]any{"projectId": w.ID("pA"), "name": "9栋", "floors": 0}}, "input.floors"},
		{"building name taken", "MA", createBuilding, map[string]any{"in": map[string]any{"projectId": w.ID("pA"), "name": "1栋", "floors": 9}}, "input.name"},
		{"units per floor", "MA", createBuilding, map[string]any{"in": map[string]any{"projectId": w.ID("pA"), "name": "9栋", "floors": 9, "unitsPerFloor": 51}}, "input.unitsPerFloor"},
		{"building loses floors with units", "MA", updateBuilding, map[string]any{"in": map[string]any{"id": w.ID("bA"), "floors": 1}}, "input.floors"},
		{"building renamed blank", "MA", updateBuilding, map[string]any{"in": map[string]any{"id": w.ID("bA"), "name": "\u200b"}}, "input.name"},
		{"units above the top floor", "MA", createUnits, grid(map[string]any{"toFloor": 3}, stack(nil)), "input.toFloor"},
		{"units: range upside down", "MA", createUnits, grid(map[string]any{"fromFloor": 2, "toFloor": 1}, stack(nil)), "input.toFloor"},
		{"units: floor 0", "MA", createUnits, grid(map[string]any{"fromFloor": 0}, stack(nil)), "input.fromFloor"},
		{"units: no stacks", "MA", createUnits, map[string]any{"in": map[string]any{"buildingId": w.ID("bA"), "fromFloor": 1, "toFloor": 2, "stacks": []any{}}}, "input.stacks"},
		{"units: skipped floor outside", "MA", createUnits, grid(map[string]any{"skipFloors": []int{1, 7}}, stack(map[string]any{"suffix": "09"})), "input.skipFloors.1"},
		{"units: suffix", "MA", createUnits, grid(nil, stack(map[string]any{"suffix": "0 1"})), "input.stacks.0.suffix"},
		{"units: same suffix twice", "MA", createUnits, grid(nil, stack(map[string]any{"suffix": "09"}), stack(map[string]any{"suffix": "09"})), "input.stacks.1.suffix"},
		{"units: net above gross", "MA", createUnits, grid(nil, stack(map[string]any{"suffix": "09", "netArea": 130})), "input.stacks.0.netArea"},
		{"units: bedrooms", "MA", createUnits, grid(nil, stack(map[string]any{"suffix": "09", "bedrooms": 11})), "input.stacks.0.bedrooms"},
		{"units: no area", "MA", createUnits, grid(nil, stack(map[string]any{"suffix": "09", "grossArea": 0})), "input.stacks.0.grossArea"},
		{"units: zero price", "MA", createUnits, grid(nil, stack(map[string]any{"suffix": "09", "basePrice": "0"})), "input.stacks.0.basePrice"},
		{"units: a decrement below zero", "MA", createUnits, grid(nil, stack(map[string]any{"suffix": "09", "basePrice": "100", "floorIncrement": "-100"})), "input.stacks.0.floorIncrement"},
		{"units: number taken", "MA", createUnits, grid(nil, stack(map[string]any{"suffix": "09"}), stack(map[string]any{"suffix": "03"})), "input.stacks.1.suffix"},
		{"unit: number taken", "MA", updateUnit, map[string]any{"in": map[string]any{"id": w.ID("uFree"), "number": "201"}}, "input.number"},
		{"unit: number with a space", "MA", updateUnit, map[string]any{"in": map[string]any{"id": w.ID("uFree"), "number": "20 2"}}, "input.number"},
		{"unit: above the top floor", "MA", updateUnit, map[string]any{"in": map[string]any{"id": w.ID("uFree"), "floor": 3}}, "input.floor"},
		{"unit: net above gross", "MA", updateUnit, map[string]any{"in": map[string]any{"id": w.ID("uFree"), "netArea": 100.5}}, "input.netArea"},
		{"unit: orientation", "MA", updateUnit, map[string]any{"in": map[string]any{"id": w.ID("uFree"), "orientation": "UP"}}, "orientation"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := catalogueCounts(t, env)
			res := w.Caller(t, tc.actor).Query(t, tc.query, tc.vars)
			e := res.OnlyError(t)
			if e.Code() != "BAD_USER_INPUT" || (tc.field != "" && e.Field() != tc.field) {
				t.Fatalf("got %s; want BAD_USER_INPUT on %s", res.Body, tc.field)
			}
			if catalogueCounts(t, env) != before {
				t.Fatal("a refused request changed the catalogue")
			}
		})
	}
}

// TestCatalogueUpdateUnit: a manager corrects an available unit's
// description; a reserved unit keeps the one it was sold with (CONFLICT),
// and the unit's price, status and publication are not this mutation's.
func TestCatalogueUpdateUnit(t *testing.T) {
	env := apitest.New(t)
	w := env.World(t)
	ma := w.Caller(t, "MA")
	var out struct {
		UpdateUnit struct {
			Unit struct {
				Number, Orientation, ListPrice, Status string
				Floor, Bathrooms                       int
				NetArea                                float64
			}
		}
	}
	ma.Query(t, `mutation($id: ID!) { updateUnit(input: {id: $id, number: "202A", bathrooms: 1, netArea: 79.5, orientation: EAST}) {
		unit { number floor bathrooms netArea orientation listPrice status } } }`, map[string]any{"id": w.ID("uFree")}).Decode(t, &out)
	u := out.UpdateUnit.Unit
	if u.Number != "202A" || u.Floor != 2 || u.Bathrooms != 1 || u.NetArea != 79.5 || u.Orientation != "EAST" || u.Status != "AVAILABLE" {
		t.Fatalf("updated: %+v", u)
	}
	before := catalogueCounts(t, env)
	res := ma.Query(t, `mutation($id: ID!) { updateUnit(input: {id: $id, bedrooms: 5}) { unit { id } } }`, map[string]any{"id": w.ID("uR")})
	if e := res.OnlyError(t); e.Code() != "CONFLICT" {
		t.Fatalf("a reserved unit: %s", res.Body)
	}
	if catalogueCounts(t, env) != before {
		t.Fatal("a refused updateUnit changed the unit")
	}
	for _, field := range []string{"listPrice: \"1\"", "status: AVAILABLE", "published: true"} {
		res := ma.Query(t, `mutation($id: ID!) { updateUnit(input: {id: $id, `+field+`}) { unit { id } } }`, map[string]any{"id": w.ID("uFree")})
		if e := res.OnlyError(t); e.Code() != "BAD_USER_INPUT" {
			t.Fatalf("updateUnit took %s: %s", field, res.Body)
		}
	}
}

// TestCatalogueImport2000Rows imports 2,000 units in one file, and a file
// of 2,000 rows with bad rows in the middle imports nothing and names each
// by line and column. A dry run of a good file reports and imports nothing.
func TestCatalogueImport2000Rows(t *testing.T) {
	env := apitest.New(t)
	p := env.Project(t, "大盘", 0, 0, 0)
	for _, name := range []string{"1栋", "2栋", "3栋", "4栋", "5栋"} {
		env.Query(t, `mutation($p: ID!, $n: String!) { createBuilding(input: {projectId: $p, name: $n, floors: 40}) { building { id } } }`,
			map[string]any{"p": p.ID, "n": name}).Decode(t, &struct{}{})
	}
	_, mv := env.User(t, user.RoleMANAGER, "manager.big", p)
	m := env.As(t, mv)
	good := unitsCSV([]string{"1栋", "2栋", "3栋", "4栋", "5栋"}, 40, 10) // 2,000 rows
	count := func() int { return env.Client.Unit.Query().Where(unit.ProjectID(p.ID)).CountX(apitest.System()) }

	// One bad row in the middle (line 1001: a floor above the building's
	// 40): nothing is imported, and the report names it.
	lines := strings.Split(strings.TrimSuffix(good, "\n"), "\n")
	one := slices.Clone(lines)
	f41 := strings.Split(one[1000], ",")
	f41[1] = "41"
	one[1000] = strings.Join(f41, ",")
	var a1 importAnswer
	importCSV(t, m, p.ID, strings.Join(one, "\n")+"\n", false, importSelection).Decode(t, &a1)
	if e := a1.ImportUnits.Errors; len(e) != 1 || e[0].Line != 1001 || e[0].Column == nil || *e[0].Column != "floor" ||
		a1.ImportUnits.Imported != 0 || a1.ImportUnits.Rows != 2000 || count() != 0 {
		t.Fatalf("one bad row: %+v, %d units", a1.ImportUnits, count())
	}

	// Bad rows in the middle: line 1001 has its net area above the gross,
	// line 1002 an unknown building and a bad orientation, line 1003 repeats
	// line 1000's number, line 1004 has a field too few.
	fields := func(i int) []string { return strings.Split(lines[i-1], ",") }
	f := fields(1001)
	f[7] = "200"
	lines[1000] = strings.Join(f, ",")
	f = fields(1002)
	f[0], f[8] = "9栋", "UP"
	lines[1001] = strings.Join(f, ",")
	f = fields(1003)
	f[0], f[2] = fields(1000)[0], fields(1000)[2]
	lines[1002] = strings.Join(f, ",")
	lines[1003] = strings.Join(fields(1004)[:10], ",")
	bad := strings.Join(lines, "\n") + "\n"

	for _, dry := range []bool{true, false} {
		var a importAnswer
		importCSV(t, m, p.ID, bad, dry, importSelection).Decode(t, &a)
		var got []string
		for _, e := range a.ImportUnits.Errors {
			col := "-"
			if e.Column != nil {
				col = *e.Column
			}
			got = append(got, fmt.Sprintf("%d:%s", e.Line, col))
		}
		want := "1001:net_area 1002:building 1002:orientation 1003:number 1004:-"
		if strings.Join(got, " ") != want || a.ImportUnits.Imported != 0 || a.ImportUnits.Rows != 2000 || a.ImportUnits.DryRun != dry {
			t.Fatalf("dry run %v: errors %s, want %s; %+v", dry, strings.Join(got, " "), want, a.ImportUnits)
		}
		if n := count(); n != 0 {
			t.Fatalf("a file with bad rows imported %d units", n)
		}
	}

	var a importAnswer
	importCSV(t, m, p.ID, good, true, importSelection).Decode(t, &a)
	if a.ImportUnits.Imported != 0 || a.ImportUnits.Rows != 2000 || len(a.ImportUnits.Errors) != 0 || count() != 0 {
		t.Fatalf("dry run: %+v, %d units", a.ImportUnits, count())
	}
	start := time.Now()
	importCSV(t, m, p.ID, good, false, importSelection).Decode(t, &a)
	t.Logf("importUnits of 2,000 units on %s took %v", env.DB.Dialect, time.Since(start))
	if a.ImportUnits.Imported != 2000 || len(a.ImportUnits.Errors) != 0 || count() != 2000 {
		t.Fatalf("import: %+v, %d units", a.ImportUnits, count())
	}
	// Again: every number now exists; nothing more is imported.
	importCSV(t, m, p.ID, good, false, importSelection).Decode(t, &a)
	if a.ImportUnits.Imported != 0 || len(a.ImportUnits.Errors) != 1000+1 || count() != 2000 {
		t.Fatalf("second import: %d errors, %d imported, %d units", len(a.ImportUnits.Errors), a.ImportUnits.Imported, count())
	}
}

// TestCatalogueImportFileProblems: a header without a column, an unknown
// column, an empty file, Chinese headers and a UTF-8 mark.
func TestCatalogueImportFileProblems(t *testing.T) {
	env := apitest.New(t)
	w := env.World(t)
	ma := w.Caller(t, "MA")
	for _, tc := range []struct{ name, file, want string }{
		{"empty", "", "1:-"},
		{"header only", catalogueHeader, "2:-"},
		{"missing column", strings.Replace(catalogueHeader, ",list_price", "", 1) + "1栋,1,1x,3,2,2,100,80,SOUTH,BARE\n", "1:list_price"},
		{"unknown column", strings.Replace(catalogueHeader, "decoration", "colour", 1) + "1栋,1,1x,3,2,2,100,80,SOUTH,BARE,1\n", "1:colour"},
		{"column twice", strings.Replace(catalogueHeader, "decoration", "floor", 1) + "1栋,1,1x,3,2,2,100,80,SOUTH,1,1\n", "1:floor"},
		{"bad quote", catalogueHeader + "1栋,1,\"1x,3,2,2,100,80,SOUTH,BARE,1\n", "2:-"},
		{"bad cells", catalogueHeader + "1栋,one,1x,3,2,2,big,80,SOUTH,BARE,1e6\n", "2:floor 2:gross_area 2:list_price"},
		{"not UTF-8", catalogueHeader + "1\xb6\xb0,1,1x,3,2,2,100,80,SOUTH,BARE,1\n", "2:building"},
		{"Chinese, with Excel's mark", "\xef\xbb\xbf楼栋,楼层,房号,室,厅,卫,建筑面积,套内面积,朝向,总价\n1栋,2,2C,3,2,2,100,80,东南,3000000\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := catalogueCounts(t, env)
			var a importAnswer
			importCSV(t, ma, w.ID("pA"), tc.file, false, importSelection).Decode(t, &a)
			var got []string
			for _, e := range a.ImportUnits.Errors {
				col := "-"
				if e.Column != nil {
					col = *e.Column
				}
				got = append(got, fmt.Sprintf("%d:%s", e.Line, col))
			}
			if strings.Join(got, " ") != tc.want {
				t.Fatalf("errors %v, want %s", a.ImportUnits.Errors, tc.want)
			}
			if changed := catalogueCounts(t, env) != before; changed != (tc.want == "") {
				t.Fatalf("changed=%v with errors %q", changed, tc.want)
			}
		})
	}
	u := env.Client.Unit.Query().Where(unit.Number("2C")).OnlyX(apitest.System())
	if u.Orientation != unit.OrientationSOUTHEAST || u.Decoration != unit.DecorationBARE || u.Floor != 2 || u.ListPrice != 300000000 {
		t.Fatalf("imported from Chinese headers: %+v", u)
	}
}
