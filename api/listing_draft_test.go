package api_test

import (
	"testing"

	"estatecrm/api/apitest"
)

// TestListingChangesNotForADraftsEdit: editing a project that is not
// published (and stays so) logs no line naming its units; portals never
// saw them. Found in review: every edit of a draft logged a REMOVE of each
// of its published units.
func TestListingChangesNotForADraftsEdit(t *testing.T) {
	env := apitest.New(t)
	p := env.Project(t, "江南·里", 1, 1, 2)
	sys := apitest.System()
	env.Client.Project.UpdateOne(p).SetPublished(false).ExecX(sys)
	lines := func() int {
		n := 0
		for _, l := range loggedLines(t, env) {
			if l.ProjectID == p.ID {
				n++
			}
		}
		return n
	}
	before := lines()
	env.Client.Project.UpdateOne(p).SetName("江南·里 二期").ExecX(sys)
	if after := lines(); after != before {
		t.Fatalf("an edit of an unpublished project logged %d lines naming its units", after-before)
	}
	// Publishing it logs them (UPSERT), as before.
	env.Client.Project.UpdateOne(p).SetPublished(true).ExecX(sys)
	if lines() == before {
		t.Fatal("publishing the project logged no line")
	}
}
