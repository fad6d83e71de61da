package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"
)

// KeysBefore implements Store: it lists the blobs last written before t,
// and removes the temp files of Puts that began before t and never finished
// (the process died mid-upload). ctx is not checked: a walk of a local
// directory does not wait on anything that a deadline would help with.
func (d *Dir) KeysBefore(_ context.Context, t time.Time) ([]string, error) {
	root, err := d.openRoot()
	if err != nil {
		return nil, err
	}
	defer root.Close()
	var keys []string
	err = fs.WalkDir(root.FS(), ".", func(p string, e fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) { // renamed or swept by another process meanwhile
			return nil
		}
		if err != nil || e.IsDir() || !e.Type().IsRegular() {
			return err
		}
		info, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil || !info.ModTime().Before(t) {
			return err
		}
		switch {
		case strings.HasPrefix(p, tmpDir+"/"+tmpPrefix):
			if err := root.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		case validKey(p):
			keys = append(keys, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: keys before: %w", err)
	}
	return keys, nil
}
