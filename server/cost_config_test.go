package main

import (
	"io"
	"testing"
)

// TestCostStoreConfig: budgets are shared through PostgreSQL when the server
// runs on it, kept in memory on the embedded database, and COST_STORE (or
// -cost-store) chooses otherwise where that makes sense.
func TestCostStoreConfig(t *testing.T) {
	pg := map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1/db", "JWT_SECRET": "0123456789abcdef0123456789abcdef"}
	with := func(m map[string]string, k, v string) map[string]string {
		out := map[string]string{k: v}
		for a, b := range m {
			out[a] = b
		}
		return out
	}
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string // "" is an error
	}{
		{"embedded: memory", nil, nil, CostMemory},
		{"PostgreSQL: postgres", nil, pg, CostPostgres},
		{"PostgreSQL, one process: memory", nil, with(pg, "COST_STORE", "memory"), CostMemory},
		{"the flag wins", []string{"-cost-store", "postgres"}, with(pg, "COST_STORE", "memory"), CostPostgres},
		{"postgres needs PostgreSQL", nil, map[string]string{"COST_STORE": "postgres"}, ""},
		{"unknown store", nil, with(pg, "COST_STORE", "redis"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := loadConfig(tc.args, env(tc.env), io.Discard)
			switch {
			case tc.want == "" && err == nil:
				t.Fatalf("accepted, store %q", cfg.CostStore)
			case tc.want != "" && (err != nil || cfg.CostStore != tc.want):
				t.Fatalf("store %q, %v; want %q", cfg.CostStore, err, tc.want)
			}
		})
	}
}
