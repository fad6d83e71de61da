package api_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"estatecrm/api/apitest"
)

// A map that puts a file where the variables have no slot for it (past the
// end of the list, through a string, into a variable that does not exist)
// is BAD_USER_INPUT naming the path: it used to panic inside gqlgen's
// upload code (HTTP 500 and a stack in the log). Nothing is kept, and the
// server goes on answering.
func TestUploadMapToNoSlotIsBadInput(t *testing.T) {
	env := apitest.New(t)
	h := newHomes(t, env)
	for _, tc := range []struct{ path, field string }{
		{"variables.input.photos.5", "input.photos.5"},
		{"variables.input.photos.-1", "input.photos.-1"},
		{"variables.input.photos.x", "input.photos.x"},
		{"variables.input.title.0", "input.title.0"},
		{"variables.input.title", "input.title"}, // a slot, but not an empty one
		{"variables.nothing.0", "nothing.0"},
		{"variables.input.photos.0.deeper", "input.photos.0.deeper"},
		{"variables", "map"},
		{"operations.0", "map"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			ops, _ := photoOps(submitComplaint, complaintInput(h.Unit1), 1)
			body, ct := multipartBody(t, ops, map[string][]string{"0": {tc.path}}, []filePart{
				{key: "0", filename: "x.jpg", contentType: "image/jpeg", content: bytes.NewReader(jpegBytes(t))}})
			res := env.Do(t, uploadRequest(tokenFor(t, env, h.H1), body, ct))
			e := res.OnlyError(t)
			if res.Status != http.StatusBadRequest || e.Code() != "BAD_USER_INPUT" || e.Field() != tc.field {
				t.Fatalf("want 400 BAD_USER_INPUT on %s, got %d %s", tc.field, res.Status, res.Body)
			}
			if left := uploadsLeft(t, env); len(left) != 0 {
				t.Fatalf("temporary upload files left behind: %v", left)
			}
		})
	}
	if strings.Contains(env.Log.String(), "panic") {
		t.Fatalf("a malformed map panicked: %.500s", env.Log.String())
	}
	if n := env.Client.Complaint.Query().CountX(apitest.System()); n != 0 {
		t.Fatalf("%d complaints filed", n)
	}
	// The server still takes a good upload.
	if got := upload(t, env, h.H1, h.Unit1, jpegBytes(t)); len(got.SubmitComplaint.Complaint.Photos) != 1 {
		t.Fatalf("a good upload after the bad ones: %+v", got)
	}
}

// A photo declaring more pixels than photo.MaxPixels (a 100000×100000 PNG
// of a few hundred bytes, a 65500×65500 JPEG) is BAD_USER_INPUT naming the
// photo; it used to be stored.
func TestUploadRefusesTooManyPixels(t *testing.T) {
	env := apitest.New(t)
	h := newHomes(t, env)
	png := apitest.PhotoBytes("huge")
	binary.BigEndian.PutUint32(png[16:], 100000)
	binary.BigEndian.PutUint32(png[20:], 100000)
	jpg := jpegBytes(t)
	sof := bytes.Index(jpg, []byte{0xFF, 0xC0})
	binary.BigEndian.PutUint16(jpg[sof+5:], 65500)
	binary.BigEndian.PutUint16(jpg[sof+7:], 65500)
	for i, files := range [][][]byte{{png}, {jpegBytes(t), jpg}} {
		m := map[string][]byte{}
		for k, f := range files {
			m[strconv.Itoa(k)] = f
		}
		res := env.Do(t, multipartRequest(t, tokenFor(t, env, h.H1), submitComplaint, complaintInput(h.Unit1), m))
		field := fmt.Sprintf("input.photos.%d", len(files)-1)
		e := res.OnlyError(t)
		if e.Code() != "BAD_USER_INPUT" || e.Field() != field || !strings.Contains(e.Message, "megapixels") {
			t.Fatalf("request %d: want BAD_USER_INPUT on %s about megapixels, got %s", i, field, res.Body)
		}
	}
	if n := env.Client.ComplaintPhoto.Query().CountX(apitest.System()); n != 0 {
		t.Fatalf("%d photos stored", n)
	}
	if keys := photoKeys(t, env); len(keys) != 0 {
		t.Fatalf("blobs left in the photo store: %v", keys)
	}
}
