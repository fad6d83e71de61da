package api_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"estatecrm/api/apitest"
	"estatecrm/auth"
	"estatecrm/ent/customer"
	"estatecrm/ent/deal"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/unit"
	"estatecrm/ent/user"
)

// submitComplaint files a complaint with photos; the photos come as uploads.
const submitComplaint = `mutation($input: SubmitComplaintInput!) { submitComplaint(input: $input) {
  complaint { id photos { id contentType sizeBytes sha256 locationRemoved locationFlagged url } } } }`

type uploadedPhoto struct {
	ID              string
	ContentType     string
	SizeBytes       int64
	Sha256          string
	LocationRemoved bool
	LocationFlagged bool
	URL             string
}

type submitted struct {
	SubmitComplaint struct {
		Complaint struct {
			ID     string
			Photos []uploadedPhoto
		}
	}
}

// homes is a project with two homeowners, H1 and H2, each the buyer of a
// unit (CONTRACTED) sold by agent A1, and an agent B1 of another project.
type homes struct {
	H1, H2, A1, B1 *auth.Viewer
	// Unit1 is H1's, Unit2 H2's.
	Unit1, Unit2 pulid.ID
}

func newHomes(tb testing.TB, env *apitest.Env) *homes {
	tb.Helper()
	ctx := apitest.System()
	p := env.Project(tb, "滨江·云玺", 1, 1, 2)
	other := env.Project(tb, "西湖·望府", 1, 1, 1)
	a1User, a1 := env.User(tb, user.RoleAGENT, "agent.a1", p)
	_, b1 := env.User(tb, user.RoleAGENT, "agent.b1", other)
	units := env.Client.Unit.Query().Where(unit.ProjectID(p.ID)).Order(unit.ByNumber()).AllX(ctx)
	homeowner := func(i int, login string) *auth.Viewer {
		u := units[i]
		c := env.Client.Customer.Create().SetProjectID(p.ID).SetName(login).
			SetPhone(fmt.Sprintf("1380000%04d", i)).SetSource(customer.SourceWALK_IN).SetStage(customer.StageOWNER).
			SetOwnerID(a1User.ID).SetProtectedUntil(time.Now().Add(24 * time.Hour)).SaveX(ctx)
		env.Client.Unit.UpdateOne(u).SetStatus(unit.StatusCONTRACTED).ExecX(ctx)
		env.Client.Deal.Create().SetUnitID(u.ID).SetCustomerID(c.ID).SetAgentID(a1User.ID).SetProjectID(p.ID).
			SetStage(deal.StageCONTRACTED).SetPrice(u.ListPrice).SetPaymentMethod(deal.PaymentMethodFULL).
			SetReservedAt(time.Now()).SetContractedAt(time.Now()).ExecX(ctx)
		owner := env.Client.User.Create().SetName(login).SetLogin(login).SetRole(user.RoleOWNER).
			SetCustomerID(c.ID).SaveX(ctx)
		return auth.ViewerOf(owner)
	}
	return &homes{
		H1: homeowner(0, "owner.h1"), H2: homeowner(1, "owner.h2"), A1: a1, B1: b1,
		Unit1: units[0].ID, Unit2: units[1].ID,
	}
}

func tokenFor(tb testing.TB, env *apitest.Env, v *auth.Viewer) string {
	tb.Helper()
	tok, _, err := env.Signer.Issue(v)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// complaintInput is the input of submitComplaint about unit, without photos.
func complaintInput(unitID pulid.ID) map[string]any {
	return map[string]any{"input": map[string]any{
		"unitId": unitID, "category": "LEAK", "title": "卫生间漏水", "description": "water under the bathroom door",
	}}
}

// filePart is one file of a multipart request.
type filePart struct {
	key, filename, contentType string
	content                    io.Reader
}

// writeMultipart writes a GraphQL multipart request (operations, map, then
// the files in the order given) to mw and closes it.
func writeMultipart(mw *multipart.Writer, ops any, mapping map[string][]string, parts []filePart) error {
	for _, p := range []struct {
		name string
		v    any
	}{{"operations", ops}, {"map", mapping}} {
		w, err := mw.CreateFormField(p.name)
		if err != nil {
			return err
		}
		if err := json.NewEncoder(w).Encode(p.v); err != nil {
			return err
		}
	}
	for _, f := range parts {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, f.key, f.filename))
		h.Set("Content-Type", f.contentType)
		w, err := mw.CreatePart(h)
		if err != nil {
			return err
		}
		if _, err := io.Copy(w, f.content); err != nil {
			return err
		}
	}
	return mw.Close()
}

// multipartBody builds a whole multipart request in memory.
func multipartBody(tb testing.TB, ops any, mapping map[string][]string, parts []filePart) (body []byte, contentType string) {
	tb.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	if err := writeMultipart(mw, ops, mapping, parts); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes(), mw.FormDataContentType()
}

// photoOps returns the operations of query with vars whose input.photos is
// n nulls, and the map that puts file "i" at variables.input.photos.i.
func photoOps(query string, vars map[string]any, n int) (ops map[string]any, mapping map[string][]string) {
	input := map[string]any{}
	if in, ok := vars["input"].(map[string]any); ok {
		for k, v := range in {
			input[k] = v
		}
	}
	input["photos"] = make([]any, n)
	v := map[string]any{}
	for k, x := range vars {
		v[k] = x
	}
	v["input"] = input
	mapping = map[string][]string{}
	for i := range n {
		mapping[strconv.Itoa(i)] = []string{fmt.Sprintf("variables.input.photos.%d", i)}
	}
	return map[string]any{"query": query, "variables": v}, mapping
}

// uploadRequest is a POST /query of body, with a bearer token unless token is "".
func uploadRequest(token string, body []byte, contentType string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, "/query", bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req
}

// multipartRequest builds a submitComplaint-style upload following the GraphQL
// multipart request spec: files are keyed "0", "1", … and map to
// variables.input.photos.<key>; operations carries photos: [null, …]. Every
// file is sent named "x.jpg" with Content-Type image/jpeg, whatever it holds.
func multipartRequest(tb testing.TB, token, query string, vars map[string]any, files map[string][]byte) *http.Request {
	tb.Helper()
	ops, mapping := photoOps(query, vars, len(files))
	parts := make([]filePart, len(files))
	for k, b := range files {
		i, err := strconv.Atoi(k)
		if err != nil || i < 0 || i >= len(files) {
			tb.Fatalf("file key %q: want 0…%d", k, len(files)-1)
		}
		parts[i] = filePart{key: k, filename: "x.jpg", contentType: "image/jpeg", content: bytes.NewReader(b)}
	}
	body, ct := multipartBody(tb, ops, mapping, parts)
	return uploadRequest(token, body, ct)
}

// jpegBytes is a real, small JPEG encoded by image/jpeg.
func jpegBytes(tb testing.TB) []byte {
	tb.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 16, 16))
	for y := range 16 {
		for x := range 16 {
			img.Set(x, y, color.RGBA{uint8(x * 16), uint8(y * 16), 128, 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// paddedJPEG is a valid JPEG followed by zero bytes up to size.
func paddedJPEG(tb testing.TB, size int) []byte {
	tb.Helper()
	b := jpegBytes(tb)
	return append(b, make([]byte, size-len(b))...)
}

// storedBytes reads the blob of a photo from the store, by its row.
func storedBytes(tb testing.TB, env *apitest.Env, id string) []byte {
	tb.Helper()
	row, err := env.Client.ComplaintPhoto.Get(apitest.System(), pulid.ID(id))
	if err != nil {
		tb.Fatalf("photo %s: %v", id, err)
	}
	f, _, err := env.Photos.Open(apitest.System(), row.StorageKey)
	if err != nil {
		tb.Fatalf("open blob of %s: %v", id, err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func photoKeys(tb testing.TB, env *apitest.Env) []string {
	tb.Helper()
	return env.Blobs(tb)
}

// uploadsLeft lists what is left in the directory of uploads in flight.
func uploadsLeft(tb testing.TB, env *apitest.Env) []string {
	tb.Helper()
	entries, err := os.ReadDir(env.Uploads)
	if err != nil {
		tb.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// upload submits a complaint with files as the homeowner v and returns it.
func upload(t *testing.T, env *apitest.Env, v *auth.Viewer, unitID pulid.ID, files ...[]byte) submitted {
	t.Helper()
	m := map[string][]byte{}
	for i, f := range files {
		m[strconv.Itoa(i)] = f
	}
	res := env.Do(t, multipartRequest(t, tokenFor(t, env, v), submitComplaint, complaintInput(unitID), m))
	if res.Status != http.StatusOK {
		t.Fatalf("upload: status %d: %s", res.Status, res.Body)
	}
	var s submitted
	res.Decode(t, &s)
	if got := len(s.SubmitComplaint.Complaint.Photos); got != len(files) {
		t.Fatalf("upload: %d photos in the answer, want %d: %s", got, len(files), res.Body)
	}
	return s
}

// inSentOrder returns photos in the order of the files sent, each matched to
// the file its stored blob holds, so that what is checked of a photo does
// not depend on the order the API lists them in (TestUploadKeepsPhotoOrder
// checks that). It fails if a blob is none of the files, or two are one.
func inSentOrder(t *testing.T, env *apitest.Env, photos []uploadedPhoto, sent ...[]byte) []uploadedPhoto {
	t.Helper()
	out := make([]uploadedPhoto, len(sent))
	seen := make([]bool, len(sent))
	for _, p := range photos {
		blob := storedBytes(t, env, p.ID)
		i := slices.IndexFunc(sent, func(f []byte) bool { return bytes.Equal(f, blob) })
		if i < 0 || seen[i] {
			t.Fatalf("photo %s: its blob (%d bytes) is not one of the files sent", p.ID, len(blob))
		}
		out[i], seen[i] = p, true
	}
	return out
}

func TestUploadComplaintWithPhotos(t *testing.T) {
	env := apitest.New(t)
	h := newHomes(t, env)
	jpg := jpegBytes(t)
	png := apitest.PhotoBytes("one")

	// The PNG travels as "x.jpg" with Content-Type image/jpeg: only its
	// content may decide its type.
	c := upload(t, env, h.H1, h.Unit1, jpg, png).SubmitComplaint.Complaint
	// Neither carries EXIF, so each is stored as sent: that pairs them.
	photos := inSentOrder(t, env, c.Photos, jpg, png)
	for i, want := range []struct {
		ct   string
		sent []byte
	}{{"image/jpeg", jpg}, {"image/png", png}} {
		p := photos[i]
		stored := storedBytes(t, env, p.ID)
		if p.ContentType != want.ct {
			t.Errorf("photo %d: contentType %q, want the sniffed %q", i, p.ContentType, want.ct)
		}
		if p.SizeBytes != int64(len(want.sent)) || int64(len(stored)) != p.SizeBytes {
			t.Errorf("photo %d: sizeBytes %d, sent %d bytes, stored %d", i, p.SizeBytes, len(want.sent), len(stored))
		}
		if p.Sha256 != sha256Hex(stored) {
			t.Errorf("photo %d: sha256 %s is not that of the stored bytes (%s)", i, p.Sha256, sha256Hex(stored))
		}
		if p.LocationRemoved || p.LocationFlagged {
			t.Errorf("photo %d: location removed %v, flagged %v, for a photo without EXIF", i, p.LocationRemoved, p.LocationFlagged)
		}
		if !strings.HasPrefix(p.URL, "/photos/"+p.ID+"?") {
			t.Errorf("photo %d: url %q", i, p.URL)
		}
	}
	ctx := apitest.System()
	if n := env.Client.Complaint.Query().CountX(ctx); n != 1 {
		t.Errorf("%d complaints, want 1", n)
	}
	rows := env.Client.ComplaintPhoto.Query().AllX(ctx)
	var rowKeys []string
	for _, r := range rows {
		rowKeys = append(rowKeys, r.StorageKey)
		if string(r.ComplaintID) != c.ID {
			t.Errorf("photo %s belongs to %s, want %s", r.ID, r.ComplaintID, c.ID)
		}
	}
	keys := photoKeys(t, env)
	slices.Sort(keys)
	slices.Sort(rowKeys)
	if len(keys) != 2 || !slices.Equal(keys, rowKeys) {
		t.Errorf("blobs in the store %v, want exactly the 2 of the photo rows %v", keys, rowKeys)
	}
	if left := uploadsLeft(t, env); len(left) != 0 {
		t.Errorf("temporary upload files left behind: %v", left)
	}
}

func TestUploadRejects(t *testing.T) {
	text := []byte("just some text, not a photo at all\n")
	type request func(t *testing.T, env *apitest.Env, h *homes) *http.Request
	// photos uploads files as H1 about H1's unit.
	photos := func(files ...[]byte) request {
		return func(t *testing.T, env *apitest.Env, h *homes) *http.Request {
			m := map[string][]byte{}
			for i, f := range files {
				m[strconv.Itoa(i)] = f
			}
			return multipartRequest(t, tokenFor(t, env, h.H1), submitComplaint, complaintInput(h.Unit1), m)
		}
	}
	ten := make([][]byte, 10)
	for i := range ten {
		ten[i] = apitest.PhotoBytes(fmt.Sprintf("photo %d", i))
	}
	for _, tc := range []struct {
		name        string
		req         request
		code, field string
	}{
		{
			name: "a text file named photo.jpg",
			req: func(t *testing.T, env *apitest.Env, h *homes) *http.Request {
				ops, mapping := photoOps(submitComplaint, complaintInput(h.Unit1), 1)
				body, ct := multipartBody(t, ops, mapping, []filePart{
					{key: "0", filename: "photo.jpg", contentType: "image/jpeg", content: bytes.NewReader(text)}})
				return uploadRequest(tokenFor(t, env, h.H1), body, ct)
			},
			code: "BAD_USER_INPUT", field: "input.photos.0",
		},
		{
			name: "the second of two photos is text",
			req:  photos(jpegBytes(t), text),
			code: "BAD_USER_INPUT", field: "input.photos.1",
		},
		{
			name: "an 11 MB photo",
			req:  photos(paddedJPEG(t, 11<<20)),
			code: "BAD_USER_INPUT", field: "input.photos.0",
		},
		{
			name: "10 photos",
			req:  photos(ten...),
			code: "BAD_USER_INPUT", field: "input.photos",
		},
		{
			name: "a body cut in the middle of a file",
			req: func(t *testing.T, env *apitest.Env, h *homes) *http.Request {
				jpg := jpegBytes(t)
				ops, mapping := photoOps(submitComplaint, complaintInput(h.Unit1), 1)
				body, ct := multipartBody(t, ops, mapping, []filePart{
					{key: "0", filename: "x.jpg", contentType: "image/jpeg", content: bytes.NewReader(jpg)}})
				start := bytes.Index(body, jpg)
				if start < 0 {
					t.Fatal("the photo is not in the body")
				}
				return uploadRequest(tokenFor(t, env, h.H1), body[:start+len(jpg)/2], ct)
			},
			code: "BAD_USER_INPUT",
		},
		{
			name: "a unit of another homeowner",
			req: func(t *testing.T, env *apitest.Env, h *homes) *http.Request {
				return multipartRequest(t, tokenFor(t, env, h.H1), submitComplaint, complaintInput(h.Unit2),
					map[string][]byte{"0": jpegBytes(t)})
			},
			code: "FORBIDDEN", field: "input.unitId",
		},
		{
			name: "a map that names a file never sent",
			req: func(t *testing.T, env *apitest.Env, h *homes) *http.Request {
				ops, mapping := photoOps(submitComplaint, complaintInput(h.Unit1), 2)
				body, ct := multipartBody(t, ops, mapping, []filePart{
					{key: "0", filename: "x.jpg", contentType: "image/jpeg", content: bytes.NewReader(jpegBytes(t))}})
				return uploadRequest(tokenFor(t, env, h.H1), body, ct)
			},
			code: "BAD_USER_INPUT",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := apitest.New(t)
			h := newHomes(t, env)
			res := env.Do(t, tc.req(t, env, h))
			if len(res.Errors) == 0 {
				t.Fatalf("accepted (status %d): %s", res.Status, res.Body)
			}
			e := res.Errors[0]
			if e.Code() != tc.code || (tc.field != "" && e.Field() != tc.field) {
				t.Errorf("error code %q field %q, want %q %q: %s", e.Code(), e.Field(), tc.code, tc.field, res.Body)
			}
			ctx := apitest.System()
			if n := env.Client.Complaint.Query().CountX(ctx); n != 0 {
				t.Errorf("%d complaints filed, want none", n)
			}
			if n := env.Client.ComplaintPhoto.Query().CountX(ctx); n != 0 {
				t.Errorf("%d photo rows, want none", n)
			}
			if keys := photoKeys(t, env); len(keys) != 0 {
				t.Errorf("blobs left in the photo store: %v", keys)
			}
			if left := uploadsLeft(t, env); len(left) != 0 {
				t.Errorf("temporary upload files left behind: %v", left)
			}
		})
	}
}

// fetch GETs path from the handler, with a bearer token unless token is "".
func fetch(t *testing.T, env *apitest.Env, path, token string) (*http.Response, []byte) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	env.Handler.ServeHTTP(rec, req)
	res := rec.Result()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, b
}

func TestPhotoDownload(t *testing.T) {
	env := apitest.New(t)
	h := newHomes(t, env)
	jpg, png := jpegBytes(t), apitest.PhotoBytes("download")
	photos := inSentOrder(t, env, upload(t, env, h.H1, h.Unit1, jpg, png).SubmitComplaint.Complaint.Photos, jpg, png)
	h1, h2 := tokenFor(t, env, h.H1), tokenFor(t, env, h.H2)

	for i, want := range []struct {
		ct   string
		sent []byte
	}{{"image/jpeg", jpg}, {"image/png", png}} {
		p := photos[i]
		stored := storedBytes(t, env, p.ID)
		res, body := fetch(t, env, "/photos/"+p.ID, h1)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("the owner GETs photo %d: status %d: %s", i, res.StatusCode, body)
		}
		if !bytes.Equal(body, stored) || !bytes.Equal(body, want.sent) {
			t.Errorf("photo %d: the body is not the stored bytes", i)
		}
		if ct := res.Header.Get("Content-Type"); ct != want.ct {
			t.Errorf("photo %d: Content-Type %q, want the sniffed %q", i, ct, want.ct)
		}
		if v := res.Header.Get("X-Content-Type-Options"); v != "nosniff" {
			t.Errorf("photo %d: X-Content-Type-Options %q", i, v)
		}
	}

	p := photos[1]
	path := "/photos/" + p.ID
	for _, c := range []struct {
		who, token string
		status     int
	}{
		{"the agent of the homeowner", tokenFor(t, env, h.A1), http.StatusOK},
		{"another homeowner", h2, http.StatusNotFound},
		{"an agent of another project", tokenFor(t, env, h.B1), http.StatusNotFound},
		{"anonymous without a signature", "", http.StatusUnauthorized},
	} {
		if res, body := fetch(t, env, path, c.token); res.StatusCode != c.status {
			t.Errorf("%s: status %d, want %d: %s", c.who, res.StatusCode, c.status, body)
		}
	}
	// Whether a photo exists or not looks the same.
	for _, id := range []string{string(pulid.MustNew("PH")), "PHnot-an-id"} {
		if res, body := fetch(t, env, "/photos/"+id, h1); res.StatusCode != http.StatusNotFound {
			t.Errorf("a photo that does not exist (%s): status %d: %s", id, res.StatusCode, body)
		}
	}

	// The signed link works without a token, for its photo and for 5 minutes.
	res, body := fetch(t, env, p.URL, "")
	if res.StatusCode != http.StatusOK || !bytes.Equal(body, png) {
		t.Fatalf("the signed url: status %d, %d bytes: %s", res.StatusCode, len(body), body)
	}
	if ct := res.Header.Get("Content-Type"); ct != "image/png" {
		t.Errorf("the signed url: Content-Type %q", ct)
	}
	u, err := url.Parse(p.URL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	exp, sig := q.Get("exp"), q.Get("sig")
	tampered := []byte(sig)
	tampered[0] ^= 1
	if tampered[0] == sig[0] {
		t.Fatal("tampering changed nothing")
	}
	expInt, err := strconv.ParseInt(exp, 10, 64)
	if err != nil {
		t.Fatalf("exp %q: %v", exp, err)
	}
	for _, c := range []struct{ name, link string }{
		{"a tampered sig", path + "?exp=" + exp + "&sig=" + string(tampered)},
		{"a later exp", path + "?exp=" + strconv.FormatInt(expInt+3600, 10) + "&sig=" + sig},
		{"another photo's id", "/photos/" + photos[0].ID + "?exp=" + exp + "&sig=" + sig},
	} {
		if res, body := fetch(t, env, c.link, ""); res.StatusCode != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403: %s", c.name, res.StatusCode, body)
		}
	}
	later := time.Now().Add(6 * time.Minute)
	env.Now = func() time.Time { return later }
	if res, body := fetch(t, env, p.URL, ""); res.StatusCode != http.StatusForbidden {
		t.Errorf("the signed url 6 minutes later: status %d, want 403: %s", res.StatusCode, body)
	}
	env.Now = time.Now

	// GraphQL keeps H1's photo from H2 too.
	const node = `query($id: ID!) { node(id: $id) { id ... on ComplaintPhoto { sha256 url } } }`
	var own struct{ Node *struct{ ID, Sha256 string } }
	env.As(t, h.H1).Query(t, node, map[string]any{"id": p.ID}).Decode(t, &own)
	if own.Node == nil || own.Node.ID != p.ID || own.Node.Sha256 != p.Sha256 {
		t.Fatalf("the owner's node(id:) = %+v", own.Node)
	}
	r := env.As(t, h.H2).Query(t, node, map[string]any{"id": p.ID})
	var other struct{ Node json.RawMessage }
	if len(r.Data) > 0 && string(r.Data) != "null" {
		if err := json.Unmarshal(r.Data, &other); err != nil {
			t.Fatalf("decode %s: %v", r.Data, err)
		}
	}
	if len(other.Node) > 0 && string(other.Node) != "null" {
		t.Errorf("another homeowner reads the photo through node(id:): %s", r.Body)
	}
	for _, e := range r.Errors {
		if e.Code() != "NOT_FOUND" {
			t.Errorf("another homeowner's node(id:): error %s, want none or NOT_FOUND", r.Body)
		}
	}
}

// TestUploadKeepsPhotoOrder: a complaint lists its photos in the order they
// were sent (input.photos), in the answer to submitComplaint and later.
func TestUploadKeepsPhotoOrder(t *testing.T) {
	env := apitest.New(t)
	h := newHomes(t, env)
	sent := [][]byte{jpegBytes(t)}
	for i := range 5 {
		sent = append(sent, apitest.PhotoBytes(fmt.Sprintf("photo %d", i)))
	}
	c := upload(t, env, h.H1, h.Unit1, sent...).SubmitComplaint.Complaint
	order := func(photos []uploadedPhoto) []int {
		var out []int
		for _, p := range photos {
			blob := storedBytes(t, env, p.ID)
			out = append(out, slices.IndexFunc(sent, func(f []byte) bool { return bytes.Equal(f, blob) }))
		}
		return out
	}
	want := []int{0, 1, 2, 3, 4, 5}
	if got := order(c.Photos); !slices.Equal(got, want) {
		t.Errorf("submitComplaint lists the photos sent as %v in the order %v", want, got)
	}
	var later struct {
		Node struct{ Photos []uploadedPhoto }
	}
	env.As(t, h.H1).Query(t, `query($id: ID!) { node(id: $id) { ... on Complaint { photos { id } } } }`,
		map[string]any{"id": c.ID}).Decode(t, &later)
	if got := order(later.Node.Photos); !slices.Equal(got, want) {
		t.Errorf("the homeowner reads the photos sent as %v in the order %v", want, got)
	}
}

// GPS rationals of the EXIF fixture: 31°14'7.123" N, 121°28'30.5" E.
var (
	gpsLatitude  = [6]uint32{31, 1, 14, 1, 7123, 1000}
	gpsLongitude = [6]uint32{121, 1, 28, 1, 305, 10}
)

// exifJPEG returns a real JPEG with an APP1 Exif segment right after SOI
// whose IFD0 holds Orientation=6 and a GPSInfo pointer to a GPS IFD with a
// latitude and a longitude, and the bytes of those two rationals as stored.
func exifJPEG(tb testing.TB) (jpg []byte, lat, lon []byte) {
	tb.Helper()
	le := binary.LittleEndian
	const (
		ifd0 = 8
		gps  = ifd0 + 2 + 2*12 + 4 // 38
		latV = gps + 2 + 4*12 + 4  // 92
		lonV = latV + 3*8          // 116
	)
	entry := func(b []byte, tag, typ uint16, count uint32, value []byte) []byte {
		b = le.AppendUint16(b, tag)
		b = le.AppendUint16(b, typ)
		b = le.AppendUint32(b, count)
		v := make([]byte, 4)
		copy(v, value)
		return append(b, v...)
	}
	u32 := func(v uint32) []byte { return le.AppendUint32(nil, v) }
	rationals := func(r [6]uint32) []byte {
		var b []byte
		for _, v := range r {
			b = le.AppendUint32(b, v)
		}
		return b
	}
	tiff := []byte("II")
	tiff = le.AppendUint16(tiff, 42)
	tiff = le.AppendUint32(tiff, ifd0)
	tiff = le.AppendUint16(tiff, 2) // IFD0
	tiff = entry(tiff, 0x0112, 3, 1, le.AppendUint16(nil, 6))
	tiff = entry(tiff, 0x8825, 4, 1, u32(gps))
	tiff = le.AppendUint32(tiff, 0)
	tiff = le.AppendUint16(tiff, 4) // GPS IFD
	tiff = entry(tiff, 0x0001, 2, 2, []byte("N\x00"))
	tiff = entry(tiff, 0x0002, 5, 3, u32(latV))
	tiff = entry(tiff, 0x0003, 2, 2, []byte("E\x00"))
	tiff = entry(tiff, 0x0004, 5, 3, u32(lonV))
	tiff = le.AppendUint32(tiff, 0)
	if len(tiff) != latV {
		tb.Fatalf("exif fixture: latitude at %d, want %d", len(tiff), latV)
	}
	lat, lon = rationals(gpsLatitude), rationals(gpsLongitude)
	tiff = append(append(tiff, lat...), lon...)

	payload := append([]byte("Exif\x00\x00"), tiff...)
	seg := []byte{0xFF, 0xE1}
	seg = binary.BigEndian.AppendUint16(seg, uint16(len(payload)+2))
	seg = append(seg, payload...)
	plain := jpegBytes(tb)
	jpg = append(append(append([]byte{}, plain[:2]...), seg...), plain[2:]...)
	return jpg, lat, lon
}

func TestUploadStripsJPEGLocation(t *testing.T) {
	env := apitest.New(t)
	h := newHomes(t, env)
	jpg, lat, lon := exifJPEG(t)
	if !bytes.Contains(jpg, lat) || !bytes.Contains(jpg, lon) {
		t.Fatal("the fixture does not carry its GPS rationals")
	}
	if _, err := jpeg.Decode(bytes.NewReader(jpg)); err != nil {
		t.Fatalf("the fixture is not a JPEG: %v", err)
	}
	p := upload(t, env, h.H1, h.Unit1, jpg).SubmitComplaint.Complaint.Photos[0]
	if !p.LocationRemoved || p.LocationFlagged || p.ContentType != "image/jpeg" {
		t.Errorf("photo = %+v, want a JPEG with locationRemoved", p)
	}
	res, body := fetch(t, env, "/photos/"+p.ID, tokenFor(t, env, h.H1))
	if res.StatusCode != http.StatusOK {
		t.Fatalf("download: status %d: %s", res.StatusCode, body)
	}
	if bytes.Contains(body, lat) || bytes.Contains(body, lon) {
		t.Error("the downloaded photo still holds the GPS latitude or longitude")
	}
	if bytes.Equal(body, jpg) {
		t.Error("the downloaded photo is the one sent")
	}
	// Blanked in place: same length, Orientation kept, still a JPEG, and the
	// recorded size and hash are those of what is served.
	orientation := []byte{0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0}
	if len(body) != len(jpg) || !bytes.Contains(body, orientation) {
		t.Errorf("the cleaned photo: %d bytes (sent %d), orientation kept %v", len(body), len(jpg), bytes.Contains(body, orientation))
	}
	if p.SizeBytes != int64(len(body)) || p.Sha256 != sha256Hex(body) {
		t.Errorf("sizeBytes %d sha256 %s, served %d bytes with sha256 %s", p.SizeBytes, p.Sha256, len(body), sha256Hex(body))
	}
	if _, err := jpeg.Decode(bytes.NewReader(body)); err != nil {
		t.Errorf("the cleaned photo no longer decodes: %v", err)
	}
	if !bytes.Equal(body, storedBytes(t, env, p.ID)) {
		t.Error("the download is not the stored blob")
	}
}

// TestUploadChineseTitle files a complaint whose title and description are
// within the documented limits (100 and 5000 characters) but longer in UTF-8
// bytes, as Chinese text is: it must be accepted, and if it is not, the
// photo already stored must not be left behind.
func TestUploadChineseTitle(t *testing.T) {
	env := apitest.New(t)
	h := newHomes(t, env)
	title, description := strings.Repeat("漏", 40), strings.Repeat("水", 2000) // 120 and 6000 bytes
	vars := complaintInput(h.Unit1)
	in := vars["input"].(map[string]any)
	in["title"], in["description"] = title, description
	res := env.Do(t, multipartRequest(t, tokenFor(t, env, h.H1), submitComplaint, vars, map[string][]byte{"0": jpegBytes(t)}))
	if len(res.Errors) > 0 {
		if keys := photoKeys(t, env); len(keys) != 0 {
			t.Errorf("the failed filing left blobs in the photo store: %v", keys)
		}
		t.Fatalf("a title of %d and a description of %d characters were refused: %s",
			len([]rune(title)), len([]rune(description)), res.Body)
	}
	c := env.Client.Complaint.Query().OnlyX(apitest.System())
	if c.Title != title || c.Description != description {
		t.Errorf("stored title %q, description of %d characters", c.Title, len([]rune(c.Description)))
	}
	if keys := photoKeys(t, env); len(keys) != 1 {
		t.Errorf("blobs in the photo store: %v, want 1", keys)
	}
}
