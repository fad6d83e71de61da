package photo

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

// withPNGSize rewrites a PNG's IHDR to declare w × h (the CRC is left as
// it was: nothing here checks it, and a hostile file would fix it anyway).
func withPNGSize(p []byte, w, h uint32) []byte {
	p = bytes.Clone(p)
	binary.BigEndian.PutUint32(p[16:], w)
	binary.BigEndian.PutUint32(p[20:], h)
	return p
}

// withJPEGSize rewrites a JPEG's frame header to declare w × h.
func withJPEGSize(t *testing.T, j []byte, w, h uint16) []byte {
	t.Helper()
	j = bytes.Clone(j)
	i := bytes.Index(j, []byte{0xFF, 0xC0})
	if i < 0 {
		t.Fatal("no SOF0 in the test JPEG")
	}
	binary.BigEndian.PutUint16(j[i+5:], h)
	binary.BigEndian.PutUint16(j[i+7:], w)
	return j
}

// withWebPCanvas makes the VP8X head of makeWebP declare w × h.
func withWebPCanvas(w, h uint32) []byte {
	p := makeWebP(false)
	put24 := func(b []byte, v uint32) { b[0], b[1], b[2] = byte(v), byte(v>>8), byte(v>>16) }
	put24(p[24:], w-1)
	put24(p[27:], h-1)
	return p
}

// A photo is refused by the size it declares, before its data is copied:
// a small file can declare 100000×100000 pixels and cost gigabytes to
// whoever decodes it.
func TestCopyRefusesTooManyPixels(t *testing.T) {
	png, jpg := makePNG(t, nil), makeJPEG(t)
	for _, tc := range []struct {
		name string
		in   []byte
		w, h int64
		bad  bool
	}{
		{"PNG as made", png, 48, 32, false},
		{"JPEG as made", jpg, 48, 32, false},
		{"PNG of 100000×100000", withPNGSize(png, 100000, 100000), 100000, 100000, true},
		{"JPEG of 65500×65500", withJPEGSize(t, jpg, 65500, 65500), 65500, 65500, true},
		{"WebP of 16383×16383", withWebPCanvas(16383, 16383), 16383, 16383, true},
		{"PNG of exactly 50 MP", withPNGSize(png, 10000, 5000), 10000, 5000, false},
		{"PNG one row over", withPNGSize(png, 10000, 5001), 10000, 5001, true},
		{"a 48 MP phone JPEG", withJPEGSize(t, jpg, 8064, 6048), 8064, 6048, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, h, ok, err := Dimensions(bytes.NewReader(tc.in))
			if err != nil || !ok || w != tc.w || h != tc.h {
				t.Fatalf("Dimensions = %d×%d %v %v, want %d×%d", w, h, ok, err, tc.w, tc.h)
			}
			_, err = Copy(io.Discard, bytes.NewReader(tc.in), 10<<20)
			if got := errors.Is(err, ErrTooManyPixels); got != tc.bad {
				t.Fatalf("Copy: %v, want refused: %v", err, tc.bad)
			}
		})
	}
}

// Dimensions cannot tell for HEIC, nor for a JPEG cut before its frame.
func TestDimensionsUnknown(t *testing.T) {
	jpg := makeJPEG(t)
	for name, in := range map[string][]byte{
		"HEIC":      makeHEIC(false),
		"cut JPEG":  jpg[:bytes.Index(jpg, []byte{0xFF, 0xC0})],
		"not photo": []byte("hello"),
	} {
		if _, _, ok, err := Dimensions(bytes.NewReader(in)); ok || err != nil {
			t.Errorf("%s: ok %v, err %v", name, ok, err)
		}
	}
}

type panicWriter struct{}

func (panicWriter) Write([]byte) (int, error) { panic("storage driver bug") }

// Copy runs in a goroutine of its caller's, where a panic would end the
// process: it returns it as an error.
func TestCopyTurnsAPanicIntoAnError(t *testing.T) {
	c, err := Copy(panicWriter{}, bytes.NewReader(makeJPEG(t)), 10<<20)
	if err == nil || c != (Clean{}) {
		t.Fatalf("got %+v, %v", c, err)
	}
}
