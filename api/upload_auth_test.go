package api_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"testing"

	"estatecrm/api/apitest"
)

// countingReader counts what the server read of a request body.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// Nobody without the right to file photos gets any of an upload read, let
// alone written to disk: an anonymous caller and a portal are refused first.
func TestUploadRefusedBeforeReading(t *testing.T) {
	env := apitest.New(t)
	h := newHomes(t, env)
	big := paddedJPEG(t, 5<<20)
	for _, c := range []struct {
		who    string
		header func(*http.Request)
		status int
		code   string
	}{
		{"anonymous", func(*http.Request) {}, http.StatusUnauthorized, "UNAUTHENTICATED"},
		{"a portal", func(r *http.Request) { r.Header.Set("X-API-Key", createKey(t, env)) }, http.StatusForbidden, "FORBIDDEN"},
	} {
		t.Run(c.who, func(t *testing.T) {
			req := multipartRequest(t, "", submitComplaint, complaintInput(h.Unit1), map[string][]byte{"0": big})
			body := &countingReader{r: req.Body}
			req.Body = io.NopCloser(body)
			c.header(req)
			res := env.Do(t, req)
			if res.Status != c.status || res.OnlyError(t).Code() != c.code {
				t.Fatalf("status %d, body %s; want %d %s", res.Status, res.Body, c.status, c.code)
			}
			if body.n != 0 {
				t.Errorf("the server read %d bytes of a refused upload", body.n)
			}
			if left := uploadsLeft(t, env); len(left) != 0 {
				t.Errorf("files left in the upload directory: %v", left)
			}
		})
	}
}

// One file may fill several variables, but not more places than the files
// a request may carry.
func TestUploadMapToTooManyPlaces(t *testing.T) {
	env := apitest.New(t)
	h := newHomes(t, env)
	ops, _ := photoOps(submitComplaint, complaintInput(h.Unit1), 10)
	places := make([]string, 10)
	for i := range places {
		places[i] = fmt.Sprintf("variables.input.photos.%d", i)
	}
	body, ct := multipartBody(t, ops, map[string][]string{"0": places},
		[]filePart{{key: "0", filename: "a.jpg", contentType: "image/jpeg", content: bytes.NewReader(jpegBytes(t))}})
	res := env.Do(t, uploadRequest(tokenFor(t, env, h.H1), body, ct))
	if e := res.OnlyError(t); e.Code() != "BAD_USER_INPUT" || e.Field() != "input.photos" {
		t.Fatalf("got %s %q: %s", e.Code(), e.Field(), res.Body)
	}
}

// A JPEG's and a PNG's size are recorded, for laying out thumbnails.
func TestUploadRecordsDimensions(t *testing.T) {
	env := apitest.New(t)
	h := newHomes(t, env)
	photos := upload(t, env, h.H1, h.Unit1, jpegBytes(t), apitest.PhotoBytes("dims")).SubmitComplaint.Complaint.Photos
	for i, want := range []int{16, 8} {
		var out struct{ Node struct{ Width, Height *int } }
		env.As(t, h.H1).Query(t, `query($id: ID!) { node(id: $id) { ... on ComplaintPhoto { width height } } }`,
			map[string]any{"id": photos[i].ID}).Decode(t, &out)
		if out.Node.Width == nil || out.Node.Height == nil || *out.Node.Width != want || *out.Node.Height != want {
			t.Errorf("photo %d: %v × %v, want %d × %d", i, out.Node.Width, out.Node.Height, want, want)
		}
	}
}

// An Idempotency-Key covers the photos' content: a retry with the same
// photos gets the first answer, the same key with other photos of the same
// name and size is a different request.
func TestUploadIdempotencyKeyCoversThePhotos(t *testing.T) {
	env := apitest.New(t)
	h := newHomes(t, env)
	send := func(photo []byte) *apitest.Response {
		req := multipartRequest(t, tokenFor(t, env, h.H1), submitComplaint, complaintInput(h.Unit1), map[string][]byte{"0": photo})
		req.Header.Set("Idempotency-Key", "leak-photos-1")
		return env.Do(t, req)
	}
	first := paddedJPEG(t, 4096)
	other := bytes.Clone(first) // same name and size, one byte apart
	other[len(other)-1] ^= 0xFF
	var a, b submitted
	send(first).Decode(t, &a)
	send(first).Decode(t, &b)
	if a.SubmitComplaint.Complaint.ID == "" || a.SubmitComplaint.Complaint.ID != b.SubmitComplaint.Complaint.ID {
		t.Fatalf("a retry filed %s after %s", b.SubmitComplaint.Complaint.ID, a.SubmitComplaint.Complaint.ID)
	}
	if e := send(other).OnlyError(t); e.Code() != "CONFLICT" {
		t.Fatalf("other photos under the same key: %s %s", e.Code(), e.Message)
	}
	if keys := photoKeys(t, env); len(keys) != 1 {
		t.Fatalf("%d photos stored; want the first request's one", len(keys))
	}
}
