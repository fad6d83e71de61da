// Package storage keeps uploaded files (complaint photos) outside the
// database, behind a small interface so that a local directory (Dir) can later
// be swapped for an object store.
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
)

// Store keeps blobs under opaque keys.
type Store interface {
	// Put writes r under a new random key and returns the key and the number of bytes written.
	// The blob becomes visible under its key only once complete (write to a temp file in the same
	// directory tree, fsync, then rename), so a failed or cancelled Put leaves nothing behind
	// (remove the temp file on every error path, including ctx cancellation checked between chunks).
	Put(ctx context.Context, prefix string, r io.Reader) (key string, n int64, err error)
	// Open returns the blob and its size; ErrNotFound when there is none.
	Open(ctx context.Context, key string) (io.ReadSeekCloser, int64, error)
	// Delete removes a blob; deleting a missing one is not an error.
	Delete(ctx context.Context, key string) error
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
