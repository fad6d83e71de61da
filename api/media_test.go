package api_test

// Media (issue 12): the checks an upload goes through, the order of the
// items, their files served over real HTTP with ETag and Cache-Control,
// and what unpublishing a project does to them.

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/jpeg"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"estatecrm/api/apitest"
	"estatecrm/auth"
	"estatecrm/ent"
	entmedia "estatecrm/ent/media"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/unit"
	"estatecrm/media"
)

// pngChunk is one PNG chunk with its CRC.
func pngChunk(typ string, data []byte) []byte {
	var b bytes.Buffer
	_ = binary.Write(&b, binary.BigEndian, uint32(len(data)))
	b.WriteString(typ)
	b.Write(data)
	_ = binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	return b.Bytes()
}

// pngDeclaring is a PNG signature and an IHDR of w×h, nothing after.
func pngDeclaring(w, h uint32, bitDepth, colorType byte) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr, w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = bitDepth, colorType
	return append([]byte("\x89PNG\r\n\x1a\n"), pngChunk("IHDR", ihdr)...)
}

func mediaJPEG(t testing.TB, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, w, h)), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// mediaCount is how many items and media files there are.
func mediaCount(t testing.TB, env *apitest.Env) (rows, files int) {
	t.Helper()
	return env.Client.Media.Query().CountX(apitest.System()), mediaFiles(t, env)
}

func TestMediaUploadChecks(t *testing.T) {
	env := apitest.New(t)
	w := env.World(t)
	ma := w.Caller(t, "MA")
	pA := map[string]any{"projectId": w.ID("pA"), "kind": "PHOTO"}
	with := func(base map[string]any, kv ...any) map[string]any {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	big := append(apitest.PhotoBytes("big"), make([]byte, media.MaxBytes)...)
	for _, tc := range []struct {
		name   string
		caller *apitest.Caller
		input  map[string]any
		file   []byte
		code   string
		field  string
	}{
		{"text named .png", ma, pA, []byte("just some text, not an image at all"), "BAD_USER_INPUT", "input.file"},
		{"GIF", ma, pA, []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x00\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"), "BAD_USER_INPUT", "input.file"},
		{"WebP (no decode check here)", ma, pA, append([]byte("RIFF\x24\x00\x00\x00WEBPVP8L\x18\x00\x00\x00\x2f\x00\x00\x00"), make([]byte, 24)...), "BAD_USER_INPUT", "input.file"},
		{"PNG whose header does not decode", ma, pA, pngDeclaring(8, 8, 3, 9), "BAD_USER_INPUT", "input.file"},
		{"PNG declaring 100000×100000", ma, pA, pngDeclaring(100000, 100000, 8, 6), "BAD_USER_INPUT", "input.file"},
		{"over 10 MB", ma, pA, big, "BAD_USER_INPUT", "input.file"},
		{"caption over 200 characters", ma, with(pA, "caption", strings.Repeat("长", 201)), apitest.PhotoBytes("c"), "BAD_USER_INPUT", "input.caption"},
		{"bad layout", ma, with(pA, "layout", "3-2"), apitest.PhotoBytes("l"), "BAD_USER_INPUT", "input.layout"},
		{"building and project", ma, with(pA, "buildingId", w.ID("bA")), apitest.PhotoBytes("b"), "BAD_USER_INPUT", "input.buildingId"},
		{"no place", ma, map[string]any{"kind": "PHOTO"}, apitest.PhotoBytes("n"), "BAD_USER_INPUT", "input.projectId"},
		{"another project's building", ma, map[string]any{"buildingId": w.ID("bB"), "kind": "PHOTO"}, apitest.PhotoBytes("o"), "NOT_FOUND", "input.buildingId"},
		{"the wrong project's manager", w.Caller(t, "MB"), pA, apitest.PhotoBytes("m"), "NOT_FOUND", "input.projectId"},
		{"an agent of the project", w.Caller(t, "A1"), pA, apitest.PhotoBytes("a"), "FORBIDDEN", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := uploadMedia(t, tc.caller, tc.input, tc.file, "id")
			e := res.OnlyError(t)
			if e.Code() != tc.code || e.Field() != tc.field {
				t.Errorf("got %s %q, want %s %q: %s", e.Code(), e.Field(), tc.code, tc.field, res.Body)
			}
			if rows, files := mediaCount(t, env); rows != 0 || files != 0 {
				t.Errorf("a refused upload left %d rows and %d files", rows, files)
			}
		})
	}
	// A PDF is no image: refused like any other content.
	pdf := []byte("%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
	if e := uploadMedia(t, ma, with(pA, "kind", "FLOOR_PLAN"), pdf, "id").OnlyError(t); e.Code() != "BAD_USER_INPUT" || e.Field() != "input.file" {
		t.Errorf("a PDF floor plan: %s %q", e.Code(), e.Field())
	}
	// A real JPEG is taken, with its size read from it.
	var out struct {
		UploadMedia struct {
			Media struct {
				ContentType   string
				Width, Height int
				SizeBytes     int
				Layout        *string
			}
		}
	}
	uploadMedia(t, ma, with(pA, "kind", "FLOOR_PLAN", "layout", "03-2-2"), mediaJPEG(t, 40, 30), "contentType width height sizeBytes layout").Decode(t, &out)
	if m := out.UploadMedia.Media; m.ContentType != "image/jpeg" || m.Width != 40 || m.Height != 30 || m.Layout == nil || *m.Layout != "3-2-2" {
		t.Errorf("stored JPEG: %+v", m)
	}
	if rows, files := mediaCount(t, env); rows != 1 || files != 1 {
		t.Errorf("after one upload: %d rows, %d files", rows, files)
	}
}

// photoCaptions reads pA's own photos' captions in order, as actor.
func photoCaptions(t *testing.T, w *apitest.World, actor string) string {
	t.Helper()
	var out struct {
		Node struct {
			Media []struct {
				Caption  string
				Position int
			}
		}
	}
	w.Caller(t, actor).Query(t, `query($id: ID!) { node(id: $id) { ... on Project { media(kind: PHOTO) { caption position } } } }`,
		map[string]any{"id": w.ID("pA")}).Decode(t, &out)
	var s []string
	for i, m := range out.Node.Media {
		if m.Position != i {
			t.Errorf("item %d (%s) has position %d", i, m.Caption, m.Position)
		}
		s = append(s, m.Caption)
	}
	return strings.Join(s, " ")
}

func TestMediaOrder(t *testing.T) {
	env := apitest.New(t)
	w := env.World(t)
	ma := w.Caller(t, "MA")
	ids := map[string]pulid.ID{}
	add := func(caption, kind string, position *int) {
		t.Helper()
		in := map[string]any{"projectId": w.ID("pA"), "kind": kind, "caption": caption}
		if position != nil {
			in["position"] = *position
		}
		var out struct {
			UploadMedia struct{ Media struct{ ID pulid.ID } }
		}
		uploadMedia(t, ma, in, apitest.PhotoBytes(caption), "id").Decode(t, &out)
		ids[caption] = out.UploadMedia.Media.ID
	}
	zero, one := 0, 1
	add("a", "PHOTO", nil)
	add("b", "PHOTO", nil)
	add("plan", "FLOOR_PLAN", nil) // another kind: a list of its own
	add("c", "PHOTO", &zero)
	add("d", "PHOTO", &one)
	if got := photoCaptions(t, w, "MA"); got != "c d a b" {
		t.Fatalf("after uploads: %s", got)
	}
	move := func(caption string, position int) {
		t.Helper()
		res := ma.Query(t, `mutation($id: ID!, $p: Int!) { updateMedia(input: {id: $id, position: $p}) { media { position } } }`,
			map[string]any{"id": ids[caption], "p": position})
		if len(res.Errors) > 0 {
			t.Fatal(string(res.Body))
		}
	}
	move("b", 0)
	if got := photoCaptions(t, w, "MA"); got != "b c d a" {
		t.Errorf("b to 0: %s", got)
	}
	move("b", 99) // past the end: last
	if got := photoCaptions(t, w, "MA"); got != "c d a b" {
		t.Errorf("b to 99: %s", got)
	}
	res := ma.Query(t, `mutation($id: ID!) { deleteMedia(input: {id: $id}) { deletedId } }`, map[string]any{"id": ids["d"]})
	if len(res.Errors) > 0 {
		t.Fatal(string(res.Body))
	}
	if got := photoCaptions(t, w, "MA"); got != "c a b" {
		t.Errorf("after deleting d: %s", got)
	}
	if got := photoCaptions(t, w, "portal"); got != "c a b" {
		t.Errorf("as the portal: %s", got)
	}
	// A refused move (an agent) moves nothing.
	if e := w.Caller(t, "A1").Query(t, `mutation($id: ID!) { updateMedia(input: {id: $id, position: 0}) { media { id } } }`,
		map[string]any{"id": ids["b"]}).OnlyError(t); e.Code() != "FORBIDDEN" {
		t.Errorf("agent's move: %s", e.Code())
	}
	if got := photoCaptions(t, w, "MA"); got != "c a b" {
		t.Errorf("after a refused move: %s", got)
	}
	if rows, files := mediaCount(t, env); rows != 4 || files != 4 {
		t.Errorf("%d rows and %d files, want 4 of each (d's file removed)", rows, files)
	}
}

func TestMediaServedOverHTTP(t *testing.T) {
	env := apitest.New(t)
	w := env.World(t)
	srv := httptest.NewServer(env.Handler)
	t.Cleanup(srv.Close)
	file := apitest.PhotoBytes("served")
	var out struct {
		UploadMedia struct {
			Media struct {
				ID     pulid.ID
				URL    string
				Sha256 string
			}
		}
	}
	uploadMedia(t, w.Caller(t, "MA"), map[string]any{"projectId": w.ID("pA"), "kind": "PHOTO"}, file, "id url sha256").Decode(t, &out)
	m := out.UploadMedia.Media
	if m.URL != "/media/"+string(m.ID)+"/"+sha256Hex(file) || m.Sha256 != sha256Hex(file) {
		t.Fatalf("url %s, sha256 %s", m.URL, m.Sha256)
	}
	token := func(actor string) string {
		tok, _, err := env.Signer.Issue(w.Viewers[actor])
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	get := func(url, actor string, header ...string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+url, nil)
		switch actor {
		case "anonymous":
		case "portal":
			req.Header.Set("X-API-Key", w.PortalKey)
		default:
			req.Header.Set("Authorization", "Bearer "+token(actor))
		}
		for i := 0; i < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, b
	}
	etag := `"` + sha256Hex(file) + `"`
	for _, actor := range []string{"anonymous", "portal", "H1", "MB"} {
		res, body := get(m.URL, actor)
		if res.StatusCode != 200 || !bytes.Equal(body, file) {
			t.Fatalf("%s: %d, %d bytes", actor, res.StatusCode, len(body))
		}
		if h := res.Header; h.Get("ETag") != etag || h.Get("Cache-Control") != "public, max-age=31536000, immutable" ||
			h.Get("Content-Type") != "image/png" || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: headers %v", actor, h)
		}
	}
	if res, body := get(m.URL, "anonymous", "If-None-Match", etag); res.StatusCode != http.StatusNotModified || len(body) != 0 {
		t.Errorf("If-None-Match with the ETag: %d, %d bytes", res.StatusCode, len(body))
	}
	if res, _ := get(m.URL, "anonymous", "If-None-Match", `"`+strings.Repeat("0", 64)+`"`); res.StatusCode != 200 {
		t.Errorf("If-None-Match with another ETag: %d", res.StatusCode)
	}
	if res, _ := get("/media/"+string(m.ID)+"/"+strings.Repeat("a", 64), "anonymous"); res.StatusCode != 404 {
		t.Errorf("another hash: %d", res.StatusCode)
	}
	if res, _ := get("/media/"+string(w.ID("pA"))+"/"+sha256Hex(file), "admin"); res.StatusCode != 404 {
		t.Errorf("a project's ID: %d", res.StatusCode)
	}

	// Unpublished: gone for the public, cached copy or not; the staff of
	// the project still get it, never from a shared cache.
	publish := func(op string) {
		t.Helper()
		res := w.Caller(t, "admin").Query(t, `mutation($id: ID!) { `+op+`(input: {projectId: $id}) { project { id } } }`, map[string]any{"id": w.ID("pA")})
		if len(res.Errors) > 0 {
			t.Fatal(string(res.Body))
		}
	}
	publish("unpublishProject")
	for _, actor := range []string{"anonymous", "portal", "H1", "MB"} {
		if res, _ := get(m.URL, actor); res.StatusCode != 404 {
			t.Errorf("unpublished, %s: %d", actor, res.StatusCode)
		}
		if res, _ := get(m.URL, actor, "If-None-Match", etag); res.StatusCode != 404 {
			t.Errorf("unpublished, %s with If-None-Match: %d (a 304 would confirm their copy)", actor, res.StatusCode)
		}
	}
	for _, actor := range []string{"MA", "A1", "admin"} {
		res, body := get(m.URL, actor)
		if res.StatusCode != 200 || !bytes.Equal(body, file) || res.Header.Get("Cache-Control") != "private, no-cache" {
			t.Errorf("unpublished, %s: %d %q", actor, res.StatusCode, res.Header.Get("Cache-Control"))
		}
	}
	if e := w.Caller(t, "H1").Query(t, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": m.ID}).OnlyError(t); e.Code() != "NOT_FOUND" {
		t.Errorf("unpublished item as a homeowner of the project: %s", e.Code())
	}
	publish("publishProject")
	if res, _ := get(m.URL, "anonymous"); res.StatusCode != 200 {
		t.Errorf("published again: %d", res.StatusCode)
	}

	// Removed: 404 for everyone, the file gone.
	if res := w.Caller(t, "MA").Query(t, `mutation($id: ID!) { deleteMedia(input: {id: $id}) { deletedId } }`, map[string]any{"id": m.ID}); len(res.Errors) > 0 {
		t.Fatal(string(res.Body))
	}
	for _, actor := range []string{"anonymous", "MA", "admin"} {
		if res, _ := get(m.URL, actor); res.StatusCode != 404 {
			t.Errorf("removed, %s: %d", actor, res.StatusCode)
		}
	}
	if _, files := mediaCount(t, env); files != 0 {
		t.Errorf("%d files left after the removal", files)
	}
}

// TestMediaOfUnits: a page of units gets its published media in one
// statement (the project's, the building's, the layout's), none once the
// project is unpublished.
func TestMediaOfUnits(t *testing.T) {
	env := apitest.New(t)
	w := env.World(t)
	sys := apitest.System()
	l322, l211 := "3-2-2", "2-1-1"
	bA := w.ID("bA")
	mk := func(project string, building *pulid.ID, layout *string, kind string, label string) {
		addMediaItem(t, env, w.ID(project), building, layout, entmedia.Kind(kind), label)
	}
	mk("pA", nil, &l322, "FLOOR_PLAN", "layoutPlan")
	mk("pA", &bA, nil, "PHOTO", "buildingPhoto")
	mk("pA", nil, nil, "FLOOR_PLAN", "sitePlan")
	mk("pA", nil, nil, "PHOTO", "projectPhoto")
	mk("pA", nil, &l211, "FLOOR_PLAN", "otherLayout")
	mk("pB", nil, nil, "PHOTO", "pBPhoto")
	units := env.Client.Unit.Query().Where(unit.ProjectID(w.ID("pA"))).Order(ent.Asc(unit.FieldNumber)).AllX(sys)
	portal := auth.NewContext(context.Background(), &auth.Viewer{Role: auth.RolePortal})
	env.Counter.Reset()
	got, err := media.OfUnits(portal, env.Client, units)
	if err != nil {
		t.Fatal(err)
	}
	if n := env.Counter.Count(); n != 1 {
		t.Errorf("%d statements for %d units, want 1", n, len(units))
	}
	for _, u := range units {
		var captions []string
		for _, m := range got[u.ID] {
			captions = append(captions, m.Caption)
		}
		if s := strings.Join(captions, " "); s != "projectPhoto sitePlan buildingPhoto layoutPlan" {
			t.Errorf("unit %s: %s", u.Number, s)
		}
	}
	env.Client.Project.UpdateOneID(w.ID("pA")).SetPublished(false).ExecX(sys)
	// Unpublished: none, whoever asks (its staff too: a listing is public).
	for _, ctx := range []context.Context{portal, sys} {
		got, err := media.OfUnits(ctx, env.Client, units)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range units {
			if len(got[u.ID]) != 0 {
				t.Errorf("unpublished project, unit %s: %d items", u.Number, len(got[u.ID]))
			}
		}
	}
}

// TestMediaStatementsPerPage: a page of projects reads the media of all of
// them in one statement per field, and so does a page of buildings, and
// the buildings of every project of a page, whatever the page's size; each
// project and building still gets its own items.
func TestMediaStatementsPerPage(t *testing.T) {
	env := apitest.New(t)
	sys := apitest.System()
	layout := "3-2-2"
	addProject := func(i int) {
		p := env.Project(t, "P"+string(rune('a'+i)), 1, 1, 1)
		b := env.Client.Building.Query().AllX(sys)
		for _, bd := range b {
			if bd.ProjectID == p.ID {
				addMediaItem(t, env, p.ID, &bd.ID, nil, entmedia.KindPHOTO, "b-"+p.Name)
			}
		}
		addMediaItem(t, env, p.ID, nil, nil, entmedia.KindPHOTO, "p-"+p.Name)
		addMediaItem(t, env, p.ID, nil, &layout, entmedia.KindFLOOR_PLAN, "l-"+p.Name)
	}
	type page struct {
		Projects struct {
			Edges []struct {
				Node struct {
					Name        string
					Media       []struct{ Caption string }
					LayoutMedia []struct{ Caption string }
					Buildings   struct {
						Edges []struct {
							Node struct{ Media []struct{ Caption string } }
						}
					}
				}
			}
		}
		Buildings struct {
			Edges []struct {
				Node struct {
					Project struct{ Name string }
					Media   []struct{ Caption string }
				}
			}
		}
	}
	read := func() (int64, page) {
		t.Helper()
		env.Counter.Reset()
		var out page
		env.Query(t, `{ projects(first: 20) { edges { node { name media { caption } layoutMedia(layout: "3-2-2") { caption }
		    buildings(first: 5) { edges { node { media { caption } } } } } } }
		  buildings(first: 20) { edges { node { project { name } media { caption } } } } }`, nil).Decode(t, &out)
		n := env.Counter.Count()
		for _, e := range out.Projects.Edges {
			p := e.Node
			if len(p.Media) != 1 || p.Media[0].Caption != "p-"+p.Name || len(p.LayoutMedia) != 1 || p.LayoutMedia[0].Caption != "l-"+p.Name {
				t.Errorf("project %s: %+v", p.Name, p)
			}
			if bs := p.Buildings.Edges; len(bs) != 1 || len(bs[0].Node.Media) != 1 || bs[0].Node.Media[0].Caption != "b-"+p.Name {
				t.Errorf("project %s's buildings: %+v", p.Name, bs)
			}
		}
		for _, e := range out.Buildings.Edges {
			b := e.Node
			if len(b.Media) != 1 || b.Media[0].Caption != "b-"+b.Project.Name {
				t.Errorf("building of %s: %+v", b.Project.Name, b)
			}
		}
		return n, out
	}
	for i := range 2 {
		addProject(i)
	}
	small, out := read()
	if len(out.Projects.Edges) != 2 || len(out.Buildings.Edges) != 2 {
		t.Fatalf("%d projects, %d buildings", len(out.Projects.Edges), len(out.Buildings.Edges))
	}
	for i := 2; i < 6; i++ {
		addProject(i)
	}
	large, out := read()
	if len(out.Projects.Edges) != 6 || len(out.Buildings.Edges) != 6 {
		t.Fatalf("%d projects, %d buildings", len(out.Projects.Edges), len(out.Buildings.Edges))
	}
	if small != large {
		t.Errorf("%d statements for 2 projects, %d for 6", small, large)
	}
	t.Logf("%d statements for a page of projects and one of buildings, with their media", large)
}
