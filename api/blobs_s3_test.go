package api_test

import (
	"net/http"
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
