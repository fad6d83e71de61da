package graph

import (
	"context"
	"strconv"
	"strings"
	"sync"

	"entgo.io/ent/privacy"

	"estatecrm/auth"
	"estatecrm/statement"
)

// Building the visits subquery of a folded page (the Visit query with its
// privacy policy applied, then rendered into SQL) was about a fifth of the
// allocations of an agent's phone search, and it is the same text and
// arguments for every search of one viewer with one selection. So the
// rendered subquery is kept, per viewer and selection: the key holds
// everything the Visit read policy (rule.FilterVisits) decides by — the
// viewer's role, user, customer record, API key and projects — and what
// the selection decides (page size, order, columns). Nothing is cached
// when the context carries a privacy decision (a bypass), which the policy
// would honour instead of the viewer.

// maxFolds bounds the subqueries kept; past it the cache starts afresh
// (a busy server has about one entry per active user).
const maxFolds = 4096

// foldCache is safe for concurrent use; a nil *foldCache caches nothing.
type foldCache struct {
	mu sync.RWMutex
	m  map[string]*renderedFold
}

func newFoldCache() *foldCache { return &foldCache{m: map[string]*renderedFold{}} }

// renderedFold is a subquery rendered for a statement where total
// arguments came before it (PostgreSQL numbers its placeholders) and
// correlated to the customers' id column outer.
type renderedFold struct {
	total int
	outer string
	text  string
	args  []any
}

// Query implements sql.Querier: the text and arguments as they are.
func (f *renderedFold) Query() (string, []any) { return f.text, f.args }

func (c *foldCache) has(key string) bool {
	if c == nil {
		return false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.m[key] != nil
}

// get returns the subquery kept for key if it was rendered at the same
// place (the same arguments before it, the same outer column).
func (c *foldCache) get(key string, total int, outer string) *renderedFold {
	if c == nil {
		return nil
	}
	c.mu.RLock()
	f := c.m[key]
	c.mu.RUnlock()
	if f == nil || f.total != total || f.outer != outer {
		return nil
	}
	return f
}

func (c *foldCache) put(key string, f *renderedFold) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxFolds {
		clear(c.m)
	}
	c.m[key] = f
}

// foldKey is the cache key of a fold's subquery for the viewer in ctx and
// the selection; ok is false when it must not be cached.
func foldKey(ctx context.Context, first int, order, dir string, cols []string, out int) (key string, ok bool) {
	if _, decided := privacy.DecisionFromContext(ctx); decided {
		return "", false
	}
	if statement.IsDry(ctx) { // a page's build with stand-ins (page_cache.go) keeps nothing
		return "", false
	}
	v := auth.FromContext(ctx)
	if v == nil {
		return "", false
	}
	var b strings.Builder
	b.Grow(128)
	writeViewer(&b, v)
	field := func(s string) { writeField(&b, s) }
	field(strconv.Itoa(first))
	field(order)
	field(dir)
	field(strconv.Itoa(out))
	field(strconv.Itoa(len(cols)))
	for _, c := range cols {
		field(c)
	}
	return b.String(), true
}
