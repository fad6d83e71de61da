package api_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"estatecrm/aftersales"
	"estatecrm/api"
	"estatecrm/api/apitest"
)

// The sweep removes a stored photo no complaint holds once it is old
// enough, and never a photo a complaint holds or one too new to judge.
func TestSweepOrphanPhotos(t *testing.T) {
	env := apitest.New(t)
	env.World(t) // two complaints with a photo each
	ctx := apitest.System()
	held := env.Blobs(t)
	if len(held) != 2 {
		t.Fatalf("the world's photos: %v", held)
	}
	orphan, _, err := env.Photos.Put(ctx, "complaints", bytes.NewReader(apitest.PhotoBytes("orphan")))
	if err != nil {
		t.Fatal(err)
	}

	if n, err := aftersales.SweepOrphanPhotos(ctx, env.Client, env.Photos, time.Now().Add(-time.Hour)); err != nil || n != 0 {
		t.Fatalf("a sweep of photos older than an hour removed %d, %v; all are new", n, err)
	}
	n, err := aftersales.SweepOrphanPhotos(ctx, env.Client, env.Photos, time.Now().Add(time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("swept %d, %v; want the orphan", n, err)
	}
	left := env.Blobs(t)
	slices.Sort(left)
	slices.Sort(held)
	if !slices.Equal(left, held) || slices.Contains(left, orphan) {
		t.Fatalf("left %v, want the held photos %v", left, held)
	}
}

// Uploads a dead process left in the upload directory are removed once
// stale; other files there are not touched.
func TestSweepUploads(t *testing.T) {
	dir := t.TempDir()
	stale, fresh, other := filepath.Join(dir, "estatecrm-upload-1"), filepath.Join(dir, "estatecrm-upload-2"), filepath.Join(dir, "someone-else")
	for _, f := range []string{stale, fresh, other} {
		if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	hourAgo := time.Now().Add(-time.Hour)
	for _, f := range []string{stale, other} {
		if err := os.Chtimes(f, hourAgo, hourAgo); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := api.SweepUploads(dir, time.Now().Add(-30*time.Minute)); err != nil || n != 1 {
		t.Fatalf("swept %d, %v; want the stale upload", n, err)
	}
	for f, want := range map[string]bool{stale: false, fresh: true, other: true} {
		if _, err := os.Stat(f); (err == nil) != want {
			t.Errorf("%s exists: %v, want %v", filepath.Base(f), err == nil, want)
		}
	}
}
