// Package storage keeps uploaded files (complaint photos, listing media)
// outside the database, behind a small interface: a local directory (Dir, the
// embedded default) or an S3-compatible object store (S3), chosen by BLOB_URL
// (see ParseURL).
//
// The database row of a photo holds only the key. A blob is written before the
// row's transaction commits, so a caller that rolls back must Delete the key it
// was given by Put; otherwise the file would be left behind as an orphan.
package storage

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Store keeps blobs under opaque keys.
type Store interface {
	// Put writes r under a new random key and returns the key and the number of bytes written.
	// The blob becomes visible under its key only once complete (a directory writes a temp file,
	// fsyncs and renames it; an object store sends one PUT whose object exists only once whole),
	// so a failed or cancelled Put leaves nothing behind and returns no key. When r's length is
	// known (a reader made by Sized, or one with a Len method such as *bytes.Reader), Put fails
	// unless r holds exactly that many bytes, and an object store streams r instead of buffering it.
	Put(ctx context.Context, prefix string, r io.Reader) (key string, n int64, err error)
	// Open returns the blob and its size; ErrNotFound when there is none.
	Open(ctx context.Context, key string) (io.ReadSeekCloser, int64, error)
	// Delete removes a blob; deleting a missing one is not an error.
	Delete(ctx context.Context, key string) error
	// KeysBefore lists the blobs last written before t, and clears what Puts that began before t
	// and never finished left behind (a process died mid-upload). A sweep of orphans passes a t
	// well in the past, so that a blob whose database row is about to commit is never among them.
	KeysBefore(ctx context.Context, t time.Time) ([]string, error)
}

// Sized returns r with its length, n bytes, for Put: an object store, which
// must send the length before the bytes, then streams r rather than holding
// parts of it in memory, and Put fails unless r holds exactly n bytes (so a
// short or long body is never stored as if it were whole).
func Sized(r io.Reader, n int64) io.Reader { return sized{r, n} }

type sized struct {
	r io.Reader
	n int64
}

func (s sized) Read(p []byte) (int, error) { return s.r.Read(p) }

// lengthOf returns what Put reads and its length, -1 when unknown. As
// net/http does for a request body, a reader that knows how much it holds
// (*bytes.Reader, *strings.Reader, *bytes.Buffer) needs no Sized.
func lengthOf(r io.Reader) (io.Reader, int64) {
	switch v := r.(type) {
	case sized:
		return v.r, v.n
	case interface{ Len() int }:
		return r, int64(v.Len())
	}
	return r, -1
}

// ErrLength: the reader given to Put did not hold the length it was given.
var ErrLength = errors.New("storage: the body is not the length it was given")

// exactReader passes exactly left bytes of r through and fails with
// ErrLength if r ends sooner or holds more. It checks for more before it
// hands over the last bytes: a store that sends a length first (S3) has a
// complete request once those are out, so the check must come before.
type exactReader struct {
	r    io.Reader
	left int64
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.left <= 0 {
		return 0, e.end()
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if err != nil && err != io.EOF {
		return n, err
	}
	if e.left == 0 {
		if err := e.end(); err != io.EOF {
			return 0, err
		}
		return n, io.EOF
	}
	if err == io.EOF {
		return n, ErrLength
	}
	return n, nil
}

// end is io.EOF if r holds no more, ErrLength if it does.
func (e *exactReader) end() error {
	var b [1]byte
	m, err := io.ReadFull(e.r, b[:])
	if m > 0 {
		return ErrLength
	}
	return err
}

// ErrNotFound: no blob under the key.
var ErrNotFound = errors.New("blob not found")

// randLen is the length of the random part of a key: 16 bytes (128 bits, so
// keys cannot be guessed or collide) in unpadded base32 take 26 characters.
const randLen = 26

// keyEncoding is lower-case base32 without padding rather than hex: 26
// characters instead of 32 for the same 128 bits, and its alphabet (a-z, 2-7)
// has only lower-case letters, so keys stay distinct on case-insensitive file
// systems and object stores and fit the [a-z0-9/-] key alphabet.
var keyEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newKey returns a fresh key under prefix and its random part.
//
// The middle segment, the first random byte in hex, fans the blobs of a prefix
// out over 256 directories, so no single directory grows to millions of
// entries (slow to list and to look up on many file systems).
func newKey(prefix string) (key, random string, err error) {
	if !validPrefix(prefix) {
		return "", "", fmt.Errorf("storage: prefix %q: want one or more of a-z, 0-9 and -", prefix)
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", fmt.Errorf("storage: random key: %w", err)
	}
	random = keyEncoding.EncodeToString(b[:])
	return prefix + "/" + hex.EncodeToString(b[:1]) + "/" + random, random, nil
}

// validPrefix reports whether prefix matches ^[a-z0-9-]+$: one path segment
// that cannot name the temp directory or climb out of the root.
func validPrefix(prefix string) bool {
	if prefix == "" {
		return false
	}
	for _, c := range prefix {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// validKey reports whether key has the exact shape newKey produces:
// <prefix>/<2 hex>/<26 base32>. Checking the whole shape, not just for ".."
// and friends, means a key from the database or a request can never name a
// directory, a temp file or anything outside the root ("..", a leading "/",
// backslashes and characters outside [a-z0-9/-] all fail it), so an invalid
// key is answered without touching the file system.
func validKey(key string) bool {
	prefix, rest, ok := strings.Cut(key, "/")
	if !ok || !validPrefix(prefix) {
		return false
	}
	fan, random, ok := strings.Cut(rest, "/")
	if !ok || len(fan) != 2 || len(random) != randLen {
		return false
	}
	for _, c := range fan {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	for _, c := range random {
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}
