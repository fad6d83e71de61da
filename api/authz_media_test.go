package api_test

// The media's cells of the authorization matrix (issue 12): who sees the
// photos and floor plans of a published project (pA) and of an unpublished
// one (pB), through GraphQL and through their URLs, and who may upload,
// caption, move and remove them, per actor of apitest.World, each cell with
// what the database and the file store did.

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"estatecrm/api/apitest"
	"estatecrm/ent"
	entmedia "estatecrm/ent/media"
	"estatecrm/ent/schema/pulid"
	"estatecrm/media"
)

// mediaWorld adds to w the media of the matrix, each with its file in the
// store: mA (pA's own photo), mAL (a floor plan of pA's layout 3-2-2), mAB
// (bA's photo), mB (pB's own photo) and mBB (bB's photo). pA is published,
// pB is not.
func mediaWorld(t *testing.T, w *apitest.World) {
	t.Helper()
	layout := "3-2-2"
	for _, m := range []struct {
		label, project string
		building       string
		layout         *string
		kind           entmedia.Kind
	}{
		{"mA", "pA", "", nil, entmedia.KindPHOTO},
		{"mAL", "pA", "", &layout, entmedia.KindFLOOR_PLAN},
		{"mAB", "pA", "bA", nil, entmedia.KindPHOTO},
		{"mB", "pB", "", nil, entmedia.KindPHOTO},
		{"mBB", "pB", "bB", nil, entmedia.KindPHOTO},
	} {
		var building *pulid.ID
		if m.building != "" {
			id := w.ID(m.building)
			building = &id
		}
		w.Add(m.label, addMediaItem(t, w.Env, w.ID(m.project), building, m.layout, m.kind, m.label).ID)
	}
}

// addMediaItem stores a small PNG made from label and records it as the
// system, as an upload would.
func addMediaItem(t testing.TB, env *apitest.Env, project pulid.ID, building *pulid.ID, layout *string, kind entmedia.Kind, label string) *ent.Media {
	t.Helper()
	b := apitest.PhotoBytes(label)
	key, n, err := env.Photos.Put(context.Background(), media.Prefix, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	m, err := env.Client.Media.Create().SetProjectID(project).SetNillableBuildingID(building).SetNillableLayout(layout).
		SetKind(kind).SetCaption(label).SetStorageKey(key).SetContentType("image/png").SetSizeBytes(n).
		SetSha256(sha256Hex(b)).SetWidth(8).SetHeight(8).Save(apitest.System())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// mediaFiles counts the media files in the store.
func mediaFiles(t testing.TB, env *apitest.Env) int {
	t.Helper()
	keys, err := env.Photos.KeysBefore(context.Background(), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, k := range keys {
		if strings.HasPrefix(k, media.Prefix+"/") {
			n++
		}
	}
	return n
}

// uploadMedia posts uploadMedia with file as the input's file.
func uploadMedia(t testing.TB, caller *apitest.Caller, input map[string]any, file []byte, selection string) *apitest.Response {
	t.Helper()
	in := map[string]any{"file": nil}
	for k, v := range input {
		in[k] = v
	}
	ops := map[string]any{
		"query":     `mutation($input: UploadMediaInput!) { uploadMedia(input: $input) { media { ` + selection + ` } } }`,
		"variables": map[string]any{"input": in},
	}
	body, ct := multipartBody(t, ops, map[string][]string{"0": {"variables.input.file"}},
		[]filePart{{key: "0", filename: "x.png", contentType: "image/png", content: bytes.NewReader(file)}})
	return caller.Post(t, ct, body)
}

// mediaGet fetches a media URL through the handler as actor.
func mediaGet(t testing.TB, w *apitest.World, actor, url string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, url, nil)
	switch actor {
	case "anonymous":
	case "portal":
		req.Header.Set("X-API-Key", w.PortalKey)
	default:
		tok, _, err := w.Env.Signer.Issue(w.Viewers[actor])
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	rec := httptest.NewRecorder()
	w.Env.Handler.ServeHTTP(rec, req)
	return rec.Result()
}

// mediaURLCell fetches the URLs of items as actor: the status and, when
// served, whether shared caches may keep it.
func mediaURLCell(labels ...string) func(t *testing.T, w *apitest.World, actor string) string {
	return func(t *testing.T, w *apitest.World, actor string) string {
		var out []string
		for _, l := range labels {
			m := w.Env.Client.Media.GetX(apitest.System(), w.ID(l))
			res := mediaGet(t, w, actor, media.URL(m))
			cell := l + "=" + strconv.Itoa(res.StatusCode)
			if res.StatusCode == http.StatusOK {
				cell += "/" + strings.SplitN(res.Header.Get("Cache-Control"), ",", 2)[0]
			}
			out = append(out, cell)
		}
		return strings.Join(out, " ")
	}
}

// mediaState is the rows of items captioned caption and the media files.
func mediaState(caption string) func(t *testing.T, w *apitest.World, _ string) string {
	return func(t *testing.T, w *apitest.World, _ string) string {
		n := w.Env.Client.Media.Query().Where(entmedia.Caption(caption)).CountX(apitest.System())
		return fmt.Sprintf("%d %d", n, mediaFiles(t, w.Env))
	}
}

// mediaProjects reads every media field of pA and pB.
const mediaProjects = `query($a: ID!, $b: ID!) { a: node(id: $a) { ...P } b: node(id: $b) { ...P } }
fragment P on Project { id media { id } layoutMedia(layout: "3-2-2") { id }
  buildings(first: 5) { edges { node { id media { id } } } } }`

func authzMediaRows() []authzRow {
	sys := apitest.System()
	a := "pA{buildings=[bA{media=[mAB]}],layoutMedia=[mAL],media=[mA]}"
	b := "pB{buildings=[bB{media=[mBB]}],layoutMedia=[],media=[mB]}"
	allIDs := func(w *apitest.World, _ string) map[string]any {
		return map[string]any{"ids": []pulid.ID{w.ID("mA"), w.ID("mAL"), w.ID("mAB"), w.ID("mB"), w.ID("mBB")}}
	}
	upload := func(place string, input func(w *apitest.World) map[string]any) func(t *testing.T, w *apitest.World, actor string) string {
		return func(t *testing.T, w *apitest.World, actor string) string {
			state := mediaState(place + "-" + actor)
			before := state(t, w, actor)
			in := input(w)
			in["kind"], in["caption"] = "PHOTO", place+"-"+actor
			out := authzRender(w, uploadMedia(t, w.Caller(t, actor), in, apitest.PhotoBytes(actor), "caption kind position"))
			if state(t, w, actor) == before {
				return out + " db=unchanged"
			}
			return out + " db=changed"
		}
	}
	// An upload: the actor's own item, or refused with nothing stored.
	uploaded := func(place, actor string) string {
		return "{media={caption=" + place + "-" + actor + ",kind=PHOTO,position=1}} db=changed"
	}
	return []authzRow{
		authzQuery("Query.node", "project→media, layoutMedia, building→media", mediaProjects, authzProjects, map[string]string{
			"admin": "{a=" + a + ",b=" + b + "}",
			"MA":    "{a=" + a + ",b=null} !NOT_FOUND", "A1": "{a=" + a + ",b=null} !NOT_FOUND", "A2": "{a=" + a + ",b=null} !NOT_FOUND",
			"MB": "{a=null,b=" + b + "} !NOT_FOUND", "B1": "{a=null,b=" + b + "} !NOT_FOUND",
			// The published project's media: its homeowners and the portal.
			"H1": "{a=" + a + ",b=null} !NOT_FOUND", "H2": "{a=" + a + ",b=null} !NOT_FOUND",
			"portal":    "{a=" + a + ",b=null} !NOT_FOUND",
			"anonymous": "{a=null,b=null} !UNAUTHENTICATED",
		}),
		// Items of a published project are anyone's to see, staff of other
		// projects included; those of an unpublished one its staff's alone.
		authzQuery("Query.nodes", "nodes(ids:) of the media", `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, allIDs,
			authzEvery("[mA mAL mAB null null] !NOT_FOUND", map[string]string{
				"admin": "[mA mAL mAB mB mBB]", "MB": "[mA mAL mAB mB mBB]", "B1": "[mA mAL mAB mB mBB]",
				"anonymous": "[null null null null null] !UNAUTHENTICATED",
			})),
		// Staff of another project see the item but not its project, which
		// a Media must have: the item fails with the project.
		authzQuery("Query.node", "media→project, building",
			`query($id: ID!) { node(id: $id) { ... on Media { id kind layout project { id } building { id } } } }`,
			authzIDVar("mAB"), authzEvery("mAB{building=bA,kind=PHOTO,layout=null,project=pA}", map[string]string{
				"MB": "null !NOT_FOUND", "B1": "null !NOT_FOUND", "anonymous": "null !UNAUTHENTICATED",
			})),
		// GET /media/{id}/{sha256}: the published item to anyone, cacheable
		// by anyone; the unpublished one to its project's staff, private.
		{field: "Query.node", name: "GET /media/{id}/{sha256}", run: mediaURLCell("mA", "mB"),
			want: authzEvery("mA=200/public mB=404", map[string]string{
				"admin": "mA=200/public mB=200/private", "MB": "mA=200/public mB=200/private", "B1": "mA=200/public mB=200/private",
			})},
		{field: "Mutation.uploadMedia", name: "uploadMedia to pA", run: upload("pA", func(w *apitest.World) map[string]any {
			return map[string]any{"projectId": w.ID("pA")}
		}), want: authzEvery("!FORBIDDEN db=unchanged", map[string]string{
			"admin": uploaded("pA", "admin"), "MA": strings.Replace(uploaded("pA", "MA"), "position=1", "position=2", 1),
			// pA is not theirs to see: not found, as a missing project.
			"MB": "!NOT_FOUND db=unchanged", "B1": "!NOT_FOUND db=unchanged",
			"anonymous": "!UNAUTHENTICATED db=unchanged",
		})},
		{field: "Mutation.uploadMedia", name: "uploadMedia to bB (unpublished pB)", run: upload("bB", func(w *apitest.World) map[string]any {
			return map[string]any{"buildingId": w.ID("bB")}
		}), want: authzEvery("!NOT_FOUND db=unchanged", map[string]string{
			"admin": uploaded("bB", "admin"), "MB": strings.Replace(uploaded("bB", "MB"), "position=1", "position=2", 1),
			"B1": "!FORBIDDEN db=unchanged", "portal": "!FORBIDDEN db=unchanged",
			"anonymous": "!UNAUTHENTICATED db=unchanged",
		})},
		authzMutation("Mutation.updateMedia", "updateMedia mA",
			`mutation($id: ID!, $c: String!) { updateMedia(input: {id: $id, caption: $c, position: 0}) { media { id caption position } } }`,
			func(w *apitest.World, actor string) map[string]any {
				return map[string]any{"id": w.ID("mA"), "c": "u-" + actor}
			},
			func(t *testing.T, w *apitest.World, _ string) {
				w.Env.Client.Media.UpdateOneID(w.ID("mA")).SetCaption("mA").ExecX(sys)
			},
			func(t *testing.T, w *apitest.World, _ string) string {
				return w.Env.Client.Media.GetX(sys, w.ID("mA")).Caption
			},
			authzEvery("!FORBIDDEN db=unchanged", map[string]string{
				"admin": "{media=mA{caption=u-admin,position=0}} db=changed",
				"MA":    "{media=mA{caption=u-MA,position=0}} db=changed",
				// pB's manager sees the published item but it is not theirs.
				"MB":        "!NOT_FOUND db=unchanged",
				"anonymous": "!UNAUTHENTICATED db=unchanged",
			})),
		authzMutation("Mutation.updateMedia", "updateMedia mB (unpublished)",
			`mutation($id: ID!, $c: String!) { updateMedia(input: {id: $id, caption: $c}) { media { id caption } } }`,
			func(w *apitest.World, actor string) map[string]any {
				return map[string]any{"id": w.ID("mB"), "c": "u-" + actor}
			},
			func(t *testing.T, w *apitest.World, _ string) {
				w.Env.Client.Media.UpdateOneID(w.ID("mB")).SetCaption("mB").ExecX(sys)
			},
			func(t *testing.T, w *apitest.World, _ string) string {
				return w.Env.Client.Media.GetX(sys, w.ID("mB")).Caption
			},
			authzEvery("!NOT_FOUND db=unchanged", map[string]string{
				"admin":     "{media=mB{caption=u-admin}} db=changed",
				"MB":        "{media=mB{caption=u-MB}} db=changed",
				"B1":        "!FORBIDDEN db=unchanged",
				"anonymous": "!UNAUTHENTICATED db=unchanged",
			})),
		{field: "Mutation.deleteMedia", name: "deleteMedia of a pA item", run: func(t *testing.T, w *apitest.World, actor string) string {
			m := addMediaItem(t, w.Env, w.ID("pA"), nil, nil, entmedia.KindPHOTO, "d-"+actor)
			state := mediaState("d-" + actor)
			before := state(t, w, actor)
			res := w.Caller(t, actor).Query(t, `mutation($id: ID!) { deleteMedia(input: {id: $id}) { deletedId } }`, map[string]any{"id": m.ID})
			out := strings.ReplaceAll(authzRender(w, res), string(m.ID), "d-"+actor)
			if state(t, w, actor) == before {
				return out + " db=unchanged"
			}
			return out + " db=changed"
		}, want: func() map[string]string {
			m := authzEvery("!FORBIDDEN db=unchanged", map[string]string{
				"MB": "!NOT_FOUND db=unchanged", "anonymous": "!UNAUTHENTICATED db=unchanged",
			})
			m["admin"], m["MA"] = "{deletedId=d-admin} db=changed", "{deletedId=d-MA} db=changed"
			return m
		}()},
	}
}

// TestAuthzMatrixMedia runs the media's cells on a world with media.
func TestAuthzMatrixMedia(t *testing.T) {
	env := apitest.New(t)
	w := env.World(t)
	mediaWorld(t, w)
	authzRun(t, w, authzMediaRows())
}
