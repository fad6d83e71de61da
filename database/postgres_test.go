package database

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lib/pq"
)

// The server asks lib/pq for one round trip per statement and PostgreSQL
// for generic plans unless the URL already says what it wants; nothing else
// in the URL changes.
func TestPostgresDSNAddsItsSettingsUnlessSet(t *testing.T) {
	for _, tc := range []struct {
		url     string
		want    bool
		plans   string
		connect time.Duration
	}{
		{"postgres://estatecrm:p%40ss%2Fw0rd@db.internal:6432/estatecrm?sslmode=require&application_name=api", true, "force_generic_plan", 5 * time.Second},
		{"postgresql://estatecrm@127.0.0.1/estatecrm", true, "force_generic_plan", 5 * time.Second},
		{"postgres://estatecrm@127.0.0.1/estatecrm?binary_parameters=no&sslmode=disable", false, "force_generic_plan", 5 * time.Second},
		{"postgres://estatecrm@127.0.0.1/estatecrm?binary_parameters=yes&plan_cache_mode=auto&connect_timeout=30", true, "auto", 30 * time.Second},
	} {
		t.Run(tc.url, func(t *testing.T) {
			_, dsn, _, err := parse(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			got, err := pq.NewConfig(dsn)
			if err != nil {
				t.Fatalf("lib/pq refuses %q: %v", dsn, err)
			}
			if got.BinaryParameters != tc.want {
				t.Fatalf("binary_parameters = %v in %q, want %v", got.BinaryParameters, dsn, tc.want)
			}
			if mode := got.Runtime["plan_cache_mode"]; mode != tc.plans {
				t.Fatalf("plan_cache_mode = %q in %q, want %q", mode, dsn, tc.plans)
			}
			if got.ConnectTimeout != tc.connect {
				t.Fatalf("connect_timeout = %v in %q, want %v", got.ConnectTimeout, dsn, tc.connect)
			}
			orig, err := pq.NewConfig(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			orig.BinaryParameters = got.BinaryParameters
			if got.Host != orig.Host || got.Port != orig.Port || got.User != orig.User || got.Password != orig.Password ||
				got.Database != orig.Database || got.SSLMode != orig.SSLMode || got.ApplicationName != orig.ApplicationName {
				t.Fatalf("the URL changed beyond binary_parameters:\n%+v\n%+v", got, orig)
			}
		})
	}
}

// With binary_parameters on, lib/pq sends []byte in binary format; ent's
// JSON columns (json.RawMessage) must still reach jsonb as text, and real
// bytes must still arrive intact.
func TestPostgresBinaryParametersKeepJSONAndBytes(t *testing.T) {
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		t.Skip("PostgreSQL only: TEST_DATABASE_URL is not set")
	}
	ctx := context.Background()
	db, err := Open(ctx, base, Pool{MaxOpen: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Plain []byte goes in binary format: jsonb's binary form wants a
	// version byte, so this fails exactly when the option is in effect.
	var s string
	err = db.SQL.QueryRowContext(ctx, "SELECT $1::jsonb::text", []byte(`{"a":1}`)).Scan(&s)
	if err == nil || !strings.Contains(err.Error(), "jsonb version") {
		t.Fatalf("raw bytes as jsonb: want the binary-format refusal that shows binary_parameters is on, got %v (%q)", err, s)
	}
	doc := json.RawMessage(`{"touchpoints":["SAND_TABLE","沙盘"]}`)
	bin := []byte{0, 1, 0xfe, 0xff, '\\', 'x'}
	var gotDoc string
	var gotBin []byte
	if err := db.SQL.QueryRowContext(ctx, "SELECT $1::jsonb::text, $2::bytea", doc, bin).Scan(&gotDoc, &gotBin); err != nil {
		t.Fatal(err)
	}
	var a, b any
	if err := json.Unmarshal(doc, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(gotDoc), &b); err != nil || !jsonEqual(a, b) {
		t.Fatalf("jsonb round trip: sent %s, got %s (%v)", doc, gotDoc, err)
	}
	if string(gotBin) != string(bin) {
		t.Fatalf("bytea round trip: sent %x, got %x", bin, gotBin)
	}
	var null *string
	if err := db.SQL.QueryRowContext(ctx, "SELECT $1::jsonb::text", json.RawMessage(nil)).Scan(&null); err != nil || null != nil {
		t.Fatalf("a nil document: want NULL, got %v, %v", null, err)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
