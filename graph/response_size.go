package graph

import (
	"bytes"
	"hash/maphash"
	"sync"

	"github.com/99designs/gqlgen/graphql"
)

// responseSizes remembers how long each operation's answers were, so that
// the next answer to it is written into a buffer of about their size:
// grown from nothing, a bytes.Buffer reallocates seven times on the way to
// a 4 KB page of units and leaves twice its size behind. graph/gen makes
// the generated executor use it for queries and mutations.
var responseSizes = sizeHints{sizes: map[uint64]int{}, seed: maphash.MakeSeed()}

// sizeHints is bounded: it holds a hash of each operation (two that
// collide share a hint, which only sizes a buffer), and past maxSizeHints
// operations it starts again, so a client sending a new document each
// time costs a map of ints, not memory that grows.
type sizeHints struct {
	mu    sync.Mutex
	sizes map[uint64]int
	seed  maphash.Seed
}

func (h *sizeHints) key(oc *graphql.OperationContext) uint64 {
	var m maphash.Hash
	m.SetSeed(h.seed)
	m.WriteString(oc.RawQuery)
	m.WriteByte(0)
	m.WriteString(oc.OperationName)
	return m.Sum64()
}

const maxSizeHints = 4096

// responseBuffer returns an empty buffer with room for the operation's
// recent answers (noteResponse) and an eighth more.
func responseBuffer(oc *graphql.OperationContext) *bytes.Buffer {
	k := responseSizes.key(oc)
	responseSizes.mu.Lock()
	n := responseSizes.sizes[k]
	responseSizes.mu.Unlock()
	if n == 0 {
		return new(bytes.Buffer)
	}
	return bytes.NewBuffer(make([]byte, 0, n+n/8))
}

// noteResponse remembers the length of the operation's answer: the longest
// of its recent answers, each shorter one taking a sixteenth off. The
// answers to one query differ (a phone suffix matches one customer or
// three): sized for the last, a longer one grew the buffer, copying it,
// in one lookup of two (2% of the bytes a lookup allocated).
func noteResponse(oc *graphql.OperationContext, n int) {
	k := responseSizes.key(oc)
	responseSizes.mu.Lock()
	defer responseSizes.mu.Unlock()
	old, ok := responseSizes.sizes[k]
	if !ok && len(responseSizes.sizes) >= maxSizeHints {
		clear(responseSizes.sizes)
	}
	responseSizes.sizes[k] = max(n, old-old/16)
}
