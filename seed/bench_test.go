package seed_test

import (
	"context"
	"testing"
	"time"

	"estatecrm/auth"
	"estatecrm/database/dbtest"
	"estatecrm/seed"
)

// BenchmarkRun times one seed.Run on an empty database (SQLite, or
// PostgreSQL with TEST_DATABASE_URL); opening and migrating the database is
// left out of the time.
func BenchmarkRun(b *testing.B) {
	ctx := auth.SystemContext(context.Background())
	now := time.Date(2026, 3, 14, 6, 30, 0, 0, time.UTC)
	for b.Loop() {
		b.StopTimer()
		client := dbtest.Open(b).Client()
		b.StartTimer()
		if _, err := seed.Run(ctx, client, now); err != nil {
			b.Fatalf("Run: %v", err)
		}
	}
}
