package database

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"testing"
	"time"
)

// BenchmarkPostgresListingStatement runs a listing-shaped statement (a
// project's available units in a price range, cheapest first, 21 rows) on
// one connection, with statements prepared once per connection and, for
// comparison in the same run, unprepared as lib/pq alone sends them (parse
// and plan every time). Each iteration runs both, so load from elsewhere
// hits both alike; ns/op is their sum.
//
//	TEST_DATABASE_URL=postgres://… go test ./database -run '^$' -bench ListingStatement
func BenchmarkPostgresListingStatement(b *testing.B) {
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		b.Skip("PostgreSQL only: TEST_DATABASE_URL is not set")
	}
	ctx := context.Background()
	_, dsn, _, err := parse(base)
	if err != nil {
		b.Fatal(err)
	}
	pools := map[string]*sql.DB{}
	for name, max := range map[string]int{"unprepared": 0, "prepared": maxCachedStatements} {
		db, err := openPostgresCaching(dsn, max)
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		db.SetMaxOpenConns(1)
		pools[name] = db
	}
	setup := pools["unprepared"]
	table := fmt.Sprintf("bench_units_%d", time.Now().UnixNano())
	for _, q := range []string{
		`CREATE TABLE ` + table + ` (id text PRIMARY KEY, project_id text NOT NULL, number text NOT NULL, floor int NOT NULL,
			bedrooms int NOT NULL, gross_area double precision NOT NULL, list_price bigint NOT NULL, status text NOT NULL)`,
		`CREATE INDEX ON ` + table + ` (project_id, status, list_price)`,
		`INSERT INTO ` + table + ` SELECT 'UN' || lpad(i::text, 24, '0'), 'PJ' || (i % 20), (i % 100)::text, i % 30, 1 + i % 4,
			60 + i % 90, 2000000 + (i * 7919) % 2000000, CASE WHEN i % 3 = 0 THEN 'SOLD' ELSE 'AVAILABLE' END FROM generate_series(1, 2000) i`,
		`ANALYZE ` + table,
	} {
		if _, err := setup.ExecContext(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	defer setup.ExecContext(ctx, `DROP TABLE `+table)
	query := `SELECT id, number, floor, bedrooms, gross_area, list_price, project_id FROM ` + table + `
		WHERE project_id = $1 AND list_price >= $2 AND list_price <= $3 AND status = $4 ORDER BY list_price, id LIMIT 21`
	run := func(b *testing.B, db *sql.DB) {
		rows, err := db.QueryContext(ctx, query, "PJ7", 2500000, 3500000, "AVAILABLE")
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for rows.Next() {
			n++
		}
		if err := rows.Err(); err != nil || n == 0 {
			b.Fatalf("%d rows, %v", n, err)
		}
		rows.Close()
	}
	run(b, pools["unprepared"])
	run(b, pools["prepared"]) // prepares, outside the timing
	var spent [2]time.Duration
	b.ResetTimer()
	for range b.N {
		for i, name := range []string{"unprepared", "prepared"} {
			start := time.Now()
			run(b, pools[name])
			spent[i] += time.Since(start)
		}
	}
	b.ReportMetric(float64(spent[0].Microseconds())/float64(b.N), "unprepared-µs/op")
	b.ReportMetric(float64(spent[1].Microseconds())/float64(b.N), "prepared-µs/op")
}
