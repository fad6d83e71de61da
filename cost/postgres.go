package cost

import (
	"context"
	"database/sql"
	"time"
)

// Postgres is a Store in PostgreSQL's cost_buckets table (ent schema
// CostBucket), shared by every process on the database. One statement reads
// the bucket, adds what was restored since it was last written, takes the
// points if they are there and writes it back, under the row's lock: two
// processes taking at once are serialised by the row, never both granted
// the same points. The takes of one key that overlap in this process go in
// one statement (see coalescer).
type Postgres struct {
	db *sql.DB
	c  coalescer
}

// NewPostgres returns the store over db, a PostgreSQL database migrated
// with the cost_buckets table.
func NewPostgres(db *sql.DB) *Postgres {
	s := &Postgres{db: db}
	s.c.run = s.statement
	return s
}

// takeSQL: $1 key, $2 max, $3 restore rate a second, $4 n, $5 now, $6 a
// refund (≥ 0) given back first, whether or not n is then taken (see
// Refunder). A new bucket starts full. Every expression of SET reads the row
// as it was, so `refilled` is repeated rather than named. The clock is the
// caller's (injectable), and a caller whose clock is behind the row's
// restores nothing and does not move the row back.
const takeSQL = `INSERT INTO cost_buckets AS b (id, tokens, updated_at, granted)
VALUES ($1, CASE WHEN $4::float8 <= $2::float8 THEN LEAST($2::float8, $2::float8 - $4::float8) ELSE $2::float8 END, $5, $4::float8 <= $2::float8)
ON CONFLICT (id) DO UPDATE SET
  tokens = CASE
    WHEN LEAST($2::float8, b.tokens + $6::float8 + $3::float8 * GREATEST(0, EXTRACT(EPOCH FROM ($5::timestamptz - b.updated_at))::float8)) >= $4::float8
    THEN LEAST($2::float8, LEAST($2::float8, b.tokens + $6::float8 + $3::float8 * GREATEST(0, EXTRACT(EPOCH FROM ($5::timestamptz - b.updated_at))::float8)) - $4::float8)
    ELSE LEAST($2::float8, b.tokens + $6::float8 + $3::float8 * GREATEST(0, EXTRACT(EPOCH FROM ($5::timestamptz - b.updated_at))::float8))
  END,
  updated_at = GREATEST(b.updated_at, $5::timestamptz),
  granted = LEAST($2::float8, b.tokens + $6::float8 + $3::float8 * GREATEST(0, EXTRACT(EPOCH FROM ($5::timestamptz - b.updated_at))::float8)) >= $4::float8
RETURNING tokens, granted`

// Take implements Store.
func (s *Postgres) Take(ctx context.Context, key string, b Budget, n int, now time.Time) (float64, bool, error) {
	return s.TakeRefunding(ctx, key, b, 0, n, now)
}

// TakeRefunding implements Refunder in the same one statement as Take.
func (s *Postgres) TakeRefunding(ctx context.Context, key string, b Budget, refund float64, n int, now time.Time) (float64, bool, error) {
	return s.c.take(ctx, key, b, refund, n, now)
}

// statement is one take in one statement.
func (s *Postgres) statement(ctx context.Context, key string, b Budget, refund float64, n int, now time.Time) (float64, bool, error) {
	var left float64
	var ok bool
	err := s.db.QueryRowContext(ctx, takeSQL, key, b.Max, b.RestoreRate, n, now.UTC(), max(refund, 0)).Scan(&left, &ok)
	return left, ok, err
}
