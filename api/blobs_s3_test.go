package api_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"estatecrm/api/apitest"
)

// TestOnS3 runs the tests of uploads, photos, media and their sweeps again
// with the blobs in an S3 bucket (a gofakes3 server in this process, spoken
// to by minio-go over HTTP): streaming uploads, signed photo links, ETag and
// immutable caching of media, authorization of reads and orphan sweeps must
// behave the same on both stores. TEST_BLOB_STORE=s3 runs every test so.
func TestOnS3(t *testing.T) {
	t.Setenv(apitest.StoreEnv, "s3")
	for _, tt := range []struct {
		name string
		test func(*testing.T)
	}{
		{"UploadComplaintWithPhotos", TestUploadComplaintWithPhotos},
		{"UploadRejects", TestUploadRejects},
		{"PhotoDownload", TestPhotoDownload},
		{"UploadKeepsPhotoOrder", TestUploadKeepsPhotoOrder},
		{"UploadStripsJPEGLocation", TestUploadStripsJPEGLocation},
		{"UploadRecordsDimensions", TestUploadRecordsDimensions},
		{"UploadRefusesTooManyPixels", TestUploadRefusesTooManyPixels},
		{"UploadIdempotencyKeyCoversThePhotos", TestUploadIdempotencyKeyCoversThePhotos},
		{"MediaUploadChecks", TestMediaUploadChecks},
		{"MediaServedOverHTTP", TestMediaServedOverHTTP},
		{"ListingMedia", TestListingMedia},
		{"SweepOrphanPhotos", TestSweepOrphanPhotos},
	} {
		t.Run(tt.name, tt.test)
	}
}

// newS3Env is a test server whose blobs are in an S3 bucket.
func newS3Env(t *testing.T) *apitest.Env {
	t.Helper()
	t.Setenv(apitest.StoreEnv, "s3")
	return apitest.New(t)
}

// A complaint filed while the object store fails, cut off in the middle of
// a photo or down altogether, is refused as UNAVAILABLE (the client tries
// again) and leaves nothing: no complaint, no blob, no upload file.
func TestUploadWhileS3Fails(t *testing.T) {
	env := newS3Env(t)
	h := newHomes(t, env)
	big := paddedJPEG(t, 3<<20)
	for _, fault := range []struct {
		name  string
		apply func()
	}{
		{"cut off midway", func() { env.S3.CutPutsAfter(1 << 20) }},
		{"down", env.S3.Close},
	} {
		fault.apply()
		res := env.Do(t, multipartRequest(t, tokenFor(t, env, h.H1), submitComplaint, complaintInput(h.Unit1),
			map[string][]byte{"0": jpegBytes(t), "1": big}))
		if len(res.Errors) != 1 || res.Errors[0].Code() != "UNAVAILABLE" {
			t.Fatalf("%s: filing a complaint: status %d: %s; want UNAVAILABLE", fault.name, res.Status, res.Body)
		}
		if n := env.Client.Complaint.Query().CountX(apitest.System()); n != 0 {
			t.Errorf("%s: %d complaints filed", fault.name, n)
		}
		if n := env.Client.ComplaintPhoto.Query().CountX(apitest.System()); n != 0 {
			t.Errorf("%s: %d photo rows", fault.name, n)
		}
		if left := uploadsLeft(t, env); len(left) != 0 {
			t.Errorf("%s: temporary upload files left behind: %v", fault.name, left)
		}
		if fault.name == "cut off midway" {
			// The first photo went in whole before the second failed: it
			// is removed with the request.
			if keys := env.Blobs(t); len(keys) != 0 {
				t.Errorf("%s: blobs left: %v", fault.name, keys)
			}
		}
	}
}

// With the store down, a photo (or a media file) that exists is answered
// 503 UNAVAILABLE, never 404: the client should try again, not forget it.
func TestPhotoAndMediaWhileS3IsDown(t *testing.T) {
	env := newS3Env(t)
	w := env.World(t) // complaints with a photo each
	p := env.Client.ComplaintPhoto.Query().FirstX(apitest.System())
	var out struct {
		UploadMedia struct{ Media struct{ URL string } }
	}
	uploadMedia(t, w.Caller(t, "MA"), map[string]any{"projectId": w.ID("pA"), "kind": "PHOTO"}, apitest.PhotoBytes("m"), "url").Decode(t, &out)

	env.S3.Close()
	if res, body := fetch(t, env, "/photos/"+string(p.ID), tokenFor(t, env, apitest.Admin)); res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("a photo with the store down: status %d: %s", res.StatusCode, body)
	}
	if res := mediaGet(t, w, "MA", out.UploadMedia.Media.URL); res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("a media file with the store down: status %d", res.StatusCode)
	}
	res := uploadMedia(t, w.Caller(t, "MA"), map[string]any{"projectId": w.ID("pA"), "kind": "PHOTO"}, apitest.PhotoBytes("n"), "url")
	if len(res.Errors) != 1 || res.Errors[0].Code() != "UNAVAILABLE" {
		t.Errorf("a media upload with the store down: %s; want UNAVAILABLE", res.Body)
	}
	if n := env.Client.Media.Query().CountX(apitest.System()); n != 1 {
		t.Errorf("%d media rows, want the 1 stored before", n)
	}
}

// Two server processes of a deployment share the bucket, not a volume: a
// photo filed through one is served by the other, to the same viewers.
func TestPhotoFiledOnOneProcessServedByAnother(t *testing.T) {
	if os.Getenv("TEST_DATABASE_URL") == "" {
		t.Skip("two server processes need PostgreSQL; set TEST_DATABASE_URL")
	}
	one := newS3Env(t)
	h := newHomes(t, one)
	jpg := jpegBytes(t)
	p := upload(t, one, h.H1, h.Unit1, jpg).SubmitComplaint.Complaint.Photos[0]
	two := one.Second(t)
	res, body := fetch(t, two, "/photos/"+p.ID, tokenFor(t, two, h.H1))
	if res.StatusCode != http.StatusOK || !bytes.Equal(body, jpg) {
		t.Fatalf("the owner GETs the photo from the other process: status %d, %d bytes", res.StatusCode, len(body))
	}
	if res, _ := fetch(t, two, "/photos/"+p.ID, tokenFor(t, two, h.H2)); res.StatusCode != http.StatusNotFound {
		t.Errorf("another homeowner GETs it from the other process: status %d, want 404", res.StatusCode)
	}
	// A signed link made by one process works on the other (one JWT key).
	res, _ = fetch(t, two, p.URL, "")
	if res.StatusCode != http.StatusOK {
		t.Errorf("the signed link on the other process: status %d", res.StatusCode)
	}
}

// A cache revalidating a photo or a media file it holds (If-None-Match with
// the ETag) is answered 304 without a GET of the object; a plain GET reads it.
func TestRevalidationReadsNoBlob(t *testing.T) {
	env := newS3Env(t)
	w := env.World(t)
	var out struct {
		UploadMedia struct{ Media struct{ URL, Sha256 string } }
	}
	uploadMedia(t, w.Caller(t, "MA"), map[string]any{"projectId": w.ID("pA"), "kind": "PHOTO"}, apitest.PhotoBytes("m"), "url sha256").Decode(t, &out)
	p := env.Client.ComplaintPhoto.Query().FirstX(apitest.System())
	admin := tokenFor(t, env, apitest.Admin)
	for _, c := range []struct {
		name, path, etag, cache string
	}{
		{"photo", "/photos/" + string(p.ID), `"` + p.Sha256 + `"`, "private, max-age=300"},
		{"media", out.UploadMedia.Media.URL, `"` + out.UploadMedia.Media.Sha256 + `"`, "public, max-age=31536000, immutable"},
	} {
		get := func(header ...string) *http.Response {
			req := httptest.NewRequest(http.MethodGet, c.path, nil)
			req.Header.Set("Authorization", "Bearer "+admin)
			if len(header) == 2 {
				req.Header.Set(header[0], header[1])
			}
			rec := httptest.NewRecorder()
			env.Handler.ServeHTTP(rec, req)
			return rec.Result()
		}
		before := env.S3.ObjectGets()
		res := get("If-None-Match", c.etag)
		if res.StatusCode != http.StatusNotModified || res.Header.Get("ETag") != c.etag || res.Header.Get("Cache-Control") != c.cache {
			t.Errorf("%s revalidated: status %d, ETag %q, Cache-Control %q", c.name, res.StatusCode, res.Header.Get("ETag"), res.Header.Get("Cache-Control"))
		}
		if n := env.S3.ObjectGets() - before; n != 0 {
			t.Errorf("%s revalidated: %d GETs of the object, want none", c.name, n)
		}
		if res := get("If-None-Match", `"other"`); res.StatusCode != http.StatusOK || env.S3.ObjectGets()-before != 1 {
			t.Errorf("%s with another ETag: status %d, %d GETs of the object", c.name, res.StatusCode, env.S3.ObjectGets()-before)
		}
	}
}
