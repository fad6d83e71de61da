package main

import (
	"context"
	"fmt"

	"estatecrm/account"
	"estatecrm/auth"
	"estatecrm/database"
)

// portalKeys makes n portals' API keys, each with the largest request
// limit and query-cost budget the model allows, and returns their secrets.
// The portals' requests are spread over them, one key per client: a
// listing page costs 61 points, and one key's budget restores 100,000 a
// second, so a single portal asking as fast as it can would be refused
// (RATE_LIMITED) at about 1,600 pages a second, which answers from the
// answer cache exceed; the benchmark measures the stack, not a key's budget.
// New keys on every run: a key's secret is shown once.
func portalKeys(ctx context.Context, dbURL string, n int) ([]string, error) {
	db, err := database.Open(ctx, dbURL, database.Pool{MaxOpen: 1, MaxIdle: 1})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	sys := auth.SystemContext(ctx)
	limit, budget, restore := 100_000, 1_000_000, 100_000
	keys := make([]string, n)
	for i := range keys {
		k, err := account.CreateAPIKey(sys, db.Client(), account.NewAPIKey{Name: fmt.Sprintf("bench portal %d", i+1),
			RateLimitPerMinute: &limit, CostBudget: &budget, CostRestoreRate: &restore})
		if err != nil {
			return nil, fmt.Errorf("a portal's key: %w", err)
		}
		keys[i] = k.Key
	}
	return keys, nil
}
