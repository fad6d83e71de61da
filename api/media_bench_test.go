package api_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"estatecrm/api/apitest"
	"estatecrm/auth"
	"estatecrm/ent"
	entmedia "estatecrm/ent/media"
	"estatecrm/ent/unit"
	"estatecrm/media"
)

// benchmarkMediaGet fetches a published item's file anonymously through the
// handler, with If-None-Match when revalidate is set (a cache's 304).
func benchmarkMediaGet(b *testing.B, revalidate bool) {
	env := apitest.New(b)
	w := env.World(b)
	m := addMediaItem(b, env, w.ID("pA"), nil, nil, entmedia.KindPHOTO, "bench")
	url := media.URL(m)
	want := http.StatusOK
	if revalidate {
		want = http.StatusNotModified
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, url, nil)
		if revalidate {
			req.Header.Set("If-None-Match", `"`+m.Sha256+`"`)
		}
		rec := httptest.NewRecorder()
		env.Handler.ServeHTTP(rec, req)
		if rec.Code != want {
			b.Fatalf("status %d", rec.Code)
		}
		_, _ = io.Copy(io.Discard, rec.Body)
	}
}

// BenchmarkMediaGet serves a small published file to anyone.
func BenchmarkMediaGet(b *testing.B) { benchmarkMediaGet(b, false) }

// BenchmarkMediaNotModified answers a cache's revalidation with 304.
func BenchmarkMediaNotModified(b *testing.B) { benchmarkMediaGet(b, true) }

// BenchmarkMediaOfUnits gives a page of 20 units their media (the listing's
// call), as a portal, with 3 items on the project, 3 on each building and 3
// on the layout.
func BenchmarkMediaOfUnits(b *testing.B) {
	env := apitest.New(b)
	p := env.Project(b, "bench", 2, 10, 2)
	sys := apitest.System()
	layout := "3-2-2"
	for _, bd := range env.Client.Building.Query().AllX(sys) {
		for range 3 {
			addMediaItem(b, env, p.ID, &bd.ID, nil, entmedia.KindPHOTO, "b")
		}
	}
	for range 3 {
		addMediaItem(b, env, p.ID, nil, nil, entmedia.KindPHOTO, "p")
		addMediaItem(b, env, p.ID, nil, &layout, entmedia.KindFLOOR_PLAN, "l")
	}
	units := env.Client.Unit.Query().Order(ent.Asc(unit.FieldID)).Limit(20).AllX(sys)
	portal := auth.NewContext(context.Background(), &auth.Viewer{Role: auth.RolePortal})
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		got, err := media.OfUnits(portal, env.Client, units)
		if err != nil || len(got[units[0].ID]) != 9 {
			b.Fatalf("%v: %d items", err, len(got[units[0].ID]))
		}
	}
}
