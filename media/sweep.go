package media

import (
	"context"
	"strings"
	"time"

	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/media"
	"estatecrm/storage"
)

// OrphanAge is how old a stored media file without a row must be before a
// sweep removes it: far longer than an upload request may run, so a file
// whose row is about to commit is never taken.
const OrphanAge = time.Hour

// SweepOrphans removes the media files in the store that no item holds and that
// were stored before the cut-off: what a process that died between storing
// a file and committing its row (or between removing a row and its file)
// left behind. Complaint photos in the same store are left alone. It is
// a background job of the server, no request's: it reads every item as the
// system.
func SweepOrphans(ctx context.Context, client *ent.Client, store storage.Store, before time.Time) (int, error) {
	all, err := store.KeysBefore(ctx, before)
	if err != nil {
		return 0, err
	}
	var keys []string
	for _, k := range all {
		if strings.HasPrefix(k, prefix+"/") {
			keys = append(keys, k)
		}
	}
	removed := 0
	for len(keys) > 0 {
		batch := keys[:min(len(keys), 500)]
		keys = keys[len(batch):]
		held, err := client.Media.Query().Where(media.StorageKeyIn(batch...)).
			Select(media.FieldStorageKey).Strings(auth.SystemContext(ctx))
		if err != nil {
			return removed, err
		}
		known := make(map[string]bool, len(held))
		for _, k := range held {
			known[k] = true
		}
		for _, k := range batch {
			if known[k] {
				continue
			}
			if err := store.Delete(ctx, k); err != nil {
				return removed, err
			}
			removed++
		}
	}
	return removed, nil
}
