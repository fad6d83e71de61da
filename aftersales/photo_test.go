package aftersales

import (
	"bytes"
	"context"
	"encoding/binary"
	"image"
	"image/png"
	"testing"

	"github.com/99designs/gqlgen/graphql"

	"estatecrm/apperr"
	"estatecrm/storage"
)

// A photo declaring more pixels than photo.MaxPixels is refused as bad
// input naming its field, whoever files it, and leaves no blob behind.
func TestPhotoWithTooManyPixelsIsBadInput(t *testing.T) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 4, 4))); err != nil {
		t.Fatal(err)
	}
	huge := buf.Bytes()
	binary.BigEndian.PutUint32(huge[16:], 100000) // IHDR width
	binary.BigEndian.PutUint32(huge[20:], 100000) // IHDR height
	store, err := storage.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	d := &Desk{Photos: store}
	_, err = d.storePhotos(context.Background(), []*graphql.Upload{{File: bytes.NewReader(huge), Filename: "huge.png"}})
	if e, ok := apperr.As(err); !ok || e.Code != apperr.BadUserInput || e.Field != "input.photos.0" {
		t.Fatalf("filing a 100000×100000 PNG: %v, want BAD_USER_INPUT on input.photos.0", err)
	}
	if keys, err := store.Keys(); err != nil || len(keys) != 0 {
		t.Fatalf("blobs left behind: %v (%v)", keys, err)
	}
}
