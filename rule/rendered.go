package rule

import (
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"entgo.io/ent/dialect/sql"

	"estatecrm/auth"
	"estatecrm/ent/customer"
	"estatecrm/ent/schema/pulid"
)

// Building an agent's customer filter with ent's predicate builders, then
// rendering it, was about a tenth of the allocations of an agent's phone
// search (each builder clones and joins), for the same SQL every time: the
// text and arguments depend only on the agent (user and projects), where
// the filter lands in the statement (the arguments before it, the table's
// name) and the time, which is one argument. So the filter is rendered
// once per agent and place, with a slot for the time, and reused with the
// time of each read.

// maxRendered bounds the filters kept; past it the cache starts afresh
// (a busy server has about one entry per active agent).
const maxRendered = 4096

var rendered = struct {
	sync.RWMutex
	m map[string]*renderedP
}{m: map[string]*renderedP{}}

// renderedP is a predicate's SQL and arguments, the time at args[now].
type renderedP struct {
	text string
	args []any
	now  int
}

// nowSlot stands for the time while a filter is rendered for the cache.
type nowSlot struct{}

// agentCustomersP is what an agent sees of customers at now: their own;
// their projects' public pool; the homeowner of a complaint they work or
// filed (written so that an index serves it: see indexed.go). One
// predicate tree: ent's customer.Or/And clone the whole selector for each.
func agentCustomersP(s *sql.Selector, v *auth.Viewer, now time.Time) *sql.Predicate {
	build := func(now any) *sql.Predicate {
		return sql.Or(
			sql.EQ(s.C(customer.FieldOwnerID), v.UserID),
			sql.And(sql.In(s.C(customer.FieldProjectID), anys(v.ProjectIDs)...), publicPool(s, now)),
			customerOfComplaintsOfP(s, v.UserID),
		)
	}
	return sql.P(func(b *sql.Builder) {
		key := renderedKey(b, s.C(customer.FieldID), v.UserID, v.ProjectIDs)
		rendered.RLock()
		r := rendered.m[key]
		rendered.RUnlock()
		if r == nil {
			// Rendered where it lands (PostgreSQL numbers the placeholders
			// from the arguments before it) and in parentheses, so that it
			// reads the same beside any other condition.
			f := &sql.Builder{}
			f.SetDialect(b.Dialect())
			f.SetTotal(b.Total())
			f.WriteByte('(').Join(build(nowSlot{})).WriteByte(')')
			if err := f.Err(); err != nil {
				b.AddError(err)
				return
			}
			text, args := f.Query()
			r = &renderedP{text: text, args: args, now: -1}
			for i, a := range args {
				if _, ok := a.(nowSlot); ok {
					r.now = i
				}
			}
			if r.now < 0 {
				b.AddError(errNoTimeSlot)
				return
			}
			rendered.Lock()
			if len(rendered.m) >= maxRendered {
				clear(rendered.m)
			}
			rendered.m[key] = r
			rendered.Unlock()
		}
		args := make([]any, len(r.args))
		copy(args, r.args)
		args[r.now] = now
		b.Join(querier{r.text, args})
	})
}

// errNoTimeSlot: the filter rendered without its time (a bug).
var errNoTimeSlot = errors.New("rule: rendered customer filter lost its time argument")

// querier is SQL and its arguments as they are (sql.Querier).
type querier struct {
	text string
	args []any
}

func (q querier) Query() (string, []any) { return q.text, q.args }

// renderedKey names a rendering: the dialect, the arguments before it, the
// table's id column and the viewer's ids, each prefixed with its length so
// that no two write the same key.
func renderedKey(b *sql.Builder, idColumn string, userID pulid.ID, projects []pulid.ID) string {
	var k strings.Builder
	k.Grow(64 + 30*len(projects))
	field := func(s string) {
		k.WriteString(strconv.Itoa(len(s)))
		k.WriteByte(':')
		k.WriteString(s)
	}
	field(b.Dialect())
	field(strconv.Itoa(b.Total()))
	field(idColumn)
	field(string(userID))
	field(strconv.Itoa(len(projects)))
	for _, p := range projects {
		field(string(p))
	}
	return k.String()
}
