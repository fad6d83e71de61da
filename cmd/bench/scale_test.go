package main

import (
	"context"
	"slices"
	"testing"
	"time"

	"estatecrm/auth"
	"estatecrm/database"
	"estatecrm/database/dbtest"
	"estatecrm/ent/schema/pulid"
	"estatecrm/seed"
)

// seeded returns a PostgreSQL database with the demo data, as the bench
// makes it before adding the scale data.
func seeded(t *testing.T) *database.DB {
	t.Helper()
	if !dbtest.OnPostgres() {
		t.Skip("the scale data is copied into PostgreSQL only (COPY); set TEST_DATABASE_URL")
	}
	db := dbtest.Open(t)
	if _, err := seed.Run(auth.SystemContext(context.Background()), database.NewClient(db.Driver), time.Now()); err != nil {
		t.Fatal(err)
	}
	return db
}

// indexes lists the definitions of the indexes and constraints of the public schema.
func indexes(t *testing.T, db *database.DB) []string {
	t.Helper()
	var defs []string
	if err := column(context.Background(), db.SQL, &defs, `
SELECT pg_get_indexdef(indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'
UNION ALL SELECT conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace = 'public'::regnamespace
ORDER BY 1`); err != nil {
		t.Fatal(err)
	}
	return defs
}

// TestScaleData loads -scale 1 as the bench does and checks the rows obey
// the model: valid ids, phones, a unit's status agreeing with its deal and
// the deal's customer, a customer's dates following from their visits; and
// that the indexes and constraints dropped for the copy came back as the
// migrations made them.
func TestScaleData(t *testing.T) {
	db := seeded(t)
	ctx := context.Background()
	before := indexes(t, db)
	count := func(q string, args ...any) int {
		t.Helper()
		var n int
		if err := db.SQL.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	customers, units, visits := count(`SELECT count(*) FROM customers`), count(`SELECT count(*) FROM units`), count(`SELECT count(*) FROM visits`)
	st, err := addScale(ctx, db.SQL, 1, "", true)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(st)
	if got := count(`SELECT count(*) FROM customers`) - customers; got != scaleCustomers || int64(got) != st.rows["customers"] {
		t.Errorf("customers added: %d, want %d", got, scaleCustomers)
	}
	if got := count(`SELECT count(*) FROM units`) - units; got != scaleUnits {
		t.Errorf("units added: %d, want %d", got, scaleUnits)
	}
	if got := count(`SELECT count(*) FROM visits`) - visits; got < 8*scaleCustomers || got > 11*scaleCustomers {
		t.Errorf("visits added: %d, want about 10 a customer", got)
	}
	if after := indexes(t, db); !slices.Equal(before, after) {
		t.Errorf("indexes and constraints after the load differ:\nbefore %q\nafter  %q", before, after)
	}

	// Every id is a prefixed ULID of its table's type.
	for table, prefix := range map[string]string{"customers": "CU", "visits": "VS", "units": "UN", "deals": "DL", "buildings": "BD", "projects": "PJ", "users": "US"} {
		var ids []string
		if err := column(ctx, db.SQL, &ids, `SELECT id FROM `+table); err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			if p := pulid.ID(id); !p.Valid() || p.Prefix() != prefix {
				t.Fatalf("%s: id %q is not a %s… prefixed ULID", table, id, prefix)
			}
		}
	}
	checks := []struct{ what, query string }{
		{"phones not E.164 mainland mobiles, or last4 not their last digits",
			`SELECT count(*) FROM customers WHERE phone !~ '^\+861[3-9][0-9]{9}$' OR phone_last4 <> right(phone, 4)`},
		{"units reserved or contracted without a deal of that stage, or with one of another project",
			`SELECT count(*) FROM units u WHERE u.status IN ('RESERVED', 'CONTRACTED') AND NOT EXISTS
			  (SELECT 1 FROM deals d WHERE d.unit_id = u.id AND d.stage = u.status AND d.project_id = u.project_id)`},
		{"live deals on a unit not in their stage, or of a customer in another stage or project",
			`SELECT count(*) FROM deals d JOIN units u ON u.id = d.unit_id JOIN customers c ON c.id = d.customer_id
			 WHERE d.stage <> 'CANCELLED' AND ((u.status <> d.stage AND NOT (u.status = 'DELIVERED' AND d.stage = 'CONTRACTED')) OR c.project_id <> d.project_id OR (c.stage <> d.stage AND c.stage <> 'OWNER'))`},
		{"held units without a live hold",
			`SELECT count(*) FROM units WHERE status = 'HELD' AND (hold_expires_at IS NULL OR held_by_id IS NULL OR held_for_id IS NULL)`},
		{"customers whose last contact is not their last visit",
			`SELECT count(*) FROM customers c WHERE c.last_contact_at IS DISTINCT FROM (SELECT max(occurred_at) FROM visits v WHERE v.customer_id = c.id) AND c.id LIKE 'CU%' AND c.phone ~ '^\+86(134|145|147|149|175|184|196|197)'`},
		{"scale customers whose protection is not their last contact + 30 days",
			`SELECT count(*) FROM customers WHERE phone ~ '^\+86(134|145|147|149|175|184|196|197)' AND protected_until <> coalesce(last_contact_at, created_at) + interval '30 days'`},
		{"visits of another project or agent than their customer's, or in the future",
			`SELECT count(*) FROM visits v JOIN customers c ON c.id = v.customer_id WHERE v.occurred_at > now() OR (v.project_id <> c.project_id) OR (v.agent_id <> c.owner_id AND c.phone ~ '^\+86(134|145|147|149|175|184|196|197)')`},
		{"owners who are not agents of the customer's project",
			`SELECT count(*) FROM customers c WHERE c.owner_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM user_projects up WHERE up.user_id = c.owner_id AND up.project_id = c.project_id)`},
		{"demo agents without protected scale customers in their project",
			`SELECT count(*) FROM users u WHERE u.role = 'AGENT' AND u.login LIKE 'agent.%' AND NOT EXISTS (SELECT 1 FROM customers c WHERE c.owner_id = u.id
			   AND c.protected_until > now() AND c.phone ~ '^\+86(134|145|147|149|175|184|196|197)')`},
	}
	for _, c := range checks {
		if n := count(c.query); n != 0 {
			t.Errorf("%d %s", n, c.what)
		}
	}
	if n := count(`SELECT count(*) FROM units WHERE status IN ('RESERVED', 'CONTRACTED') AND project_id IN (SELECT project_id FROM buildings WHERE name = '20幢')`); n < scaleUnits/50 {
		t.Errorf("only %d units of the new project are sold: the deals are missing", n)
	}
}
