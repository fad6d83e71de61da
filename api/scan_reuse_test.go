package api_test

import (
	"fmt"
	"testing"
	"time"

	"entgo.io/ent/dialect/sql"

	"estatecrm/api/apitest"
	"estatecrm/ent"
	"estatecrm/ent/unit"
)

// Every row of a query is scanned into the targets of its first
// (ent/template/scan.tmpl): each unit of a page still has its own values,
// a NULL after a value (a hold's expiry) is still nil, and a value the
// query added by name (kept in the node) is the row's own.
func TestRowsScannedIntoReusedTargetsKeepTheirValues(t *testing.T) {
	env := apitest.New(t)
	ctx := apitest.System()
	p := env.Project(t, "扫描", 1, 3, 4)
	units, err := env.Client.Unit.Query().Where(unit.ProjectID(p.ID)).Order(ent.Asc(unit.FieldID)).All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// In the future: a hold whose expiry has passed reads as released,
	// with no expiry (the Unit interceptor). A fixed date here read so
	// from 2026-12-01 08:00 on.
	expiry := time.Now().UTC().Add(time.Hour).Truncate(time.Minute)
	for i, u := range units {
		if i%2 == 0 { // every other unit has an expiry; the rest NULL
			if err := env.Client.Unit.UpdateOne(u).SetHoldExpiresAt(expiry.Add(time.Duration(i) * time.Minute)).Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	got, err := env.Client.Unit.Query().Where(unit.ProjectID(p.ID)).Order(ent.Asc(unit.FieldID)).
		Modify(func(s *sql.Selector) { s.AppendSelectAs(s.C(unit.FieldNumber), "number_again") }).All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(units) || len(got) < 4 {
		t.Fatalf("%d units, want %d", len(got), len(units))
	}
	seen := map[string]bool{}
	for i, u := range got {
		if u.ID != units[i].ID || seen[u.Number] {
			t.Errorf("unit %d: %s %q, want %s with a number of its own", i, u.ID, u.Number, units[i].ID)
		}
		seen[u.Number] = true
		again, err := u.Value("number_again")
		if err != nil || fmt.Sprint(again) != u.Number {
			t.Errorf("unit %d: number_again %v (%v), want %q", i, again, err, u.Number)
		}
		switch want := expiry.Add(time.Duration(i) * time.Minute); {
		case i%2 == 0 && (u.HoldExpiresAt == nil || !u.HoldExpiresAt.Equal(want)):
			t.Errorf("unit %d: hold expires %v, want %v", i, u.HoldExpiresAt, want)
		case i%2 == 1 && u.HoldExpiresAt != nil:
			t.Errorf("unit %d: hold expires %v, want none (NULL after a value)", i, *u.HoldExpiresAt)
		}
	}
}
