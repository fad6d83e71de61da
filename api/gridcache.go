package api

import (
	"bytes"
	"container/list"
	"context"
	"hash/maphash"
	"io"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"estatecrm/clock"
	"estatecrm/ent"
	"estatecrm/live"
	"estatecrm/rule"
	"estatecrm/sales"
)

// DefaultGridCacheBytes bounds the answers the sales-grid cache keeps: a
// 600-unit grid as a phone asks for it is about 100 KB, so this keeps a few
// hundred (projects × viewer scopes × selections) within a small share of
// the 150 MB the server may use.
const DefaultGridCacheBytes = 24 << 20

// gridCache serves Query.salesGrid, and the pages of a project's units
// (Query.units confined to one project, Query.listings of one project), from
// the JSON of an earlier answer while nothing the answer shows has changed
// (issue 10: most of a grid request's CPU is GraphQL marshalling, not the
// three statements; a portal polls the same pages of listings all day). An
// answer is kept under a key of everything that decides it (answers.go):
//
//   - the field and its arguments, and the one project they confine it to;
//   - the viewer's scope: the role, and for staff the projects in their
//     token, for a portal the projects its key is limited to, which is all
//     the privacy rules and masks of the fields below look at
//     (rule.UnitsVisibleTo, BuildingsVisibleTo, ProjectsVisibleTo; maskHolds
//     and maskProjectRules look at rule.IsStaff); so two agents of the same
//     projects get the same answer, and share it;
//   - the selection: the fields asked for, after fragments and @skip/@include,
//     by alias and name; only selections of the fields answerShapes lists
//     are cached, scalars of units, buildings and the project whose every
//     change is a write of a unit, building or project (or the deletion of
//     the person a hold names); anything else (who holds a unit, its deals,
//     a listing's media) runs as usual, uncached.
//
// An answer is served while its project's grid version (live.Hub.GridVersion,
// moved by every such write, in this process at commit and in the others by
// NOTIFY) is the one it was built at, and no hold has lapsed since (the
// domain clock): for the grid, no hold among its units (sales.NoteLapse); for
// a page, which a lapse may enter, no hold of the project the viewer can see
// (rule.NextHoldLapse, asked before the field runs). Homeowners, whose units
// are those of their deals, are never served from it. Errors are never
// cached. The cache holds at most maxBytes of answers, least recently used
// dropped first.
//
// Everything around the field still runs per request: authentication and
// revocation, limits and extensions.cost, metrics; a viewer who could not
// see the project (staff of other projects, a portal key limited to
// others) is answered by the field itself, never from the cache.
type gridCache struct {
	client   *ent.Client
	hub      *live.Hub
	maxBytes int

	mu      sync.Mutex
	entries map[string]*list.Element // of *gridEntry
	lru     list.List                // most recently used first
	size    int
	// building holds the key of every answer being built, so that the
	// requests that miss together wait for one build (the moment after a
	// hold, 50 phones would otherwise all load the grid at once).
	building map[string]*gridBuild
	// met holds the hashes (under the seed seen) of the page keys asked
	// for lately: a page is kept only when asked for a second time, so
	// that a filter asked once (an agent's price range for one family)
	// does not pay the probe of the next hold lapse, one statement, for an
	// answer nobody reuses.
	seen maphash.Seed
	met  map[uint64]struct{}
	// metEarlier is the set met held before it last filled up: a key asked
	// for just before that is still known.
	metEarlier map[uint64]struct{}
	// implementors are the type conditions of fragments, by type, read
	// from the schema (Validate).
	implementors map[string][]string
}

// maxMet bounds the page keys remembered as asked for: two sets of at most
// maxMet, the older dropped when the newer fills up.
const maxMet = 8192

type gridEntry struct {
	key     string
	json    []byte
	version uint64
	// built and lapse bound the domain clock's times at which the answer is
	// the one the field gives: from when it was built (a clock moved back
	// might see a hold not yet lapsed) to the first hold lapse (zero: none).
	built, lapse time.Time
}

type gridBuild struct {
	done  chan struct{}
	entry *gridEntry // nil when the build failed
}

func newGridCache(client *ent.Client, hub *live.Hub, maxBytes int) *gridCache {
	return &gridCache{client: client, hub: hub, maxBytes: maxBytes,
		entries: map[string]*list.Element{}, building: map[string]*gridBuild{},
		seen: maphash.MakeSeed(), met: map[uint64]struct{}{}}
}

var _ interface {
	graphql.HandlerExtension
	graphql.RootFieldInterceptor
} = (*gridCache)(nil)

// ExtensionName implements graphql.HandlerExtension.
func (*gridCache) ExtensionName() string { return "AnswerCache" }

// Validate implements graphql.HandlerExtension.
func (c *gridCache) Validate(es graphql.ExecutableSchema) error {
	impl, err := implementorsIn(es.Schema())
	c.implementors = impl
	return err
}

// InterceptRootField implements graphql.RootFieldInterceptor.
func (c *gridCache) InterceptRootField(ctx context.Context, next graphql.RootResolver) graphql.Marshaler {
	a, ok := c.answerable(ctx)
	if !ok {
		return next(ctx)
	}
	key := a.key
	for {
		now := clock.Now(ctx)
		version, ok := c.hub.GridVersion(c.client, a.project)
		if !ok {
			return next(ctx)
		}
		c.mu.Lock()
		if e := c.lookUp(key, version, now); e != nil {
			c.mu.Unlock()
			return rawJSON(e.json)
		}
		if a.probe && !c.metBefore(key) {
			c.mu.Unlock()
			return next(ctx)
		}
		b, waiting := c.building[key]
		if !waiting {
			b = &gridBuild{done: make(chan struct{})}
			c.building[key] = b
		}
		c.mu.Unlock()
		if !waiting {
			return c.build(ctx, next, a, version, b)
		}
		select {
		case <-b.done:
		case <-ctx.Done():
			return next(ctx)
		}
		if b.entry == nil { // the build failed: this request runs the field itself
			return next(ctx)
		}
		// Look again: the answer built is served only if still current.
	}
}

// build runs the field, keeps its answer if it has no error, and answers it.
func (c *gridCache) build(ctx context.Context, next graphql.RootResolver, a answer, version uint64, b *gridBuild) graphql.Marshaler {
	defer func() {
		c.mu.Lock()
		delete(c.building, a.key)
		c.mu.Unlock()
		close(b.done)
	}()
	e := &gridEntry{key: a.key, version: version}
	lctx := ctx
	var noted *time.Time
	if a.probe {
		// Before the field: a hold that lapses while it runs then ends
		// the answer's life no later than it changes what it shows.
		e.built = clock.Now(ctx)
		lapse, err := rule.NextHoldLapse(ctx, c.client, a.project)
		if err != nil {
			return next(ctx)
		}
		e.lapse = lapse
	} else {
		lctx, noted = sales.NoteLapse(ctx)
	}
	m := next(lctx)
	if m == nil || m == graphql.Null || fieldFailed(ctx) {
		return m
	}
	var buf bytes.Buffer
	m.MarshalGQL(&buf)
	e.json = buf.Bytes()
	if noted != nil {
		e.built, e.lapse = clock.Now(ctx), *noted
	}
	c.mu.Lock()
	c.store(e)
	c.mu.Unlock()
	b.entry = e
	return rawJSON(e.json)
}

// fieldFailed reports whether the root field in ctx has an error in the
// response so far (its own, or one of a field under it).
func fieldFailed(ctx context.Context) bool {
	alias := graphql.GetRootFieldContext(ctx).Field.Alias
	for _, err := range graphql.GetErrors(ctx) {
		if len(err.Path) > 0 {
			if name, ok := err.Path[0].(ast.PathName); ok && string(name) == alias {
				return true
			}
		}
	}
	return false
}

// metBefore reports whether key was asked for before, in the current set
// of keys met or the one before it, and remembers it. c.mu is held.
func (c *gridCache) metBefore(key string) bool {
	h := maphash.String(c.seen, key)
	if _, ok := c.met[h]; ok {
		return true
	}
	_, earlier := c.metEarlier[h]
	if len(c.met) >= maxMet {
		c.met, c.metEarlier = make(map[uint64]struct{}, maxMet), c.met
	}
	c.met[h] = struct{}{}
	return earlier
}

// lookUp returns the current answer under key, if any, dropping a stale one.
// c.mu is held.
func (c *gridCache) lookUp(key string, version uint64, now time.Time) *gridEntry {
	el, ok := c.entries[key]
	if !ok {
		return nil
	}
	e := el.Value.(*gridEntry)
	if e.version != version || now.Before(e.built) || (!e.lapse.IsZero() && !now.Before(e.lapse)) {
		c.remove(el)
		return nil
	}
	c.lru.MoveToFront(el)
	return e
}

// store keeps e, dropping the least recently used answers beyond maxBytes.
// c.mu is held.
func (c *gridCache) store(e *gridEntry) {
	if e.bytes() > c.maxBytes {
		return
	}
	if el, ok := c.entries[e.key]; ok {
		c.remove(el)
	}
	c.entries[e.key] = c.lru.PushFront(e)
	c.size += e.bytes()
	for c.size > c.maxBytes {
		c.remove(c.lru.Back())
	}
}

func (c *gridCache) remove(el *list.Element) {
	e := c.lru.Remove(el).(*gridEntry)
	delete(c.entries, e.key)
	c.size -= e.bytes()
}

// bytes is what an entry holds: its answer and its key (which holds the
// field's arguments).
func (e *gridEntry) bytes() int { return len(e.json) + len(e.key) }

// rawJSON writes an answer kept as JSON.
type rawJSON []byte

func (r rawJSON) MarshalGQL(w io.Writer) { _, _ = w.Write(r) }
