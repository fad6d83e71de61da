package api_test

// The catalogue's cells of the authorization matrix (issue 11): who may
// create and change projects, buildings and units, per actor of
// apitest.World, each cell with what the database did.

import (
	"strconv"
	"strings"
	"testing"

	"estatecrm/api/apitest"
	"estatecrm/ent/building"
	"estatecrm/ent/project"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/unit"
)

// importCSV posts importUnits with content as the file, as caller.
func importCSV(t testing.TB, caller *apitest.Caller, projectID pulid.ID, content string, dryRun bool, selection string) *apitest.Response {
	t.Helper()
	ops := map[string]any{
		"query":     `mutation($input: ImportUnitsInput!) { importUnits(input: $input) { ` + selection + ` } }`,
		"variables": map[string]any{"input": map[string]any{"projectId": projectID, "file": nil, "dryRun": dryRun}},
	}
	body, ct := multipartBody(t, ops, map[string][]string{"0": {"variables.input.file"}},
		[]filePart{{key: "0", filename: "units.csv", contentType: "text/csv", content: strings.NewReader(content)}})
	return caller.Post(t, ct, body)
}

// catalogueHeader is the header row of an import.
const catalogueHeader = "building,floor,number,bedrooms,living_rooms,bathrooms,gross_area,net_area,orientation,decoration,list_price\n"

// actorSuffix gives every actor its own unit numbers, so that one actor's
// units never clash with another's.
func actorSuffix(actor string) string {
	for i, a := range apitest.Actors {
		if a == actor {
			return strconv.Itoa(50 + i)
		}
	}
	panic("no actor " + actor)
}

// catalogueCells: an admin and pA's manager change pA's catalogue; pB's
// manager and agent do not see pA (NOT_FOUND); pA's agents, pA's
// homeowners and the portal see it but may not change it (FORBIDDEN).
func catalogueCells(changed string, hidden map[string]string) map[string]string {
	cells := authzEvery("!FORBIDDEN db=unchanged", map[string]string{
		"admin": changed, "MA": changed,
		"MB": "!NOT_FOUND db=unchanged", "B1": "!NOT_FOUND db=unchanged",
		"anonymous": "!UNAUTHENTICATED db=unchanged",
	})
	for a, c := range hidden {
		cells[a] = c
	}
	return cells
}

func authzCatalogueRows() []authzRow {
	sys := apitest.System()
	unitsOf := func(label string) func(t *testing.T, w *apitest.World, _ string) string {
		return func(t *testing.T, w *apitest.World, _ string) string {
			return strconv.Itoa(w.Env.Client.Unit.Query().Where(unit.BuildingID(w.ID(label))).CountX(sys))
		}
	}
	return []authzRow{
		authzMutation("Mutation.createProject", "createProject",
			`mutation($n: String!) { createProject(input: {name: $n, city: "杭州", protectionDays: 20}) { project { name protectionDays published } } }`,
			func(_ *apitest.World, actor string) map[string]any { return map[string]any{"n": "P-" + actor} }, nil,
			func(t *testing.T, w *apitest.World, actor string) string {
				return strconv.Itoa(w.Env.Client.Project.Query().Where(project.Name("P-" + actor)).CountX(sys))
			},
			// Only an admin creates a project, not even a manager.
			authzEvery("!FORBIDDEN db=unchanged", map[string]string{
				"admin":     "{project={name=P-admin,protectionDays=20,published=false}} db=changed",
				"anonymous": "!UNAUTHENTICATED db=unchanged",
			})),
		authzMutation("Mutation.updateProject", "updateProject of pA",
			`mutation($id: ID!, $d: String!) { updateProject(input: {id: $id, district: $d, holdMinutes: 45}) { project { id district holdMinutes } } }`,
			func(w *apitest.World, actor string) map[string]any {
				return map[string]any{"id": w.ID("pA"), "d": "D-" + actor}
			},
			func(t *testing.T, w *apitest.World, _ string) {
				w.Env.Client.Project.UpdateOneID(w.ID("pA")).SetDistrict("").SetHoldMinutes(30).ExecX(sys)
			},
			func(t *testing.T, w *apitest.World, _ string) string {
				p := w.Env.Client.Project.GetX(sys, w.ID("pA"))
				return p.District + " " + strconv.Itoa(*p.HoldMinutes)
			},
			catalogueCells("{project=pA{district=D-?,holdMinutes=45}} db=changed", map[string]string{
				"admin": "{project=pA{district=D-admin,holdMinutes=45}} db=changed",
				"MA":    "{project=pA{district=D-MA,holdMinutes=45}} db=changed",
			})),
		authzMutation("Mutation.createBuilding", "createBuilding in pA",
			`mutation($p: ID!, $n: String!) { createBuilding(input: {projectId: $p, name: $n, floors: 30}) { building { name floors project { id } } } }`,
			func(w *apitest.World, actor string) map[string]any {
				return map[string]any{"p": w.ID("pA"), "n": "B-" + actor}
			}, nil,
			func(t *testing.T, w *apitest.World, actor string) string {
				return strconv.Itoa(w.Env.Client.Building.Query().Where(building.Name("B-" + actor)).CountX(sys))
			},
			catalogueCells("", map[string]string{
				"admin": "{building={floors=30,name=B-admin,project=pA}} db=changed",
				"MA":    "{building={floors=30,name=B-MA,project=pA}} db=changed",
			})),
		authzMutation("Mutation.updateBuilding", "updateBuilding bA",
			`mutation($id: ID!, $n: String!) { updateBuilding(input: {id: $id, name: $n, floors: 40}) { building { id name floors } } }`,
			func(w *apitest.World, actor string) map[string]any {
				return map[string]any{"id": w.ID("bA"), "n": "bA-" + actor}
			},
			func(t *testing.T, w *apitest.World, _ string) {
				w.Env.Client.Building.UpdateOneID(w.ID("bA")).SetName("1栋").SetFloors(2).ExecX(sys)
			},
			func(t *testing.T, w *apitest.World, _ string) string {
				b := w.Env.Client.Building.GetX(sys, w.ID("bA"))
				return b.Name + " " + strconv.Itoa(b.Floors)
			},
			catalogueCells("", map[string]string{
				"admin": "{building=bA{floors=40,name=bA-admin}} db=changed",
				"MA":    "{building=bA{floors=40,name=bA-MA}} db=changed",
			})),
		authzMutation("Mutation.createUnits", "createUnits in bA",
			`mutation($b: ID!, $s: String!) { createUnits(input: {buildingId: $b, fromFloor: 1, toFloor: 2, stacks: [
				{suffix: $s, bedrooms: 2, livingRooms: 1, bathrooms: 1, grossArea: 89.5, netArea: 70.1, orientation: SOUTH,
				 basePrice: "2000000", floorIncrement: "15000.50"}]}) { units { number floor listPrice status published } } }`,
			func(w *apitest.World, actor string) map[string]any {
				return map[string]any{"b": w.ID("bA"), "s": actorSuffix(actor)}
			}, nil, unitsOf("bA"),
			catalogueCells("", map[string]string{
				"admin": "{units=[{floor=1,listPrice=2000000.00,number=150,published=false,status=AVAILABLE} {floor=2,listPrice=2015000.50,number=250,published=false,status=AVAILABLE}]} db=changed",
				"MA":    "{units=[{floor=1,listPrice=2000000.00,number=151,published=false,status=AVAILABLE} {floor=2,listPrice=2015000.50,number=251,published=false,status=AVAILABLE}]} db=changed",
			})),
		{field: "Mutation.importUnits", name: "importUnits into pA", run: func(t *testing.T, w *apitest.World, actor string) string {
			return catalogueImportCell(t, w, actor, false)
		}, want: catalogueImportCells("{dryRun=false,errors=[],imported=2,rows=2} db=changed")},
		{field: "Mutation.importUnits", name: "importUnits into pA, dry run", run: func(t *testing.T, w *apitest.World, actor string) string {
			return catalogueImportCell(t, w, actor, true)
		}, want: catalogueImportCells("{dryRun=true,errors=[],imported=0,rows=2} db=unchanged")},
		authzMutation("Mutation.updateUnit", "updateUnit uFree",
			`mutation($id: ID!) { updateUnit(input: {id: $id, bedrooms: 4, decoration: FURNISHED}) { unit { id bedrooms decoration } } }`,
			authzIDVar("uFree"),
			func(t *testing.T, w *apitest.World, _ string) {
				w.Env.Client.Unit.UpdateOneID(w.ID("uFree")).SetBedrooms(3).SetDecoration(unit.DecorationBARE).ExecX(sys)
			},
			func(t *testing.T, w *apitest.World, _ string) string {
				u := w.Env.Client.Unit.GetX(sys, w.ID("uFree"))
				return strconv.Itoa(u.Bedrooms) + " " + string(u.Decoration)
			},
			// A homeowner sees only their own unit: uFree is not found.
			catalogueCells("{unit=uFree{bedrooms=4,decoration=FURNISHED}} db=changed", map[string]string{
				"H1": "!NOT_FOUND db=unchanged", "H2": "!NOT_FOUND db=unchanged",
			})),
	}
}

// catalogueImportCell imports two units into pA's building as actor and
// says whether bA gained units.
func catalogueImportCell(t *testing.T, w *apitest.World, actor string, dryRun bool) string {
	sys := apitest.System()
	count := func() int { return w.Env.Client.Unit.Query().Where(unit.BuildingID(w.ID("bA"))).CountX(sys) }
	bA := w.Env.Client.Building.GetX(sys, w.ID("bA"))
	// Numbers of their own: not those createUnits made, nor the dry run's.
	s := strconv.Itoa(80 + indexOf(actor))
	if dryRun {
		s = strconv.Itoa(70 + indexOf(actor))
	}
	file := catalogueHeader +
		bA.Name + ",1,1" + s + ",3,2,2,120.5,98.3,南,精装,3500000\n" +
		bA.Name + ",2,2" + s + ",3,2,2,120.5,98.3,SOUTH,,3520000.50\n"
	before := count()
	out := authzRender(w, importCSV(t, w.Caller(t, actor), w.ID("pA"), file, dryRun, "dryRun rows imported errors { line column message }"))
	if count() == before {
		return out + " db=unchanged"
	}
	return out + " db=changed"
}

func indexOf(actor string) int {
	for i, a := range apitest.Actors {
		if a == actor {
			return i
		}
	}
	return -1
}

func catalogueImportCells(ok string) map[string]string {
	return catalogueCells(ok, map[string]string{
		// Uploads are for homeowners and staff: a portal's is refused
		// before it is read.
		"portal": "!FORBIDDEN db=unchanged",
	})
}

func TestAuthzMatrixCatalogue(t *testing.T) {
	env := apitest.New(t)
	authzRun(t, env.World(t), authzCatalogueRows())
}
