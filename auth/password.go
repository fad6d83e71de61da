package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"

	"estatecrm/apperr"
)

// argon2id parameters from the OWASP password storage cheat sheet:
// m=19 MiB, t=2, p=1.
const (
	argonMemoryKiB = 19 * 1024
	argonTime      = 2
	argonThreads   = 1
	argonKeyLen    = 32
	argonSaltLen   = 16
)

// ErrBadHash is returned for a stored hash this package did not write.
var ErrBadHash = errors.New("unrecognised password hash")

// argonSlots bounds the argon2id computations running at once in the
// process, whatever asks for them: each holds 19 MiB, and 100 at once took
// a server to 2 GB. One per core is all the CPU there is anyway; the rest
// wait their turn. It is process-wide on purpose: the memory it guards is.
var argonSlots = make(chan struct{}, runtime.GOMAXPROCS(0))

// idKey computes an argon2id key in one of argonSlots and collects the
// garbage before giving the slot back. Each computation leaves its 19 MiB
// block behind, and with the Dockerfile's GOGC=400 nothing else collects
// it soon: 51 logins in a row took the heap to GOMEMLIMIT and the process
// to 152 MiB (cmd/bench), where the other loads stay near 100. Collected at
// once, the next computation reuses the block's pages. A collection costs
// a few milliseconds on a hash's 30-60 ms; logins are rare.
func idKey(password, salt []byte, t, m uint32, p uint8, keyLen uint32) []byte {
	argonSlots <- struct{}{}
	defer func() { <-argonSlots }()
	key := argon2.IDKey(password, salt, t, m, p, keyLen)
	runtime.GC()
	return key
}

// ValidatePassword checks a new password against the policy: 8 to 128
// characters (NIST SP 800-63B: length over composition rules).
func ValidatePassword(field, password string) error {
	if n := len([]rune(password)); n < 8 || n > 128 {
		return apperr.Input(field, "a password has 8 to 128 characters")
	}
	return nil
}

// HashPassword returns an argon2id hash in the PHC string format.
func HashPassword(password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := idKey([]byte(password), salt, argonTime, argonMemoryKiB, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemoryKiB, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches the hash, in constant time.
func CheckPassword(hash, password string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, ErrBadHash
	}
	var version int
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, ErrBadHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false, ErrBadHash
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, ErrBadHash
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil {
		return false, ErrBadHash
	}
	got := idKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// PasswordChecker checks passwords against their stored hashes, a bounded
// number at a time.
type PasswordChecker interface {
	// Turn waits for a turn to check a password and returns its end. It
	// fails with ErrBusy when no turn is coming soon.
	Turn(ctx context.Context) (release func(), err error)
	// CheckPassword checks a password against its hash, during a turn.
	CheckPassword(hash, password string) (bool, error)
}

// ErrBusy says the password checks are all taken and their queue is full:
// the caller is told to come back (RATE_LIMITED), not kept waiting.
var ErrBusy = errors.New("password checks busy")

// HashGate admits password checks for anonymous callers (logins): a few
// run, a few more wait, at most maxWait; the rest are refused at once with
// ErrBusy. A login flood then costs a queue of goroutines, not a 19 MiB
// buffer each, and leaves the other cores to everyone else.
type HashGate struct {
	slots   chan struct{}
	queue   int64
	maxWait time.Duration
	waiting atomic.Int64
	// Checks counts the password hashes computed through the gate.
	Checks atomic.Int64
}

// DefaultHashConcurrency is half the cores, at least one: logins get one
// half of the CPU at most, requests of users logged in keep the other.
func DefaultHashConcurrency() int { return max(1, runtime.GOMAXPROCS(0)/2) }

// NewHashGate returns a gate running concurrency checks at once with a
// queue of 4 per slot, each waiting at most a second; concurrency <= 0
// means DefaultHashConcurrency.
func NewHashGate(concurrency int) *HashGate {
	if concurrency <= 0 {
		concurrency = DefaultHashConcurrency()
	}
	return &HashGate{slots: make(chan struct{}, concurrency), queue: int64(4 * concurrency), maxWait: time.Second}
}

// Turn takes a slot, waiting in the queue if there is room in it.
func (g *HashGate) Turn(ctx context.Context) (func(), error) {
	select {
	case g.slots <- struct{}{}:
	default:
		if g.waiting.Add(1) > g.queue {
			g.waiting.Add(-1)
			return nil, ErrBusy
		}
		t := time.NewTimer(g.maxWait)
		defer t.Stop()
		select {
		case g.slots <- struct{}{}:
			g.waiting.Add(-1)
		case <-t.C:
			g.waiting.Add(-1)
			return nil, ErrBusy
		case <-ctx.Done():
			g.waiting.Add(-1)
			return nil, ctx.Err()
		}
	}
	return func() { <-g.slots }, nil
}

// CheckPassword checks a password, counting it.
func (g *HashGate) CheckPassword(hash, password string) (bool, error) {
	g.Checks.Add(1)
	return CheckPassword(hash, password)
}
