package storage

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
)

var keyShape = regexp.MustCompile(`^[a-z0-9-]+/[0-9a-f]{2}/[a-z2-7]{26}$`)

func newTestDir(t *testing.T) (*Dir, string) {
	t.Helper()
	root := filepath.Join(t.TempDir(), "store")
	d, err := NewDir(root)
	if err != nil {
		t.Fatalf("NewDir: %v", err)
	}
	return d, root
}

// assertNothingLeft fails unless the store holds no blob and no temp file.
func assertNothingLeft(t *testing.T, d *Dir, root string) {
	t.Helper()
	keys, err := d.Keys()
	if err != nil {
		t.Fatalf("Keys: %v", err)
	}
	if len(keys) != 0 {
		t.Errorf("Keys = %q, want none", keys)
	}
	tmp, err := os.ReadDir(filepath.Join(root, tmpDir))
	if err != nil {
		t.Fatalf("read .tmp: %v", err)
	}
	for _, e := range tmp {
		t.Errorf(".tmp still holds %s", e.Name())
	}
}

func put(t *testing.T, d *Dir, prefix string, data []byte) string {
	t.Helper()
	key, n, err := d.Put(context.Background(), prefix, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if n != int64(len(data)) {
		t.Fatalf("Put wrote %d bytes, want %d", n, len(data))
	}
	return key
}

func TestNewDirCreatesRootAndTmp(t *testing.T) {
	_, root := newTestDir(t)
	for _, p := range []string{root, filepath.Join(root, tmpDir)} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatalf("stat %s: %v", p, err)
		}
		if !fi.IsDir() || fi.Mode().Perm()&^dirPerm != 0 {
			t.Errorf("%s: mode %v, want a directory within %v", p, fi.Mode(), os.FileMode(dirPerm))
		}
	}
}

func TestPutOpenRoundTrip(t *testing.T) {
	big := make([]byte, 3*bufSize+17) // several chunks, the last one partial
	for i := range big {
		big[i] = byte(i * 7)
	}
	tests := []struct {
		name   string
		prefix string
		data   []byte
	}{
		{"empty", "complaint-photos", nil},
		{"small", "complaint-photos", []byte("a photo of a leaking pipe")},
		{"larger than the buffer", "p1", big},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, root := newTestDir(t)
			key := put(t, d, tt.prefix, tt.data)
			if !keyShape.MatchString(key) || !strings.HasPrefix(key, tt.prefix+"/") {
				t.Fatalf("key %q: want %s/<2 hex>/<26 base32>", key, tt.prefix)
			}
			rc, size, err := d.Open(context.Background(), key)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer rc.Close()
			if size != int64(len(tt.data)) {
				t.Errorf("Open size = %d, want %d", size, len(tt.data))
			}
			got, err := io.ReadAll(rc)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if !bytes.Equal(got, tt.data) {
				t.Errorf("read back %d bytes that differ from the %d put", len(got), len(tt.data))
			}
			fi, err := os.Stat(filepath.Join(root, filepath.FromSlash(key)))
			if err != nil {
				t.Fatalf("stat blob: %v", err)
			}
			if fi.Mode().Perm()&^filePerm != 0 {
				t.Errorf("blob mode %v, want within %v", fi.Mode().Perm(), os.FileMode(filePerm))
			}
			tmp, err := os.ReadDir(filepath.Join(root, tmpDir))
			if err != nil || len(tmp) != 0 {
				t.Errorf(".tmp after a successful Put: %d entries, %v", len(tmp), err)
			}
		})
	}
}

func TestPutGivesDistinctKeys(t *testing.T) {
	d, _ := newTestDir(t)
	a := put(t, d, "photos", []byte("same"))
	b := put(t, d, "photos", []byte("same"))
	if a == b {
		t.Fatalf("two Puts gave the same key %q", a)
	}
}

// chunkCounter records the largest buffer Put reads into.
type chunkCounter struct {
	r   io.Reader
	max int
}

func (c *chunkCounter) Read(p []byte) (int, error) {
	c.max = max(c.max, len(p))
	return c.r.Read(p)
}

func TestPutReadsThroughAFixedBuffer(t *testing.T) {
	d, _ := newTestDir(t)
	r := &chunkCounter{r: io.LimitReader(zeros{}, 1<<20)}
	if _, _, err := d.Put(context.Background(), "photos", r); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if r.max == 0 || r.max > bufSize {
		t.Errorf("Put read into buffers of up to %d bytes, want at most %d", r.max, bufSize)
	}
}

func TestDelete(t *testing.T) {
	d, root := newTestDir(t)
	key := put(t, d, "photos", []byte("x"))
	if err := d.Delete(context.Background(), key); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, _, err := d.Open(context.Background(), key); !errors.Is(err, ErrNotFound) {
		t.Errorf("Open after Delete: %v, want ErrNotFound", err)
	}
	if err := d.Delete(context.Background(), key); err != nil {
		t.Errorf("second Delete: %v, want nil", err)
	}
	assertNothingLeft(t, d, root)
}

// A rollback often runs when the request context is already cancelled; the
// clean-up must still happen.
func TestDeleteIgnoresCancelledContext(t *testing.T) {
	d, root := newTestDir(t)
	key := put(t, d, "photos", []byte("x"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := d.Delete(ctx, key); err != nil {
		t.Fatalf("Delete with a cancelled context: %v", err)
	}
	assertNothingLeft(t, d, root)
}

func TestOpenMissingKey(t *testing.T) {
	d, _ := newTestDir(t)
	_, _, err := d.Open(context.Background(), "photos/ab/"+strings.Repeat("a", randLen))
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("Open of a key never put: %v, want ErrNotFound", err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
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

func TestPutReaderFailsHalfway(t *testing.T) {
	d, root := newTestDir(t)
	boom := errors.New("connection reset")
	// More than one chunk, so a partial temp file is on disk when it fails.
	key, n, err := d.Put(context.Background(), "photos", &failingReader{n: 2*bufSize + 5, err: boom})
	if !errors.Is(err, boom) {
		t.Fatalf("Put error = %v, want the reader's error", err)
	}
	if key != "" || n != 0 {
		t.Errorf("failed Put returned key %q, n %d; want none", key, n)
	}
	assertNothingLeft(t, d, root)
}

// cancellingReader serves data and calls cancel once it has served after
// bytes (or reached EOF); it counts the reads asked of it after that.
type cancellingReader struct {
	r         io.Reader
	after     int
	served    int
	cancel    context.CancelFunc
	cancelled bool
	late      int
}

func (c *cancellingReader) Read(p []byte) (int, error) {
	if c.cancelled {
		c.late++
	}
	n, err := c.r.Read(p)
	c.served += n
	if c.served >= c.after || err == io.EOF {
		c.cancel()
		c.cancelled = true
	}
	return n, err
}

func TestPutCancelled(t *testing.T) {
	const size = 1 << 20
	tests := []struct {
		name string
		// reader returns the body to put; it may cancel the context.
		reader func(cancel context.CancelFunc) io.Reader
		before bool // cancel before Put starts
	}{
		{
			name:   "before the first chunk",
			reader: func(context.CancelFunc) io.Reader { return io.LimitReader(zeros{}, size) },
			before: true,
		},
		{
			name: "between chunks",
			reader: func(cancel context.CancelFunc) io.Reader {
				return &cancellingReader{r: io.LimitReader(zeros{}, size), after: 1, cancel: cancel}
			},
		},
		{
			name: "after the last chunk",
			reader: func(cancel context.CancelFunc) io.Reader {
				return &cancellingReader{r: io.LimitReader(zeros{}, size), after: size + 1, cancel: cancel}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, root := newTestDir(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			r := tt.reader(cancel)
			if tt.before {
				cancel()
			}
			key, _, err := d.Put(ctx, "photos", r)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Put = %q, %v; want context.Canceled", key, err)
			}
			// Put must stop at the next chunk, not read the rest of the body.
			if cr, ok := r.(*cancellingReader); ok && cr.late != 0 {
				t.Errorf("Put read %d more chunks after the cancel", cr.late)
			}
			assertNothingLeft(t, d, root)
		})
	}
}

func TestPutBadPrefix(t *testing.T) {
	for _, prefix := range []string{"", "Photos", "a/b", "..", "../x", ".tmp", "a b", "a.b", "a_b", "фото", "a\\b"} {
		t.Run(prefix, func(t *testing.T) {
			d, root := newTestDir(t)
			if key, _, err := d.Put(context.Background(), prefix, strings.NewReader("x")); err == nil {
				t.Fatalf("Put(%q) = %q, want an error", prefix, key)
			}
			assertNothingLeft(t, d, root)
		})
	}
}

func TestInvalidKeysAreNotFound(t *testing.T) {
	parent := t.TempDir()
	d, err := NewDir(filepath.Join(parent, "store"))
	if err != nil {
		t.Fatal(err)
	}
	// A file just outside the root, which "../x" would reach were keys not checked.
	outside := filepath.Join(parent, "x")
	if err := os.WriteFile(outside, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := put(t, d, "photos", []byte("x"))
	random := good[strings.LastIndex(good, "/")+1:]
	for _, key := range []string{
		"../x",
		"/etc/passwd",
		"a\\b",
		"",
		"photos",
		"photos/" + good[len("photos/"):len("photos/")+2],
		"photos/../" + good,
		"/" + good,
		good + "/",
		strings.ToUpper(good),
		tmpDir + "/" + tmpPrefix + random,
		"photos/zz/" + random,
		"photos/ab/" + random + "a",
	} {
		t.Run(key, func(t *testing.T) {
			if rc, _, err := d.Open(context.Background(), key); !errors.Is(err, ErrNotFound) {
				if rc != nil {
					rc.Close()
				}
				t.Errorf("Open(%q) = %v, want ErrNotFound", key, err)
			}
			if err := d.Delete(context.Background(), key); !errors.Is(err, ErrNotFound) {
				t.Errorf("Delete(%q) = %v, want ErrNotFound", key, err)
			}
		})
	}
	if _, err := os.Stat(outside); err != nil {
		t.Errorf("file outside the root: %v", err)
	}
	if _, _, err := d.Open(context.Background(), good); err != nil {
		t.Errorf("valid key no longer opens: %v", err)
	}
}

func TestKeysListsExactlyWhatWasPut(t *testing.T) {
	d, root := newTestDir(t)
	want := []string{
		put(t, d, "photos", []byte("1")),
		put(t, d, "photos", []byte("2")),
		put(t, d, "other", []byte("3")),
	}
	// Neither a Put in progress nor stray files are blobs.
	if err := os.WriteFile(filepath.Join(root, tmpDir, tmpPrefix+"inprogress"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "README"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := d.Keys()
	if err != nil {
		t.Fatalf("Keys: %v", err)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("Keys = %q, want %q", got, want)
	}
}

func TestConcurrentPuts(t *testing.T) {
	d, _ := newTestDir(t)
	const n = 32
	keys := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			keys[i], _, errs[i] = d.Put(context.Background(), "photos", strings.NewReader("x"))
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("Put: %v", err)
		}
	}
	got, err := d.Keys()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	slices.Sort(keys)
	if !slices.Equal(got, keys) {
		t.Errorf("Keys = %d keys, want the %d put", len(got), n)
	}
}
