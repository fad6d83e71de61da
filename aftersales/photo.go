package aftersales

import (
	"context"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // dimensions of JPEG photos
	_ "image/png"  // and of PNG ones
	"io"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"estatecrm/apperr"
	"estatecrm/ent"
	"estatecrm/ent/schema/pulid"
	"estatecrm/photo"
	"estatecrm/storage"
)

// Photo limits of a complaint (issue 5): phones send a few large photos.
const (
	MaxPhotos     = 9
	MaxPhotoBytes = 10 << 20
)

// photoPrefix names complaint photos in storage.
const photoPrefix = "complaints"

// storedPhoto is a photo in storage, not yet in the database.
type storedPhoto struct {
	key   string
	clean photo.Clean
	// width and height, where the standard library reads them (JPEG, PNG),
	// so that a phone can lay out thumbnails before it loads them.
	width, height *int
}

type storedPhotos struct {
	store storage.Store
	list  []storedPhoto
}

// storePhotos checks each upload by its content and streams it into
// storage. Either all are stored or none is left behind: a bad photo
// removes the ones before it, and a transaction that rolls back later
// removes them all.
func (d *Desk) storePhotos(ctx context.Context, uploads []*graphql.Upload) (*storedPhotos, error) {
	s := &storedPhotos{store: d.Photos}
	if len(uploads) == 0 {
		return s, nil
	}
	if d.Photos == nil {
		return nil, apperr.New(apperr.Unavailable, "photo storage is not configured")
	}
	for i, up := range uploads {
		field := fmt.Sprintf("input.photos.%d", i)
		if up == nil || up.File == nil {
			s.discard(ctx)
			return nil, apperr.Input(field, "missing file")
		}
		key, clean, err := storeOne(ctx, d.Photos, up.File, up.Size)
		switch {
		case errors.Is(err, photo.ErrNotImage):
			s.discard(ctx)
			return nil, apperr.Input(field, "not a JPEG, PNG, WebP or HEIC image")
		case errors.Is(err, photo.ErrTooLarge):
			s.discard(ctx)
			return nil, apperr.Input(field, "a photo is at most %d MB", MaxPhotoBytes>>20)
		case errors.Is(err, photo.ErrTooManyPixels):
			s.discard(ctx)
			return nil, apperr.Input(field, "%s", err)
		case err != nil:
			s.discard(ctx)
			return nil, err
		}
		p := storedPhoto{key: key, clean: clean}
		p.width, p.height = dimensions(ctx, d.Photos, key)
		s.list = append(s.list, p)
	}
	// Inside a caller's transaction, a rollback after this removes them too.
	if tx := ent.TxFromContext(ctx); tx != nil {
		tx.OnRollback(func(next ent.Rollbacker) ent.Rollbacker {
			return ent.RollbackFunc(func(rctx context.Context, tx *ent.Tx) error {
				err := next.Rollback(rctx, tx)
				s.discard(context.WithoutCancel(rctx))
				return err
			})
		})
	}
	return s, nil
}

// storeOne streams one photo through photo.Copy into storage: the bytes
// are sniffed, scrubbed of a JPEG's GPS data and hashed on the way, so memory
// does not grow with the photo's size. size is the upload's (0: unknown);
// photo.Copy keeps a photo's length, so it is the stored blob's too, which
// lets an object store stream the photo in one PUT.
func storeOne(ctx context.Context, store storage.Store, src io.Reader, size int64) (string, photo.Clean, error) {
	pr, pw := io.Pipe()
	done := make(chan struct{})
	var clean photo.Clean
	var copyErr error
	go func() {
		defer close(done)
		clean, copyErr = photo.Copy(pw, src, MaxPhotoBytes)
		pw.CloseWithError(copyErr)
	}()
	var body io.Reader = pr
	if size > 0 {
		body = storage.Sized(pr, size)
	}
	key, _, err := store.Put(ctx, photoPrefix, body)
	pr.CloseWithError(io.ErrClosedPipe) // unblock the copier if Put gave up early
	<-done
	switch {
	case errors.Is(copyErr, photo.ErrNotImage) || errors.Is(copyErr, photo.ErrTooLarge) || errors.Is(copyErr, photo.ErrTooManyPixels):
		if err == nil {
			_ = store.Delete(context.WithoutCancel(ctx), key)
		}
		return "", clean, copyErr
	case err != nil: // storage failed first; the copier saw only the closed pipe
		return "", clean, err
	case copyErr != nil:
		_ = store.Delete(context.WithoutCancel(ctx), key)
		return "", clean, copyErr
	}
	return key, clean, nil
}

// discard removes the stored photos (the filing failed).
func (s *storedPhotos) discard(ctx context.Context) {
	for _, p := range s.list {
		_ = s.store.Delete(ctx, p.key)
	}
	s.list = nil
}

// attach records the stored photos as the complaint's.
func (s *storedPhotos) attach(ctx context.Context, client *ent.Client, id pulid.ID, now time.Time) error {
	if len(s.list) == 0 {
		return nil
	}
	creates := make([]*ent.ComplaintPhotoCreate, len(s.list))
	for i, p := range s.list {
		creates[i] = client.ComplaintPhoto.Create().SetComplaintID(id).SetStorageKey(p.key).
			SetContentType(p.clean.ContentType).SetSizeBytes(p.clean.Size).SetSha256(p.clean.SHA256).
			SetLocationRemoved(p.clean.LocationRemoved).SetLocationFlagged(p.clean.LocationFlagged).
			SetNillableWidth(p.width).SetNillableHeight(p.height).
			SetCreatedAt(now)
	}
	_, err := client.ComplaintPhoto.CreateBulk(creates...).Save(ctx)
	return err
}

// dimensions reads a stored photo's header for its size; nil for formats
// the standard library does not decode (WebP, HEIC) or a header it cannot
// read, which the photo was accepted with anyway: it is still a photo.
func dimensions(ctx context.Context, store storage.Store, key string) (width, height *int) {
	f, _, err := store.Open(ctx, key)
	if err != nil {
		return nil, nil
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(f)
	if err != nil {
		return nil, nil
	}
	return &cfg.Width, &cfg.Height
}
