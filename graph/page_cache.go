package graph

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"estatecrm/clock"
	"estatecrm/ent"
	"estatecrm/statement"
)

// A page of customers is what an agent's phone asks most (a customer found
// by phone suffix), and building its statement through ent (the where
// input's predicates, the privacy filter, the field collection, the folded
// visits, then the rendering) was about a sixth of the processor time of
// the request, for the same text every time: for one viewer and one
// selection, only the values the filter compares with and the time change.
// So the statement is kept, rendered, per viewer and shape, with the places
// of those values in its arguments, and later pages of that shape run it
// with their own values (ent's AllOf: the privacy policy and interceptors
// still apply, as to any read).
//
// The shape is everything the text may depend on: the viewer (as the fold's
// subquery cache and rule's rendered filters, it assumes that the read
// rules decide by the viewer and by the time only as an argument), the
// field in the operation's document (its selection and literal arguments;
// gqlgen keeps parsed documents, and a kept entry keeps its field alive, so
// the pointer names it), the page size and order, which filter fields are
// set (and each list's length; values that are not strings are part of the
// shape), and every variable of the operation except the filter's.
//
// A statement is learned from the second page of its shape (a shape seen
// once costs nothing more: a filter on a time that changes with every
// page makes a shape per page): ent builds and runs it as always (its
// text and arguments recorded on the way), then builds it once more with
// stand-ins, not run: a unique marker for each
// string the filter compares with and a time of its own for the clock.
// Only if the two texts are the same and each argument is either the same
// in both or exactly a stand-in in the second and the real value in the
// first is the statement kept; and only if it was the page's one statement
// (no COUNT, no edge loaded after it). Otherwise the shape is kept as one
// that goes ent's way every time (a filter that wraps its value,
// `nameContains`, or a selection that loads an edge).

// maxPages bounds the shapes kept, the least recently used dropped first
// (a busy server has a few per active user; a filter on a time that
// changes with every page makes one per page, seen once).
const maxPages = 4096

// pageCache is safe for concurrent use.
type pageCache struct {
	m *lru.Cache[pageKey, *pageStatement]
	// marker starts every stand-in string: random per process, so no
	// value a client sends is taken for one.
	marker string
	// standInNow is the clock of the stand-in build.
	standInNow time.Time
}

func newPageCache() *pageCache {
	var b [8]byte
	_, _ = rand.Read(b[:])
	m, err := lru.New[pageKey, *pageStatement](maxPages)
	if err != nil {
		panic(err) // only for a size below 1
	}
	return &pageCache{
		m:          m,
		marker:     "\x01page-" + hex.EncodeToString(b[:]) + "-",
		standInNow: time.Date(1901, 2, 3, 4, 5, 6, 7_080_900, time.UTC),
	}
}

type pageKey struct {
	field *ast.Field
	shape string
}

// pageStatement is a page's statement, its arguments made of constants,
// the filter's values and the time. A nil *pageStatement kept for a shape
// says that its pages go ent's way.
type pageStatement struct {
	text string
	args []pageArg
	// whole is the statement as ent rendered it when this one binds its
	// repeated constants once (page_params.go), for PostgreSQL's refusal.
	whole *pageStatement
}

type pageArgKind uint8

const (
	argConstant pageArgKind = iota
	argValue                // the filter's value numbered value
	argNow                  // the clock's time
)

type pageArg struct {
	kind     pageArgKind
	value    int
	constant any
}

// seenOnce is kept for a shape seen once and not learned yet.
var seenOnce = &pageStatement{}

// argsFor returns the statement's arguments for a page with the filter's
// values and the time now.
func (p *pageStatement) argsFor(values []any, now time.Time) []any {
	args := make([]any, len(p.args))
	for i, a := range p.args {
		switch a.kind {
		case argConstant:
			args[i] = a.constant
		case argValue:
			args[i] = values[a.value]
		case argNow:
			args[i] = now
		}
	}
	return args
}

func (c *pageCache) get(k pageKey) (p *pageStatement, known bool) { return c.m.Get(k) }

func (c *pageCache) put(k pageKey, p *pageStatement) { c.m.Add(k, p) }

// customersPage answers Query.customers from the statement kept for its
// shape, or as Paginate does (learning the statement where it can).
func (r *Resolver) customersPage(ctx context.Context, after *ent.Cursor, first *int, before *ent.Cursor, last *int, orderBy []*ent.CustomerOrder, where *ent.CustomerWhereInput) (*ent.CustomerConnection, error) {
	paginate := func(ctx context.Context, where *ent.CustomerWhereInput) (*ent.CustomerQuery, *ent.CustomerConnection, error) {
		q := r.client.Customer.Query()
		conn, err := q.Paginate(r.foldLatestVisits(ctx, q), after, first, before, last, ent.WithCustomerOrder(orderBy), ent.WithCustomerFilter(where.Filter))
		return q, conn, err
	}
	entsWay := func() (*ent.CustomerConnection, error) {
		_, conn, err := paginate(ctx, where)
		return conn, err
	}
	if after != nil || before != nil || last != nil || first == nil {
		return entsWay()
	}
	var order strings.Builder
	for _, o := range orderBy {
		if o != nil && o.Field != nil {
			order.WriteString(o.Field.String() + " " + o.Direction.String() + ",")
		}
	}
	c := r.pages
	key, values, ok := c.key(ctx, *first, order.String(), where)
	if !ok {
		return entsWay()
	}
	now := clock.Now(ctx)
	switch s, known := c.get(key); {
	case !known:
		// A shape is learned the second time it is seen: one seen once
		// (a filter on a time that changes with every page) costs no
		// second build.
		c.put(key, seenOnce)
		return entsWay()
	case s == nil:
		return entsWay()
	case s != seenOnce:
		nodes, err := c.run(key, s, values, now, func(text string, args []any) ([]*ent.Customer, error) {
			return r.client.Customer.Query().AllOf(ctx, text, args)
		})
		if err != nil {
			return nil, err
		}
		if conn, ok, err := ent.CustomerPageOfApplied(ctx, nodes, *first, ent.WithCustomerOrder(orderBy)); ok || err != nil {
			return conn, err
		}
		return entsWay()
	}
	// One clock for the page's statement, whose time is then known.
	ctx = clock.NewContext(ctx, func() time.Time { return now })
	recorded, log := statement.Record(ctx)
	q, conn, err := paginate(recorded, where)
	if err != nil {
		return conn, err
	}
	var learned *pageStatement
	// Kept only for a selection that its one statement answers (decided
	// here once: it is the field's, which the key holds).
	if standIn, standIns, ok := c.standIn(where); ok && !q.LoadsEdges() && ent.PageOfApplies(ctx) {
		dry, dryLog := statement.Dry(clock.NewContext(ctx, func() time.Time { return c.standInNow }))
		if _, _, err := paginate(dry, standIn); errors.Is(err, statement.ErrDry) {
			learned = c.learn(log.Statements(), dryLog.Statements(), values, standIns, now)
		}
	}
	if once := learned.bindOnce(); once != nil {
		learned = once
	}
	c.put(key, learned)
	return conn, nil
}

// learn returns the statement of a page from the statements its build ran
// (real, with the filter's values and the time now) and those its build
// with stand-ins sent (standIn, with the stand-in values and time), or nil
// if it cannot be kept.
func (c *pageCache) learn(real, standIn []statement.Statement, values, standIns []any, now time.Time) *pageStatement {
	if len(real) != 1 || len(standIn) != 1 {
		return nil
	}
	r, s := real[0], standIn[0]
	if r.Text != s.Text || len(r.Args) != len(s.Args) || strings.Contains(r.Text, c.marker) {
		return nil
	}
	p := &pageStatement{text: r.Text, args: make([]pageArg, len(r.Args))}
	for i, a := range s.Args {
		switch {
		case isStandInNow(a, c.standInNow):
			if t, ok := r.Args[i].(time.Time); !ok || !t.Equal(now) {
				return nil
			}
			p.args[i] = pageArg{kind: argNow}
		case c.isStandIn(a):
			k := slices.IndexFunc(standIns, func(v any) bool { return reflect.DeepEqual(v, a) })
			if k < 0 || !reflect.DeepEqual(r.Args[i], values[k]) {
				return nil
			}
			p.args[i] = pageArg{kind: argValue, value: k}
		default:
			if !reflect.DeepEqual(r.Args[i], a) || c.mentions(a) {
				return nil
			}
			p.args[i] = pageArg{kind: argConstant, constant: a}
		}
	}
	return p
}

func isStandInNow(a any, at time.Time) bool {
	t, ok := a.(time.Time)
	return ok && t.Equal(at)
}

// isStandIn reports whether a is a stand-in string as it was made (of a
// string kind, the marker and a number).
func (c *pageCache) isStandIn(a any) bool {
	v := reflect.ValueOf(a)
	return v.IsValid() && v.Kind() == reflect.String && strings.HasPrefix(v.String(), c.marker)
}

// mentions reports whether a holds a stand-in in any form (a value the
// filter wraps: "%" + value + "%").
func (c *pageCache) mentions(a any) bool {
	return strings.Contains(fmt.Sprint(a), c.marker)
}
