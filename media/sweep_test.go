package media_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"estatecrm/aftersales"
	"estatecrm/auth"
	"estatecrm/database/dbtest"
	entmedia "estatecrm/ent/media"
	"estatecrm/media"
	"estatecrm/storage"
)

// TestSweepsKeepToTheirOwnFiles: media and complaint photos share the blob
// store; each sweep removes only its own orphans. (The complaint sweep once
// took every file no complaint held: every media file an hour after upload.)
func TestSweepsKeepToTheirOwnFiles(t *testing.T) {
	ctx := context.Background()
	sys := auth.SystemContext(ctx)
	client := dbtest.Open(t).Client()
	dir, err := storage.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	put := func(prefix string) string {
		key, _, err := dir.Put(ctx, prefix, strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		return key
	}
	held, orphan, photo := put(media.Prefix), put(media.Prefix), put("complaints")
	p := client.Project.Create().SetName("P").SetCity("杭州").SaveX(sys)
	client.Media.Create().SetProjectID(p.ID).SetKind(entmedia.KindPHOTO).SetStorageKey(held).
		SetContentType("image/png").SetSizeBytes(1).SetSha256("00").SetWidth(1).SetHeight(1).ExecX(sys)
	later := time.Now().Add(time.Hour)
	exists := func(key string) bool {
		f, _, err := dir.Open(ctx, key)
		if errors.Is(err, storage.ErrNotFound) {
			return false
		}
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		return true
	}
	if n, err := aftersales.SweepOrphanPhotos(ctx, client, dir, later); err != nil || n != 1 {
		t.Fatalf("complaint sweep: %d, %v", n, err)
	}
	if !exists(held) || !exists(orphan) || exists(photo) {
		t.Fatalf("after the complaint sweep: held %v, orphan %v, photo %v", exists(held), exists(orphan), exists(photo))
	}
	if n, err := media.SweepOrphans(ctx, client, dir, later); err != nil || n != 1 {
		t.Fatalf("media sweep: %d, %v", n, err)
	}
	if !exists(held) || exists(orphan) {
		t.Fatalf("after the media sweep: held %v, orphan %v", exists(held), exists(orphan))
	}
	// Nothing is too young to be taken by a sweep with a past cut-off.
	young := put(media.Prefix)
	if n, _ := media.SweepOrphans(ctx, client, dir, time.Now().Add(-media.OrphanAge)); n != 0 || !exists(young) {
		t.Fatalf("a file younger than the cut-off was swept")
	}
}

func TestParseLayout(t *testing.T) {
	for in, want := range map[string]string{"3-2-2": "3-2-2", " 03-2-2 ": "3-2-2", "10-5-6": "10-5-6", "0-0-0": "0-0-0",
		"11-1-1": "", "3-2": "", "3-2-2-1": "", "a-b-c": "", "-1-2-2": "", "3-6-1": "", "3-1-7": "", "": "", "003-2-2": ""} {
		got, err := media.ParseLayout(in)
		if (err != nil) != (want == "") || got != want {
			t.Errorf("ParseLayout(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
