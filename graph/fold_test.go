package graph

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"entgo.io/ent/privacy"

	"estatecrm/auth"
	"estatecrm/ent/schema/pulid"
)

// decodeVisits reads what the folded statement makes of visit rows (an
// array of each visit's values, in the order of its columns) as
// decodeVisitsJSON, with encoding/json, does, and refuses (so that
// encoding/json decodes it) what it does not know.
func TestDecodeVisitsAsEncodingJSON(t *testing.T) {
	every := []string{"id", "created_at", "updated_at", "customer_id", "agent_id", "project_id", "kind", "occurred_at",
		"duration_minutes", "notes", "grade_after", "next_follow_up_at", "next_follow_up_action"}
	for _, c := range []struct {
		cols []string
		raw  string
	}{
		{[]string{"kind"}, `[]`},
		{[]string{"kind"}, ` [ ] `},
		{nil, `[[]]`},
		{[]string{"kind", "occurred_at", "notes"}, `[["PHONE_CALL", "2026-11-30T01:48:41.123456+00:00", "call 1"],["REVISIT", "2026-11-29T01:48:41+00:00", ""]]`},
		// The separators PostgreSQL writes, every column, nulls and values.
		{every, "[[\"VI01\", \"2026-11-29T10:00:00+00:00\", \"2026-11-29T10:00:00.5+08:00\", \"CU01\", \"US01\", \"PJ01\", \"IN_PERSON\", \"2026-11-29T09:59:59Z\", 45, \"\", \"A\", \"2026-12-01T02:00:00+00:00\", \"回电\"], \n [\"VI02\", \"2026-11-29T10:00:00+00:00\", \"2026-11-29T10:00:00+00:00\", \"CU01\", \"US01\", \"PJ01\", \"REVISIT\", \"2026-11-29T09:59:59Z\", null, \"x\", null, null, \"\"]]"},
		// Escapes are unquoted by encoding/json; brackets in strings.
		{[]string{"notes"}, `[["a \"quoted\" \\ line\nnext \u00e9 \ud83d\ude00 \/ [x]"]]`},
		{[]string{"notes", "duration_minutes"}, `[["看房 沙盘 样板间", -3]]`},
	} {
		got, plain := decodeVisits([]byte(c.raw), c.cols)
		if !plain {
			t.Errorf("%s: not read", c.raw)
			continue
		}
		want, err := decodeVisitsJSON([]byte(c.raw), c.cols)
		if err != nil {
			t.Fatalf("%s: %v", c.raw, err)
		}
		if !reflect.DeepEqual(got, want) {
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			t.Errorf("%s:\nread   %s\nwanted %s", c.raw, g, w)
		}
	}
	kind := []string{"kind"}
	for _, c := range []struct {
		cols []string
		raw  string
	}{
		{kind, ``}, {kind, `[`}, {kind, `[[]`}, {kind, `[["REVISIT"]`}, {kind, `[["REVISIT"]]x`}, {kind, `{}`},
		{kind, `[{"kind":"REVISIT"}]`},                  // objects are not what the statement makes
		{kind, `[["REVISIT", "x"]]`},                    // more values than columns
		{[]string{"kind", "notes"}, `[["REVISIT"]]`},    // fewer
		{[]string{"touchpoints"}, `[[["SAND_TABLE"]]]`}, // not a column folded
		{[]string{"id"}, `[[1]]`}, {[]string{"duration_minutes"}, `[[1.5]]`}, {[]string{"duration_minutes"}, `[["1"]]`},
		{[]string{"occurred_at"}, `[["yesterday"]]`}, {[]string{"occurred_at"}, `[[null]]`}, {[]string{"notes"}, `[["a` + "\x01" + `"]]`},
	} {
		if _, plain := decodeVisits([]byte(c.raw), c.cols); plain {
			t.Errorf("%q read; want it left to encoding/json", c.raw)
		}
	}
}

// decodeVisitsJSON, the way for what decodeVisits does not know, reads
// each visit's values as its columns.
func TestDecodeVisitsJSONReadsValuesAsColumns(t *testing.T) {
	got, err := decodeVisitsJSON([]byte(`[["REVISIT", "a \u0001 note", null]]`), []string{"kind", "notes", "grade_after"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Kind != "REVISIT" || got[0].Notes != "a \x01 note" || got[0].GradeAfter != nil {
		t.Fatalf("read %+v", got)
	}
	if _, err := decodeVisitsJSON([]byte(`[["REVISIT"]]`), []string{"kind", "notes"}); err == nil {
		t.Fatal("a visit of fewer values than columns read")
	}
}

// The rendered subquery is kept per viewer and selection: two viewers who
// may see different visits, or two selections, never share one.
func TestFoldKeySeparatesViewersAndSelections(t *testing.T) {
	agent := &auth.Viewer{Role: auth.RoleAgent, UserID: "US1", ProjectIDs: []pulid.ID{"PJ1"}}
	with := func(f func(v *auth.Viewer)) *auth.Viewer {
		v := *agent
		v.ProjectIDs = append([]pulid.ID(nil), agent.ProjectIDs...)
		f(&v)
		return &v
	}
	viewers := map[string]*auth.Viewer{
		"agent":                agent,
		"manager, same ids":    with(func(v *auth.Viewer) { v.Role = auth.RoleManager }),
		"admin":                with(func(v *auth.Viewer) { v.Role = auth.RoleAdmin }),
		"another agent":        with(func(v *auth.Viewer) { v.UserID = "US2" }),
		"other projects":       with(func(v *auth.Viewer) { v.ProjectIDs = []pulid.ID{"PJ2"} }),
		"more projects":        with(func(v *auth.Viewer) { v.ProjectIDs = append(v.ProjectIDs, "PJ2") }),
		"no projects":          with(func(v *auth.Viewer) { v.ProjectIDs = nil }),
		"a homeowner's record": with(func(v *auth.Viewer) { v.Role, v.CustomerID = auth.RoleOwner, "CU1" }),
		"a portal":             with(func(v *auth.Viewer) { v.Role, v.UserID, v.APIKeyID = auth.RolePortal, "", "AK1" }),
		"a portal's projects": with(func(v *auth.Viewer) {
			v.Role, v.UserID, v.APIKeyID, v.PortalProjects = auth.RolePortal, "", "AK1", []pulid.ID{"PJ1"}
		}),
		"ids shifted into roles": with(func(v *auth.Viewer) { v.UserID, v.ProjectIDs = "US1\x00PJ1", nil }),
	}
	type selection struct {
		first      int
		order, dir string
		cols       []string
		out        int
	}
	base := selection{5, "occurred_at", "DESC", []string{"occurred_at", "kind", "id", "customer_id"}, 2}
	selections := map[string]selection{
		"base":          base,
		"first":         {1, base.order, base.dir, base.cols, base.out},
		"order":         {5, "id", base.dir, base.cols, base.out},
		"direction":     {5, base.order, "ASC", base.cols, base.out},
		"columns":       {5, base.order, base.dir, []string{"occurred_at", "notes", "id", "customer_id"}, 2},
		"more columns":  {5, base.order, base.dir, []string{"occurred_at", "kind", "notes", "id", "customer_id"}, 3},
		"columns split": {5, base.order, base.dir, []string{"occurred_at\x00kind", "id", "customer_id"}, 1},
		// The same columns read, the id answered too.
		"id answered": {5, base.order, base.dir, []string{"occurred_at", "kind", "id", "customer_id"}, 3},
	}
	seen := map[string]string{}
	for vn, v := range viewers {
		for sn, s := range selections {
			key, ok := foldKey(auth.NewContext(context.Background(), v), s.first, s.order, s.dir, s.cols, s.out)
			if !ok {
				t.Fatalf("%s, %s: not cacheable", vn, sn)
			}
			name := vn + ", " + sn
			if other, dup := seen[key]; dup {
				t.Errorf("%s and %s share a key", name, other)
			}
			seen[key] = name
		}
	}
	// A context that decides privacy itself (a bypass) or has no viewer is
	// never cached.
	bypass := privacy.DecisionContext(auth.NewContext(context.Background(), agent), privacy.Allow)
	for name, ctx := range map[string]context.Context{"bypass": bypass, "no viewer": context.Background()} {
		if _, ok := foldKey(ctx, base.first, base.order, base.dir, base.cols, base.out); ok {
			t.Errorf("%s: cacheable", name)
		}
	}
}

// PostgreSQL's JSON times are read into the time UnmarshalText makes (the
// same instant, zone and offset), and what is not one of them is left to it.
func TestReadPGTimeAsUnmarshalText(t *testing.T) {
	for _, s := range []string{
		"2026-11-30T01:48:41.123456+00:00", "2026-11-30T01:48:41+00:00", "2026-11-29T09:59:59Z",
		"2026-11-29T10:00:00.5+08:00", "2026-11-29T10:00:00.123456789-03:30", "2026-01-01T00:00:00.000001+14:00",
		"1999-12-31T23:59:59.9-00:00", "2026-02-28T12:00:00+05:45", "2028-02-29T00:00:00Z", "2000-02-29T00:00:00Z",
		"2026-04-30T00:00:00Z",
	} {
		got, ok := readPGTime([]byte(s))
		var want time.Time
		if err := want.UnmarshalText([]byte(s)); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: read %v (%v), want %v", s, got, ok, want)
		}
	}
	for _, s := range []string{
		"2026-11-30T01:48:41", "2026-11-30 01:48:41+00:00", "2026-11-30T01:48:41.+00:00", "2026-11-30T01:48:41.1234567890+00:00",
		"2026-11-31T01:48:41Z", "2026-02-29T01:48:41Z", "1900-02-29T01:48:41Z", "2026-04-31T01:48:41Z", "2026-13-01T01:48:41Z", "2026-11-30T24:00:00Z", "2026-11-30T01:60:41Z",
		"2026-11-30T01:48:60Z", "2026-11-30T01:48:41+0000", "2026-11-30T01:48:41+24:00", "2026-11-30T01:48:41Zx", "+2026-11-30T01:48:41Z", "x",
	} {
		if got, ok := readPGTime([]byte(s)); ok {
			t.Errorf("%s: read %v; want it left to UnmarshalText", s, got)
		}
	}
}
