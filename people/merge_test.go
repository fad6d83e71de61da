package people

import (
	"testing"
	"time"

	"estatecrm/ent"
	"estatecrm/ent/schema/pulid"
)

// The attribution rule of a merge (SPEC.md §3.1): a valid (protected)
// registration beats a lapsed one; of two valid or two lapsed ones, the
// earlier registration wins; the same owner needs no rule.
func TestDecideOwner(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	a, b := pulid.ID("USa"), pulid.ID("USb")
	rec := func(id string, owner *pulid.ID, since time.Time, until time.Duration) *ent.Customer {
		u := now.Add(until)
		return &ent.Customer{ID: pulid.ID(id), OwnerID: owner, OwnedSince: &since, ProtectedUntil: &u}
	}
	early, late := now.Add(-10*24*time.Hour), now.Add(-2*24*time.Hour)
	for _, tc := range []struct {
		name        string
		keep, merge *ent.Customer
		winner      string
		rule        OwnerRule
	}{
		{"same owner", rec("CUk", &a, late, time.Hour), rec("CUm", &a, early, -time.Hour), "CUk", SameOwner},
		{"only the merged record is protected", rec("CUk", &a, early, -time.Hour), rec("CUm", &b, late, time.Hour), "CUm", OnlyProtected},
		{"only the kept record is protected", rec("CUk", &a, late, time.Hour), rec("CUm", &b, early, -time.Hour), "CUk", OnlyProtected},
		{"both protected: the earlier registration", rec("CUk", &a, late, time.Hour), rec("CUm", &b, early, time.Hour), "CUm", EarliestProtected},
		{"neither protected: the earlier registration", rec("CUk", &a, early, -time.Hour), rec("CUm", &b, late, -time.Minute), "CUk", EarliestRegistration},
		{"an owner beats none", rec("CUk", nil, early, time.Hour), rec("CUm", &b, late, time.Hour), "CUm", OnlyProtected},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, rule, why := decideOwner(tc.keep, tc.merge, now)
			if string(w.ID) != tc.winner || rule != tc.rule || why == "" {
				t.Errorf("decideOwner = %s %s %q, want %s %s", w.ID, rule, why, tc.winner, tc.rule)
			}
		})
	}
}
