package api_test

import (
	"fmt"
	"testing"

	"estatecrm/api/apitest"
	"estatecrm/ent/schema/pulid"
)

// BenchmarkImportUnits600 imports a project's 600 units (3 buildings × 25
// floors × 8) from one CSV file through the API, as an admin setting a
// project up would: upload, parse, checks, inserts and commit. With
// TEST_DATABASE_URL it runs on PostgreSQL.
func BenchmarkImportUnits600(b *testing.B) {
	env := apitest.New(b)
	admin := env.As(b, apitest.Admin)
	names := []string{"1幢", "2幢", "3幢"}
	file := unitsCSV(names, 25, 8)
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		var p struct {
			CreateProject struct{ Project struct{ ID string } }
		}
		env.Query(b, `mutation($n: String!) { createProject(input: {name: $n, city: "杭州"}) { project { id } } }`,
			map[string]any{"n": fmt.Sprintf("P%d", i)}).Decode(b, &p)
		for _, n := range names {
			env.Query(b, `mutation($p: ID!, $n: String!) { createBuilding(input: {projectId: $p, name: $n, floors: 25}) { building { id } } }`,
				map[string]any{"p": p.CreateProject.Project.ID, "n": n}).Decode(b, &struct{}{})
		}
		b.StartTimer()
		var a importAnswer
		importCSV(b, admin, pulid.ID(p.CreateProject.Project.ID), file, false, importSelection).Decode(b, &a)
		if a.ImportUnits.Imported != 600 {
			b.Fatalf("imported %+v", a.ImportUnits)
		}
	}
}
