package api_test

// The listings' cells of the authorization matrix (issue 12): listings and
// listingChanges for portals and staff (their projects), never homeowners;
// setAPIKeyProjects for admins only.

import (
	"testing"

	"estatecrm/account"
	"estatecrm/api/apitest"
	"estatecrm/ent/apikey"
)

func authzListingsRows() []authzRow {
	return []authzRow{
		authzQuery("Query.listings", "listings", `{ listings(first: 20) { totalCount edges { node { id standardStatus } } } }`, nil,
			authzEvery("#5[uFree{standardStatus=ACTIVE} uH1{standardStatus=CLOSED} uH2{standardStatus=CLOSED} uHeld{standardStatus=PENDING} uR{standardStatus=PENDING}]", map[string]string{
				// pB is not published: its staff see no listing.
				"MB": "#0[]", "B1": "#0[]",
				"H1": "!FORBIDDEN", "H2": "!FORBIDDEN",
				"anonymous": "!UNAUTHENTICATED",
			})),
		authzQuery("Query.listingChanges", "listingChanges", `{ listingChanges(first: 100) { edges { node { id: listingId } } } }`, nil,
			authzEvery("["+worldChangesA+" "+worldChangesB+"]", map[string]string{
				"MA": "[" + worldChangesA + "]", "A1": "[" + worldChangesA + "]", "A2": "[" + worldChangesA + "]",
				"MB": "[" + worldChangesB + "]", "B1": "[" + worldChangesB + "]",
				"H1": "!FORBIDDEN", "H2": "!FORBIDDEN",
				"anonymous": "!UNAUTHENTICATED",
			})),
		authzMutation("Mutation.setAPIKeyProjects", "setAPIKeyProjects",
			`mutation($id: ID!, $p: ID!) { setAPIKeyProjects(input: {id: $id, projectIds: [$p]}) { apiKey { name } } }`,
			func(w *apitest.World, _ string) map[string]any {
				return map[string]any{"id": w.ID("kL"), "p": w.ID("pA")}
			},
			func(t *testing.T, w *apitest.World, _ string) {
				w.Env.Client.APIKey.UpdateOneID(w.ID("kL")).ClearProjectIds().ExecX(apitest.System())
			},
			func(t *testing.T, w *apitest.World, _ string) string {
				k := w.Env.Client.APIKey.Query().Where(apikey.ID(w.ID("kL"))).OnlyX(apitest.System())
				return w.Label(string(firstOr(k.ProjectIds)))
			},
			authzEvery("!FORBIDDEN db=unchanged", map[string]string{
				"admin":     "{apiKey={name=limited}} db=changed",
				"anonymous": "!UNAUTHENTICATED db=unchanged",
			})),
	}
}

// The world's change log as each project's viewers read it: an UPSERT for
// each unit created published; for pA's the changes of status the world made
// (uH1, uH2, uR, uHeld) and uUnpub's REMOVE; for pB's the REMOVEs of the
// project's unpublishing.
const (
	worldChangesA = "uFree uH1 uH1 uH2 uH2 uHeld uHeld uR uR uUnpub uUnpub"
	worldChangesB = "uB1 uB1 uB2 uB2"
)

func firstOr[T any](s []T) T {
	var zero T
	if len(s) == 0 {
		return zero
	}
	return s[0]
}

func TestAuthzListings(t *testing.T) {
	env := apitest.New(t)
	w := env.World(t)
	k, err := account.CreateAPIKey(apitest.System(), env.Client, account.NewAPIKey{Name: "limited"})
	if err != nil {
		t.Fatal(err)
	}
	w.Add("kL", k.APIKey.ID)
	authzRun(t, w, authzListingsRows())
}
