package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
)

const (
	// tmpDir holds the temp files of Puts in progress. It lives inside the
	// root so that the final rename stays on one file system and is atomic;
	// its leading dot keeps it out of the key alphabet, so no key can name it.
	tmpDir = ".tmp"
	// tmpPrefix starts every temp file name, so a sweep can tell them apart.
	tmpPrefix = "put-"

	dirPerm  = 0o750
	filePerm = 0o640

	// bufSize is the one buffer a Put copies through: memory per upload stays
	// constant however large the photo is.
	bufSize = 32 << 10
)

// Dir is a Store in a local directory.
type Dir struct {
	root string // absolute, so a later chdir does not move the store
}

var _ Store = (*Dir)(nil)

// NewDir returns a Store rooted at path, creating it (0o750) if needed.
func NewDir(path string) (*Dir, error) {
	if path == "" {
		return nil, errors.New("storage: empty directory path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	// Creating .tmp creates the root too; doing it here, once, means a Put
	// never has to create it.
	if err := os.MkdirAll(filepath.Join(abs, tmpDir), dirPerm); err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	return &Dir{root: abs}, nil
}

// openRoot opens the root for one operation. Every path goes through os.Root,
// which refuses names (and symlinks) that lead outside it, as a second line of
// defence behind validKey; opening it per operation keeps Dir free of a file
// descriptor that would need a Close method.
func (d *Dir) openRoot() (*os.Root, error) {
	root, err := os.OpenRoot(d.root)
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	return root, nil
}

// Put implements Store: it copies r into <root>/.tmp/put-*, fsyncs it, then
// renames it to its key, removing whatever it wrote on any error.
func (d *Dir) Put(ctx context.Context, prefix string, r io.Reader) (key string, n int64, err error) {
	key, random, err := newKey(prefix)
	if err != nil {
		return "", 0, err
	}
	if err := ctx.Err(); err != nil {
		return "", 0, fmt.Errorf("storage: put: %w", err)
	}
	root, err := d.openRoot()
	if err != nil {
		return "", 0, err
	}
	defer root.Close()

	// The temp name reuses the key's random part: unique without another
	// draw, and a stray temp file can be matched to the key it was meant for.
	tmp := tmpDir + "/" + tmpPrefix + random
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
	if err != nil {
		return "", 0, fmt.Errorf("storage: put: %w", err)
	}
	renamed := false
	defer func() {
		if err == nil {
			return
		}
		f.Close() // may already be closed; that error says nothing new
		name := tmp
		if renamed {
			name = key
		}
		if rmErr := root.Remove(name); rmErr != nil && !errors.Is(rmErr, fs.ErrNotExist) {
			err = errors.Join(err, fmt.Errorf("storage: put: clean up: %w", rmErr))
		}
	}()

	if body, size := lengthOf(r); size >= 0 {
		r = &exactReader{r: body, left: size}
	}
	// struct{ io.Writer } hides (*os.File).ReadFrom so that io.CopyBuffer
	// really reads through buf and ctxReader, checking ctx between chunks.
	n, err = io.CopyBuffer(struct{ io.Writer }{f}, ctxReader{ctx, r}, make([]byte, bufSize))
	if err != nil {
		return "", 0, fmt.Errorf("storage: put: %w", err)
	}
	// A cancel after the last chunk still means the caller gave up.
	if err := ctx.Err(); err != nil {
		return "", 0, fmt.Errorf("storage: put: %w", err)
	}
	// Sync before the rename, or a crash could leave the key pointing at an
	// empty or partial file while the database row that names it commits.
	if err := f.Sync(); err != nil {
		return "", 0, fmt.Errorf("storage: put: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", 0, fmt.Errorf("storage: put: %w", err)
	}
	dir := path.Dir(key)
	if err := mkdirs(root, dir); err != nil {
		return "", 0, fmt.Errorf("storage: put: %w", err)
	}
	if err := root.Rename(tmp, key); err != nil {
		return "", 0, fmt.Errorf("storage: put: %w", err)
	}
	renamed = true
	// Sync the directory so the rename itself survives a crash: a photo lost
	// after its row committed cannot be recovered, whereas an orphan can be
	// swept.
	if err := syncDir(root, dir); err != nil {
		return "", 0, fmt.Errorf("storage: put: %w", err)
	}
	return key, n, nil
}

// Open implements Store. The returned *os.File stays usable after the root
// it was opened through is closed.
func (d *Dir) Open(ctx context.Context, key string) (io.ReadSeekCloser, int64, error) {
	if !validKey(key) {
		return nil, 0, ErrNotFound
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, fmt.Errorf("storage: open: %w", err)
	}
	root, err := d.openRoot()
	if err != nil {
		return nil, 0, err
	}
	defer root.Close()
	f, err := root.Open(key)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, ErrNotFound
	}
	if err != nil {
		return nil, 0, fmt.Errorf("storage: open: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("storage: open: %w", err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, 0, ErrNotFound
	}
	return f, fi.Size(), nil
}

// Delete implements Store; an invalid key gives ErrNotFound (no path is
// touched). ctx is ignored on purpose: Delete is the clean-up after a
// rolled-back transaction, often run under a request context that is already
// cancelled, and refusing then would leave exactly the orphan it is for.
func (d *Dir) Delete(_ context.Context, key string) error {
	if !validKey(key) {
		return ErrNotFound
	}
	root, err := d.openRoot()
	if err != nil {
		return err
	}
	defer root.Close()
	// No directory sync: a delete undone by a crash leaves an orphan that a
	// sweep (Keys) reclaims, unlike a lost Put.
	if err := root.Remove(key); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("storage: delete: %w", err)
	}
	return nil
}

// Keys lists every blob key under the root (for sweeps of orphans and for tests that assert
// nothing was left behind); temp files of a Put in progress are not blobs and are not listed.
func (d *Dir) Keys() ([]string, error) {
	root, err := d.openRoot()
	if err != nil {
		return nil, err
	}
	defer root.Close()
	var keys []string
	// Only regular files whose path is a valid key are listed, so a sweep
	// that deletes the keys it does not know can never hit anything else
	// (lost+found, editor files, the temp directory).
	err = fs.WalkDir(root.FS(), ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() && p == tmpDir {
			return fs.SkipDir
		}
		if e.Type().IsRegular() && validKey(p) {
			keys = append(keys, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: keys: %w", err)
	}
	return keys, nil
}

// ctxReader fails with ctx's error before each read once ctx is done, so a
// cancelled upload stops at the next chunk instead of running to the end.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// mkdirs creates dir (<prefix>/<fan>) and its parent as needed, syncing the
// parent of each directory it creates so the new entry survives a crash.
// Mkdir one level at a time (not MkdirAll) is what tells which ones are new;
// a concurrent Put creating the same directory shows up as fs.ErrExist.
func mkdirs(root *os.Root, dir string) error {
	for _, p := range []string{path.Dir(dir), dir} {
		err := root.Mkdir(p, dirPerm)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return err
		}
		if err := syncDir(root, path.Dir(p)); err != nil {
			return err
		}
	}
	return nil
}

// syncDir fsyncs a directory, making the entries created in it durable.
func syncDir(root *os.Root, dir string) error {
	f, err := root.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
