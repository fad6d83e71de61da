package aftersales

import (
	"context"
	"strings"
	"time"

	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/complaintphoto"
	"estatecrm/storage"
)

// OrphanAge is how old a stored photo without a database row must be before
// a sweep removes it: far longer than any upload request may run, so a
// photo whose row is about to commit is never taken.
const OrphanAge = time.Hour

// SweepOrphanPhotos removes the photos in the store that no complaint holds and
// that were stored before the cut-off: what a process that died between
// storing a photo and committing its row left behind. It returns how many
// it removed. Only complaint photos (keys under "complaints/") are looked
// at: other files share the store (media, package media). It is a background job of the server (server/main.go), no
// request's: it reads every complaint's photos as the system, which is what
// auth.SystemContext is for.
func SweepOrphanPhotos(ctx context.Context, client *ent.Client, store storage.Store, before time.Time) (int, error) {
	all, err := store.KeysBefore(ctx, before)
	if err != nil {
		return 0, err
	}
	var keys []string
	for _, k := range all {
		if strings.HasPrefix(k, photoPrefix+"/") {
			keys = append(keys, k)
		}
	}
	removed := 0
	for len(keys) > 0 {
		batch := keys[:min(len(keys), 500)]
		keys = keys[len(batch):]
		held, err := client.ComplaintPhoto.Query().Where(complaintphoto.StorageKeyIn(batch...)).
			Select(complaintphoto.FieldStorageKey).Strings(auth.SystemContext(ctx))
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
