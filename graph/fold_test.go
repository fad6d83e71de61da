package graph

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"entgo.io/ent/privacy"

	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/schema/pulid"
)

// decodeVisits reads what PostgreSQL's json_agg makes of visit rows as
// encoding/json does, and refuses (so that encoding/json decodes it) what
// it does not know.
func TestDecodeVisitsAsEncodingJSON(t *testing.T) {
	for _, raw := range []string{
		`[]`,
		` [ ] `,
		`[{}]`,
		`[{"id":"VI01","customer_id":"CU01","occurred_at":"2026-11-30T01:48:41.123456+00:00","kind":"PHONE_CALL","notes":"call 1"}]`,
		// json_agg's separator, every column, nulls and values.
		"[{\"id\":\"VI01\",\"created_at\":\"2026-11-29T10:00:00+00:00\",\"updated_at\":\"2026-11-29T10:00:00.5+08:00\",\"customer_id\":\"CU01\",\"agent_id\":\"US01\",\"project_id\":\"PJ01\",\"kind\":\"IN_PERSON\",\"occurred_at\":\"2026-11-29T09:59:59Z\",\"duration_minutes\":45,\"notes\":\"\",\"grade_after\":\"A\",\"next_follow_up_at\":\"2026-12-01T02:00:00+00:00\",\"next_follow_up_action\":\"回电\"}, \n {\"id\":\"VI02\",\"duration_minutes\":null,\"grade_after\":null,\"next_follow_up_at\":null,\"notes\":\"x\"}]",
		// Escapes are unquoted by encoding/json.
		`[{"notes":"a \"quoted\" \\ line\nnext \u00e9 \ud83d\ude00 \/"}]`,
		`[{"notes":"看房 沙盘 样板间","duration_minutes":-3}]`,
	} {
		got, plain := decodeVisits([]byte(raw))
		if !plain {
			t.Errorf("%s: not read", raw)
			continue
		}
		var want []*ent.Visit
		if err := json.Unmarshal([]byte(raw), &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			t.Errorf("%s:\nread   %s\nwanted %s", raw, g, w)
		}
	}
	for _, raw := range []string{
		``, `[`, `[{]`, `[{"id":"VI01"}`, `[{"id":"VI01"}]x`, `{}`,
		`[{"touchpoints":["SAND_TABLE"]}]`, // not a column folded
		`[{"id":1}]`, `[{"duration_minutes":1.5}]`, `[{"duration_minutes":"1"}]`,
		`[{"occurred_at":"yesterday"}]`, `[{"occurred_at":null}]`, `[{"notes":"a` + "\x01" + `"}]`,
	} {
		if _, plain := decodeVisits([]byte(raw)); plain {
			t.Errorf("%q read; want it left to encoding/json", raw)
		}
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
