package api_test

import (
	"fmt"
	"testing"

	"estatecrm/account"
	"estatecrm/api/apitest"
)

// The query-cost budget's cells of the authorization matrix (issue 12, part
// 4): only an admin reads or sets a key's budget; a portal cannot raise its
// own.

// costBudgetOf is kC's budget as stored.
func costBudgetOf(t *testing.T, w *apitest.World, _ string) string {
	k := w.Env.Client.APIKey.GetX(apitest.System(), w.ID("kC"))
	return fmt.Sprintf("%d/%d", k.CostBudget, k.CostRestoreRate)
}

func resetCostBudget(t *testing.T, w *apitest.World, _ string) {
	w.Env.Client.APIKey.UpdateOneID(w.ID("kC")).SetCostBudget(1000).SetCostRestoreRate(50).ExecX(apitest.System())
}

func authzCostRows() []authzRow {
	kC := func(w *apitest.World, _ string) map[string]any { return map[string]any{"id": w.ID("kC")} }
	kPortal := func(w *apitest.World, _ string) map[string]any { return map[string]any{"id": w.ID("kPortal")} }
	adminOnly := func(admin string) map[string]string {
		return authzEvery("!FORBIDDEN db=unchanged", map[string]string{"admin": admin, "anonymous": "!UNAUTHENTICATED db=unchanged"})
	}
	return []authzRow{
		authzQuery("Query.apiKeys", "apiKeys with their budgets",
			`{ apiKeys(first: 10, orderBy: {field: NAME}) { edges { node { id costBudget costRestoreRate } } } }`, nil,
			authzEvery("[]", map[string]string{
				"admin":     "[kC{costBudget=1000,costRestoreRate=50} kPortal{costBudget=1000000,costRestoreRate=100000}]",
				"anonymous": "!UNAUTHENTICATED",
			})),
		authzMutation("Mutation.updateAPIKey", "updateAPIKey sets a budget",
			`mutation($id: ID!) { updateAPIKey(input: {id: $id, costBudget: 500, costRestoreRate: 5}) { apiKey { id costBudget costRestoreRate } } }`,
			kC, resetCostBudget, costBudgetOf,
			adminOnly("{apiKey=kC{costBudget=500,costRestoreRate=5}} db=changed")),
		authzMutation("Mutation.updateAPIKey", "updateAPIKey with a budget out of range",
			`mutation($id: ID!) { updateAPIKey(input: {id: $id, costBudget: 0}) { apiKey { id } } }`,
			kC, resetCostBudget, costBudgetOf,
			adminOnly("!BAD_USER_INPUT db=unchanged")),
		authzMutation("Mutation.updateAPIKey", "updateAPIKey: a portal raising its own budget",
			`mutation($id: ID!) { updateAPIKey(input: {id: $id, costBudget: 1000000, costRestoreRate: 1}) { apiKey { id } } }`,
			kPortal,
			func(t *testing.T, w *apitest.World, _ string) {
				w.Env.Client.APIKey.UpdateOneID(w.ID("kPortal")).SetCostBudget(1_000_000).SetCostRestoreRate(100_000).ExecX(apitest.System())
			},
			func(t *testing.T, w *apitest.World, _ string) string {
				k := w.Env.Client.APIKey.GetX(apitest.System(), w.ID("kPortal"))
				return fmt.Sprintf("%d/%d", k.CostBudget, k.CostRestoreRate)
			},
			adminOnly("{apiKey=kPortal} db=changed")),
		authzMutation("Mutation.createAPIKey", "createAPIKey with a budget",
			`mutation { createAPIKey(input: {name: "budgeted", costBudget: 2000, costRestoreRate: 100}) { apiKey { costBudget costRestoreRate } } }`,
			func(*apitest.World, string) map[string]any { return nil }, nil,
			func(t *testing.T, w *apitest.World, _ string) string {
				return fmt.Sprint(w.Env.Client.APIKey.Query().CountX(apitest.System()))
			},
			adminOnly("{apiKey={costBudget=2000,costRestoreRate=100}} db=changed")),
	}
}

func TestAuthzMatrixCost(t *testing.T) {
	env := apitest.New(t)
	w := env.World(t)
	k, err := account.CreateAPIKey(apitest.System(), env.Client, account.NewAPIKey{Name: "costed"})
	if err != nil {
		t.Fatal(err)
	}
	w.Add("kC", k.APIKey.ID)
	authzRun(t, w, authzCostRows())
}
