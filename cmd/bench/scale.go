package main

import (
	"context"
	"database/sql"
	"fmt"
)

// addScale adds scale×10,000 customers and scale×50,000 visits to the
// seeded data, in two INSERT … SELECT statements (PostgreSQL generates the
// rows; nothing goes row by row over the wire). They are spread over the
// demo agents and their first project: two in three owned and protected,
// one in three in the public pool; five visits each, an hour apart. Their
// phones start +86145, which the demo seed never makes, so that none
// collides with a demo customer; ids are prefixed like ent's (CU…, VS…),
// numbered, so the data is the same on every run.
func addScale(ctx context.Context, db *sql.DB, scale int, grid string) error {
	if scale <= 0 {
		return nil
	}
	customers, visits := scale*10_000, scale*50_000
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	const agents = `WITH a AS (
  SELECT row_number() OVER (ORDER BY u.id) - 1 AS k, u.id AS agent, min(up.project_id) FILTER (WHERE up.project_id <> $2) AS project
  FROM users u JOIN user_projects up ON up.user_id = u.id WHERE u.role = 'AGENT' AND u.active GROUP BY u.id),
n AS (SELECT count(*) AS n FROM a)`
	if _, err := tx.ExecContext(ctx, agents+`
INSERT INTO customers (id, created_at, updated_at, name, phone, phone_last4, source, project_id, owner_id, protected_until)
SELECT 'CU' || lpad(upper(to_hex(i)), 26, '0'), now() - interval '1 day' * (i % 300), now(), '客户' || i,
  '+86145' || lpad(i::text, 8, '0'), right(lpad(i::text, 8, '0'), 4), 'WALK_IN', a.project,
  CASE WHEN i % 3 = 0 THEN NULL ELSE a.agent END, CASE WHEN i % 3 = 0 THEN NULL ELSE now() + interval '30 days' END
FROM generate_series(1, $1::bigint) i JOIN a ON a.k = i % (SELECT n FROM n)`, customers, grid); err != nil {
		return fmt.Errorf("scale customers: %w", err)
	}
	if _, err := tx.ExecContext(ctx, agents+`
INSERT INTO visits (id, created_at, updated_at, kind, occurred_at, notes, customer_id, project_id, agent_id)
SELECT 'VS' || lpad(upper(to_hex(j)), 26, '0'), t, t, 'PHONE_CALL', t, '回访 ' || j,
  'CU' || lpad(upper(to_hex(i)), 26, '0'), a.project, a.agent
FROM generate_series(1, $1::bigint) j,
  LATERAL (SELECT (j - 1) % $3 + 1 AS i, now() - interval '1 hour' * (j / $3 + 1) AS t) x
  JOIN a ON a.k = x.i % (SELECT n FROM n)`, visits, grid, customers); err != nil {
		return fmt.Errorf("scale visits: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	// Fresh statistics, so that the planner knows the tables' new sizes.
	_, err = db.ExecContext(ctx, `ANALYZE customers; ANALYZE visits`)
	return err
}
