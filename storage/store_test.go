package storage_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"estatecrm/apperr"
	"estatecrm/storage"
	"estatecrm/storage/s3test"
)

// A store under test, and what it holds whatever the name (temp files of
// a directory, every object of a bucket): what a failed Put must not leave.
type storeCase struct {
	name string
	open func(t *testing.T) (storage.Store, func() []string)
}

var stores = []storeCase{
	{"dir", func(t *testing.T) (storage.Store, func() []string) {
		root := filepath.Join(t.TempDir(), "store")
		d, err := storage.NewDir(root)
		if err != nil {
			t.Fatal(err)
		}
		return d, func() []string {
			var files []string
			_ = filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
				if err == nil && !e.IsDir() {
					files = append(files, p)
				}
				return err
			})
			return files
		}
	}},
	{"s3", func(t *testing.T) (storage.Store, func() []string) {
		srv := s3test.Start(t)
		s := srv.Store(t)
		return s, func() []string { return srv.Objects(t, s.Bucket()) }
	}},
}

func eachStore(t *testing.T, f func(t *testing.T, s storage.Store, held func() []string)) {
	for _, sc := range stores {
		t.Run(sc.name, func(t *testing.T) {
			s, held := sc.open(t)
			f(t, s, held)
		})
	}
}

// unsized hides a reader's Len, as a pipe has none.
type unsized struct{ io.Reader }

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

func readAll(t *testing.T, s storage.Store, key string) []byte {
	t.Helper()
	f, size, err := s.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("Open(%s): %v", key, err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	if size != int64(len(b)) {
		t.Errorf("Open size %d, read %d bytes", size, len(b))
	}
	return b
}

func TestStorePutOpenRoundTrip(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store, _ func() []string) {
		for _, size := range []int{0, 25, 100 << 10, 6 << 20} {
			data := pattern(size)
			for name, r := range map[string]func() io.Reader{
				"known length":   func() io.Reader { return bytes.NewReader(data) },
				"sized pipe":     func() io.Reader { return storage.Sized(unsized{bytes.NewReader(data)}, int64(size)) },
				"unknown length": func() io.Reader { return unsized{bytes.NewReader(data)} },
			} {
				key, n, err := s.Put(context.Background(), "complaints", r())
				if err != nil {
					t.Fatalf("%d bytes, %s: Put: %v", size, name, err)
				}
				if n != int64(size) || !strings.HasPrefix(key, "complaints/") {
					t.Errorf("%d bytes, %s: Put = %q, %d", size, name, key, n)
				}
				if got := readAll(t, s, key); !bytes.Equal(got, data) {
					t.Errorf("%d bytes, %s: read back %d bytes that differ", size, name, len(got))
				}
			}
		}
	})
}

// http.ServeContent seeks to the end for the size, back to a range's
// start, and reads: every seek must land where it says.
func TestStoreOpenSeeks(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store, _ func() []string) {
		data := pattern(300 << 10)
		key, _, err := s.Put(context.Background(), "media", bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		f, size, err := s.Open(context.Background(), key)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if end, err := f.Seek(0, io.SeekEnd); err != nil || end != size || size != int64(len(data)) {
			t.Fatalf("seek to the end: %d, %v; size %d", end, err, size)
		}
		for _, off := range []int64{0, 1000, 200 << 10, 100, int64(len(data)) - 10} {
			if _, err := f.Seek(off, io.SeekStart); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 10)
			if _, err := io.ReadFull(f, buf); err != nil {
				t.Fatalf("read 10 at %d: %v", off, err)
			}
			if !bytes.Equal(buf, data[off:off+10]) {
				t.Errorf("10 bytes at %d differ", off)
			}
		}
		if n, err := f.Read(make([]byte, 1)); n != 0 || err != io.EOF {
			t.Errorf("read at the end: %d, %v; want EOF", n, err)
		}
	})
}

// A body shorter or longer than it was said to be is not stored as if it
// were whole.
func TestStorePutWrongLength(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store, held func() []string) {
		data := pattern(200 << 10)
		for _, said := range []int64{int64(len(data)) - 1, int64(len(data)) + 1, 0} {
			key, _, err := s.Put(context.Background(), "complaints", storage.Sized(unsized{bytes.NewReader(data)}, said))
			if !errors.Is(err, storage.ErrLength) {
				t.Errorf("a body of %d bytes said to be %d: %q, %v; want ErrLength", len(data), said, key, err)
			}
		}
		if left := held(); len(left) != 0 {
			t.Errorf("left behind: %q", left)
		}
	})
}

// failingReader yields n bytes, then err.
type failingReader struct {
	n   int
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n == 0 {
		return 0, f.err
	}
	k := min(len(p), f.n)
	clear(p[:k])
	f.n -= k
	return k, nil
}

func TestStorePutBodyFails(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store, held func() []string) {
		boom := errors.New("connection reset by the client")
		for _, r := range []io.Reader{
			storage.Sized(&failingReader{n: 100 << 10, err: boom}, 300<<10),
			&failingReader{n: 6 << 20, err: boom}, // past the first part of a multipart upload
		} {
			key, n, err := s.Put(context.Background(), "complaints", r)
			if !errors.Is(err, boom) || key != "" || n != 0 {
				t.Errorf("Put = %q, %d, %v; want the body's error", key, n, err)
			}
			if _, ok := apperr.As(err); ok {
				t.Errorf("the body's failure is blamed on the store: %v", err)
			}
		}
		if left := held(); len(left) != 0 {
			t.Errorf("left behind: %q", left)
		}
		if keys, err := s.KeysBefore(context.Background(), time.Now().Add(time.Hour)); err != nil || len(keys) != 0 {
			t.Errorf("KeysBefore: %q, %v", keys, err)
		}
	})
}

// cancelAfter serves r and cancels once after bytes were served.
type cancelAfter struct {
	r      io.Reader
	after  int
	served int
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.served += n
	if c.served >= c.after || err == io.EOF {
		c.cancel()
	}
	return n, err
}

func TestStorePutCancelled(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store, held func() []string) {
		const size = 1 << 20
		for _, after := range []int{-1, 1, size} {
			ctx, cancel := context.WithCancel(context.Background())
			var r io.Reader = storage.Sized(&cancelAfter{r: bytes.NewReader(pattern(size)), after: after, cancel: cancel}, size)
			if after < 0 {
				cancel()
			}
			if key, _, err := s.Put(ctx, "complaints", r); !errors.Is(err, context.Canceled) {
				t.Errorf("cancelled after %d bytes: Put = %q, %v; want context.Canceled", after, key, err)
			}
			cancel()
		}
		if left := held(); len(left) != 0 {
			t.Errorf("left behind: %q", left)
		}
	})
}

func TestStoreDeleteAndInvalidKeys(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store, held func() []string) {
		key, _, err := s.Put(context.Background(), "complaints", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"", "../x", "/" + key, key + "/", strings.ToUpper(key), "complaints", "complaints/../" + key} {
			if _, _, err := s.Open(context.Background(), bad); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("Open(%q): %v, want ErrNotFound", bad, err)
			}
			if err := s.Delete(context.Background(), bad); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("Delete(%q): %v, want ErrNotFound", bad, err)
			}
		}
		// Delete is the clean-up of a rollback, often under a cancelled context.
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := s.Delete(ctx, key); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if err := s.Delete(context.Background(), key); err != nil {
			t.Errorf("second Delete: %v", err)
		}
		if _, _, err := s.Open(context.Background(), key); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Open after Delete: %v", err)
		}
		if left := held(); len(left) != 0 {
			t.Errorf("left behind: %q", left)
		}
	})
}

func TestStoreKeysBefore(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store, _ func() []string) {
		ctx := context.Background()
		var want []string
		for _, prefix := range []string{"complaints", "media"} {
			key, _, err := s.Put(ctx, prefix, strings.NewReader(prefix))
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, key)
		}
		if keys, err := s.KeysBefore(ctx, time.Now().Add(-time.Hour)); err != nil || len(keys) != 0 {
			t.Errorf("keys written before an hour ago: %q, %v", keys, err)
		}
		keys, err := s.KeysBefore(ctx, time.Now().Add(time.Hour))
		slices.Sort(keys)
		slices.Sort(want)
		if err != nil || !slices.Equal(keys, want) {
			t.Errorf("keys written before in an hour: %q, %v; want %q", keys, err, want)
		}
	})
}
