package storage_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"estatecrm/storage"
)

// KeysBefore lists only blobs older than the cut-off and clears the temp
// files a crashed Put left behind, keeping those of Puts still running.
func TestKeysBeforeAndStaleTempFiles(t *testing.T) {
	root := t.TempDir()
	d, err := storage.NewDir(root)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	old, _, err := d.Put(ctx, "complaints", strings.NewReader("old"))
	if err != nil {
		t.Fatal(err)
	}
	fresh, _, err := d.Put(ctx, "complaints", strings.NewReader("fresh"))
	if err != nil {
		t.Fatal(err)
	}
	hourAgo := time.Now().Add(-time.Hour)
	if err := os.Chtimes(filepath.Join(root, old), hourAgo, hourAgo); err != nil {
		t.Fatal(err)
	}
	crashed, running := filepath.Join(root, ".tmp", "put-crashed"), filepath.Join(root, ".tmp", "put-running")
	for _, f := range []string{crashed, running} {
		if err := os.WriteFile(f, []byte("partial"), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chtimes(crashed, hourAgo, hourAgo); err != nil {
		t.Fatal(err)
	}

	keys, err := d.KeysBefore(ctx, time.Now().Add(-30*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(keys, []string{old}) {
		t.Fatalf("keys before half an hour ago: %v, want only %s (not %s)", keys, old, fresh)
	}
	if _, err := os.Stat(crashed); !os.IsNotExist(err) {
		t.Error("the temp file of a crashed put is still there")
	}
	if _, err := os.Stat(running); err != nil {
		t.Error("the temp file of a running put was removed")
	}
}
