package tracing_test

import (
	"strings"
	"testing"

	"estatecrm/tracing"
)

func TestStatementMasksLiteralsKeepsIdentifiers(t *testing.T) {
	for _, tc := range []struct {
		query, text, name string
	}{
		{
			`SELECT "units"."id", "units"."number" FROM "units" WHERE "units"."project_id" = $1 AND "units"."status" = 'AVAILABLE' LIMIT 21`,
			`SELECT "units"."id", "units"."number" FROM "units" WHERE "units"."project_id" = $1 AND "units"."status" = ? LIMIT ?`,
			"SELECT units",
		},
		{ // a phone written into the text, quotes doubled inside
			`SELECT * FROM customers WHERE phone = '+8613800138000' OR name = 'O''Brien'`,
			`SELECT * FROM customers WHERE phone = ? OR name = ?`,
			"SELECT customers",
		},
		{ // numbers alone, not the digits of identifiers or placeholders
			"SELECT t1.a2, 13800138000, 3.25e2 FROM `visits` AS t1 WHERE t1.x = ? AND y = $12",
			"SELECT t1.a2, ?, ? FROM `visits` AS t1 WHERE t1.x = ? AND y = $12",
			"SELECT visits",
		},
		{ // the table of the top level, not of a subquery in the columns
			`SELECT "c"."id", (SELECT json_agg(v) FROM "visits" v WHERE v.customer_id = "c"."id") FROM "customers" AS "c"`,
			`SELECT "c"."id", (SELECT json_agg(v) FROM "visits" v WHERE v.customer_id = "c"."id") FROM "customers" AS "c"`,
			"SELECT customers",
		},
		{`INSERT INTO "units" ("id", "number") VALUES ($1, $2) RETURNING "id"`, `INSERT INTO "units" ("id", "number") VALUES ($1, $2) RETURNING "id"`, "INSERT units"},
		{`UPDATE "units" SET "status" = $1 WHERE "id" = $2`, `UPDATE "units" SET "status" = $1 WHERE "id" = $2`, "UPDATE units"},
		{`DELETE FROM "listing_changes" WHERE at < E'2026\'-01'`, `DELETE FROM "listing_changes" WHERE at < ?`, "DELETE listing_changes"},
		{`SELECT pg_notify($1, $2)`, `SELECT pg_notify($1, $2)`, "SELECT"},
		{`WITH base AS (SELECT 1) UPDATE x SET y = 2`, `WITH base AS (SELECT ?) UPDATE x SET y = ?`, "WITH"},
		{"COMMIT", "COMMIT", "COMMIT"},
		{"SELECT `units`.`id` FROM (SELECT `id` FROM `units` WHERE x UNION ALL SELECT `id` FROM `units`) AS `units` WHERE y", "SELECT `units`.`id` FROM (SELECT `id` FROM `units` WHERE x UNION ALL SELECT `id` FROM `units`) AS `units` WHERE y", "SELECT units"},
		{"SELECT a FROM (SELECT 1) WHERE b", "SELECT a FROM (SELECT ?) WHERE b", "SELECT"},
	} {
		s := tracing.Statement(tc.query)
		if s.Text != tc.text {
			t.Errorf("Statement(%q).Text\n got %q\nwant %q", tc.query, s.Text, tc.text)
		}
		if s.Name() != tc.name {
			t.Errorf("Statement(%q).Name() = %q, want %q", tc.query, s.Name(), tc.name)
		}
	}
}

func TestStatementTextIsBounded(t *testing.T) {
	q := "SELECT * FROM units WHERE id IN ($1" + strings.Repeat(", $2", 5000) + ")"
	if s := tracing.Statement(q); len(s.Text) > 4100 || s.Name() != "SELECT units" {
		t.Fatalf("Statement of %d bytes: %d bytes, name %q", len(q), len(s.Text), s.Name())
	}
}
