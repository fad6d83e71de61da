// Package report computes the managers' dashboards (issue 13) in SQL.
//
// Every dashboard is a Spec (a period of whole days in the company's zone,
// the viewer's scope, one grouping) run against tables of events: customers
// registered, visits, holds, deals… Each statement is an ent query, so the
// viewer's privacy filter (package rule) is on it like on any other read;
// the Spec adds the period, the dashboard scope (Authorize) and the group
// key, and then wraps the filtered rows in the aggregate (GROUP BY, window
// functions for medians). Week and month buckets are computed here in Go in
// the company's zone and reach SQL as a CASE over their boundaries, so the
// same SQL runs on SQLite and PostgreSQL without time zone functions.
package report

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"

	"estatecrm/apperr"
	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/project"
	"estatecrm/ent/schema/pulid"
)

// MaxDays is the longest period a dashboard covers.
const MaxDays = 366

// PeriodInput is a period as the client writes it: whole days, both
// included, YYYY-MM-DD in the company's zone.
type PeriodInput struct {
	From, To string
}

// Period is a checked period: its days and the instants they span.
type Period struct {
	From, To   string    // first and last day, YYYY-MM-DD
	Start, End time.Time // UTC: 00:00 of From, and 00:00 of the day after To, in the zone
	Zone       *time.Location
}

// ParsePeriod checks in and places it in zone. Errors name the field
// (period.from, period.to) as BAD_USER_INPUT.
func ParsePeriod(in PeriodInput, zone *time.Location) (Period, error) {
	from, err := time.ParseInLocation(time.DateOnly, in.From, zone)
	if err != nil {
		return Period{}, apperr.Input("period.from", "a day is written YYYY-MM-DD")
	}
	to, err := time.ParseInLocation(time.DateOnly, in.To, zone)
	if err != nil {
		return Period{}, apperr.Input("period.to", "a day is written YYYY-MM-DD")
	}
	if to.Before(from) {
		return Period{}, apperr.Input("period.to", "the last day is before the first")
	}
	if days := civilDay(to) - civilDay(from) + 1; days > MaxDays {
		return Period{}, apperr.Input("period.to", "a period is at most %d days (this one is %d)", MaxDays, days)
	}
	end := time.Date(to.Year(), to.Month(), to.Day()+1, 0, 0, 0, 0, zone)
	return Period{From: from.Format(time.DateOnly), To: to.Format(time.DateOnly),
		Start: from.UTC(), End: end.UTC(), Zone: zone}, nil
}

// civilDay is the number of the day of t's calendar date (in t's own
// location) since 1970-01-01, whatever the zone's offset.
func civilDay(t time.Time) int {
	return int(time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// Days returns the period's first and last day as day numbers (days since
// 1970-01-01), how ChannelSpend keeps its days.
func (p Period) Days() (first, last int) {
	f, _ := time.Parse(time.DateOnly, p.From)
	l, _ := time.Parse(time.DateOnly, p.To)
	return civilDay(f), civilDay(l)
}

// GroupBy is a dashboard's grouping (GraphQL ReportGroupBy).
type GroupBy string

// The groupings.
const (
	ByProject GroupBy = "PROJECT"
	ByAgent   GroupBy = "AGENT"
	ByChannel GroupBy = "CHANNEL"
	ByWeek    GroupBy = "WEEK"
	ByMonth   GroupBy = "MONTH"
)

// MarshalGQL writes the grouping as a GraphQL enum value.
func (g GroupBy) MarshalGQL(w io.Writer) { _, _ = io.WriteString(w, strconv.Quote(string(g))) }

// UnmarshalGQL reads a GraphQL enum value.
func (g *GroupBy) UnmarshalGQL(v any) error {
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("ReportGroupBy must be a string")
	}
	switch x := GroupBy(s); x {
	case ByProject, ByAgent, ByChannel, ByWeek, ByMonth:
		*g = x
		return nil
	}
	return fmt.Errorf("%q is not a ReportGroupBy", s)
}

// Group is one group of a dashboard's breakdown.
type Group struct {
	Key   string
	Label string
}

// Scope is what a viewer may report on.
type Scope struct {
	All      bool       // an admin: every project
	Projects []pulid.ID // otherwise: these projects only
	// Agent, when set, limits every figure to this agent's own rows: an
	// agent reading agentBoard.
	Agent pulid.ID
}

// Authorize decides the viewer's scope of a dashboard: a manager their
// projects, an admin all; an agent only where the dashboard shows an agent
// its own row (ownRow: agentBoard), and then only that row; anyone else is
// FORBIDDEN (anonymous: UNAUTHENTICATED). A projectID narrows the scope to
// that project; one the viewer may not report on is NOT_FOUND.
func Authorize(ctx context.Context, projectID *pulid.ID, ownRow bool) (Scope, error) {
	v := auth.FromContext(ctx)
	if v == nil {
		return Scope{}, apperr.New(apperr.Unauthenticated, "authentication required")
	}
	if projectID != nil && !ent.IDOfType(*projectID, project.Table) {
		return Scope{}, apperr.Input("projectId", "not the ID of a project")
	}
	var s Scope
	switch {
	case v.Role == auth.RoleAdmin || v.Role == auth.RoleSystem:
		s.All = true
	case v.Role == auth.RoleManager:
		s.Projects = v.ProjectIDs
	case v.Role == auth.RoleAgent && ownRow:
		s.Projects, s.Agent = v.ProjectIDs, v.UserID
	default:
		return Scope{}, apperr.New(apperr.Forbidden, "dashboards are for managers and admins")
	}
	if projectID != nil {
		if !s.All && !slices.Contains(s.Projects, *projectID) {
			return Scope{}, &apperr.Error{Code: apperr.NotFound, Field: "projectId", Message: "no such project"}
		}
		s.All, s.Projects = false, []pulid.ID{*projectID}
	}
	return s, nil
}

// Spec is one dashboard request, checked.
type Spec struct {
	Period  Period
	Scope   Scope
	GroupBy *GroupBy
	buckets []bucket // WEEK or MONTH
	// Within, when set, breaks each group down once more (a Count's H):
	// channelMix's channels within a grouping, agentBoard's agents by one.
	Within        *GroupBy
	withinBuckets []bucket
}

// NewSpec checks a dashboard request: the viewer's scope first (Authorize),
// then the period in the company's zone and the grouping.
func NewSpec(ctx context.Context, period PeriodInput, projectID *pulid.ID, groupBy *GroupBy, zone *time.Location, ownRow bool) (*Spec, error) {
	scope, err := Authorize(ctx, projectID, ownRow)
	if err != nil {
		return nil, err
	}
	p, err := ParsePeriod(period, zone)
	if err != nil {
		return nil, err
	}
	sp := &Spec{Period: p, Scope: scope, GroupBy: groupBy}
	if groupBy != nil && (*groupBy == ByWeek || *groupBy == ByMonth) {
		sp.buckets = buckets(p, *groupBy)
	}
	return sp, nil
}

// bucket is one week or month of a period, clipped to it.
type bucket struct {
	key, label string
	start, end time.Time // UTC
}

// days returns the bucket's first and last day as day numbers (see Days).
func (b bucket) days(zone *time.Location) (first, last int) {
	return civilDay(b.start.In(zone)), civilDay(b.end.In(zone)) - 1
}

// buckets cuts p into weeks (Monday first) or calendar months of its zone.
func buckets(p Period, g GroupBy) []bucket {
	first, _ := time.ParseInLocation(time.DateOnly, p.From, p.Zone)
	var b []bucket
	start := time.Date(first.Year(), first.Month(), 1, 0, 0, 0, 0, p.Zone)
	next := func(t time.Time) time.Time { return time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, p.Zone) }
	if g == ByWeek {
		start = first.AddDate(0, 0, -((int(first.Weekday()) + 6) % 7))
		next = func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day()+7, 0, 0, 0, 0, p.Zone) }
	}
	for s := start; s.Before(p.End); s = next(s) {
		from, to := s, next(s)
		if from.Before(p.Start) {
			from = p.Start.In(p.Zone)
		}
		if to.After(p.End) {
			to = p.End.In(p.Zone)
		}
		b = append(b, bucket{key: s.Format(time.DateOnly),
			label: from.Format(time.DateOnly) + ".." + to.AddDate(0, 0, -1).Format(time.DateOnly),
			start: from.UTC(), end: to.UTC()})
	}
	return b
}

// Events describes a table of events a dashboard reads: the columns of the
// event's time, its project, the agent who made it and its customer. A
// dashboard names its own tables this way; Channel is set only where the
// table holds the source channel itself (customers), otherwise the
// customer's is joined.
type Events struct {
	Time, Project, Agent, Customer, Channel string
}

// Restrict adds the period and the dashboard scope to a read of events:
// what every figure of a Spec is over. The privacy filter of the table's
// entity is on the same read (ent applies it); this narrows it to the
// dashboard's own rule (an agent's own rows, the managed projects).
func (sp *Spec) Restrict(s *sql.Selector, ev Events) {
	s.Where(sql.And(sql.GTE(s.C(ev.Time), sp.Period.Start), sql.LT(s.C(ev.Time), sp.Period.End)))
	sp.Scoped(s, ev)
}

// Scoped adds only the dashboard scope (no period) to a read of events.
func (sp *Spec) Scoped(s *sql.Selector, ev Events) {
	if !sp.Scope.All {
		if len(sp.Scope.Projects) == 0 {
			s.Where(sql.False())
		} else {
			s.Where(sql.In(s.C(ev.Project), anys(sp.Scope.Projects)...))
		}
	}
	if sp.Scope.Agent != "" {
		s.Where(sql.EQ(s.C(ev.Agent), sp.Scope.Agent))
	}
}

func anys(ids []pulid.ID) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}

// channelAlias is the customers table joined for the CHANNEL grouping.
const channelAlias = "report_channel"

// Key returns the SQL expression of an event's group under the Spec's
// grouping (joining the customer for CHANNEL): a project or agent ID, a
// channel, a bucket's index (WEEK, MONTH), or 0 without grouping. The
// bucket index is a CASE over the boundaries computed in Go.
func (sp *Spec) Key(s *sql.Selector, ev Events) sql.Querier {
	return keyOf(s, ev, sp.GroupBy, sp.buckets)
}

// keyOf is Key under grouping g with the buckets of a WEEK or MONTH g.
func keyOf(s *sql.Selector, ev Events, g *GroupBy, buckets []bucket) sql.Querier {
	if g == nil {
		return sql.Raw("0")
	}
	switch *g {
	case ByProject:
		return sql.Raw(s.C(ev.Project))
	case ByAgent:
		return sql.Raw(s.C(ev.Agent))
	case ByChannel:
		if ev.Channel != "" {
			return sql.Raw(s.C(ev.Channel))
		}
		c := sql.Table("customers").As(channelAlias)
		s.Join(c).On(s.C(ev.Customer), c.C("id"))
		return sql.Raw(c.C("source"))
	}
	col := s.C(ev.Time) // now: once s is aliased as a subquery, s.C names the alias
	if len(buckets) == 1 {
		// A period within one week or month: a CASE needs a WHEN.
		return sql.Raw("0")
	}
	return sql.ExprFunc(func(b *sql.Builder) {
		b.WriteString("CASE")
		for i, k := range buckets[:len(buckets)-1] {
			b.WriteString(" WHEN ").WriteString(col).WriteString(" < ").Arg(k.end).
				WriteString(" THEN ").WriteString(strconv.Itoa(i))
		}
		b.WriteString(" ELSE ").WriteString(strconv.Itoa(len(buckets) - 1)).WriteString(" END")
	})
}

// wrap turns the read s, once ent has put every predicate on it (the
// privacy filter included), into build(inner), a statement over the rows
// it selects. It is given to ent as an order option: ent applies those
// after the predicates (modifiers run before them, too early to wrap).
func wrap(build func(d string, inner *sql.Selector) *sql.Selector) func(*sql.Selector) {
	return func(s *sql.Selector) {
		// A copy of the selector, not a Clone: a cloned predicate renders
		// wrongly (its closures still belong to the original: the depth
		// that parenthesises an OR is lost, and so was an operator).
		copied := *s
		inner := &copied
		// The filters so far stay one operand, in parentheses, whatever is
		// added: an OR of the privacy filter (an agent's own rows OR its
		// customers') must not bind to the first condition added after it.
		if p := inner.P(); p != nil {
			inner.SetP(sql.P(func(b *sql.Builder) { b.Wrap(func(b *sql.Builder) { b.Join(p) }) }))
		}
		*s = *build(s.Dialect(), inner)
	}
}

// Count is the number of events of one group, and the sum of a value over
// them (Summing; 0 for Counting).
type Count struct {
	G string `sql:"g"`
	H string `sql:"h"` // the group within G (Spec.Within), else 0
	N int64  `sql:"n"`
	S int64  `sql:"s"`
}

// Counting returns the order option that makes a read of events (s, as
// the entity's query builds it) count them per group of the Spec within the
// period, each event once; where adds the measure's own conditions. Scan
// the query into a []Count.
func (sp *Spec) Counting(ev Events, where ...func(*sql.Selector)) func(*sql.Selector) {
	return sp.aggregate(ev, "", true, where...)
}

// Summing is Counting that also sums column (of the read's table, NULL as
// 0) into Count.S.
func (sp *Spec) Summing(ev Events, column string, where ...func(*sql.Selector)) func(*sql.Selector) {
	return sp.aggregate(ev, column, true, where...)
}

// CountingNow is Counting over the scope without the period: what is true
// now (customers owned, grades).
func (sp *Spec) CountingNow(ev Events, where ...func(*sql.Selector)) func(*sql.Selector) {
	return sp.aggregate(ev, "", false, where...)
}

func (sp *Spec) aggregate(ev Events, sum string, inPeriod bool, where ...func(*sql.Selector)) func(*sql.Selector) {
	return wrap(func(d string, inner *sql.Selector) *sql.Selector {
		if inPeriod {
			sp.Restrict(inner, ev)
		} else {
			sp.Scoped(inner, ev)
		}
		for _, w := range where {
			w(inner)
		}
		g := sp.Key(inner, ev)
		v := sql.Raw("0")
		if sum != "" {
			v = sql.Raw("COALESCE(" + inner.C(sum) + ", 0)")
		}
		h := keyOf(inner, ev, sp.Within, sp.withinBuckets)
		inner.Select().AppendSelectExprAs(g, "g").AppendSelectExprAs(h, "h").AppendSelectExprAs(v, "v")
		return sql.Dialect(d).Select("g", "h").AppendSelectExprAs(sql.Raw("COUNT(*)"), "n").
			AppendSelectExprAs(sql.Raw("COALESCE(SUM(v), 0)"), "s").
			From(inner.As("report_events")).GroupBy("g", "h")
	})
}

// Grouped returns a copy of the Spec grouped by g instead (dashboards whose
// rows are one grouping: channelMix by channel, agentBoard by agent).
func (sp *Spec) Grouped(g GroupBy) *Spec {
	c := *sp
	c.GroupBy = &g
	c.buckets = nil
	c.Within, c.withinBuckets = nil, nil
	return &c
}

// Nested returns a copy of the Spec grouped by outer (nil: none), each
// group broken down by inner (Count.H; nil, or the same as outer, is no
// breakdown), WEEK or MONTH ones cut into the period's buckets.
func (sp *Spec) Nested(outer, inner *GroupBy) *Spec {
	c := *sp
	c.GroupBy, c.buckets, c.Within, c.withinBuckets = outer, nil, nil, nil
	if outer != nil && (*outer == ByWeek || *outer == ByMonth) {
		c.buckets = buckets(sp.Period, *outer)
	}
	if inner == nil || (outer != nil && *inner == *outer) {
		return &c
	}
	c.Within = inner
	if *inner == ByWeek || *inner == ByMonth {
		c.withinBuckets = buckets(sp.Period, *inner)
	}
	return &c
}

// KeyOfWithin maps a Count's H to its group's key, as KeyOf does G.
func (sp *Spec) KeyOfWithin(h string) string {
	if sp.withinBuckets != nil {
		if i, err := strconv.Atoi(h); err == nil && i >= 0 && i < len(sp.withinBuckets) {
			return sp.withinBuckets[i].key
		}
	}
	return h
}

// WithinGroups lists the groups of a Nested Spec's breakdown in order:
// every bucket of WEEK or MONTH, otherwise those of seen, by label.
func (sp *Spec) WithinGroups(ctx context.Context, client *ent.Client, seen map[string]bool) ([]Group, error) {
	if sp.Within == nil {
		return nil, nil
	}
	w := *sp
	w.GroupBy, w.buckets = sp.Within, sp.withinBuckets
	return w.Groups(ctx, client, seen)
}

// Median is the median of a measure over one group.
type Median struct {
	G string          `sql:"g"`
	M sql.NullFloat64 `sql:"m"`
}

// Medians returns the order option that makes a read of events compute
// the median of value (an SQL expression over the read's row, e.g.
// DaysBetween) per group within the period: row_number() and count() over
// each group's values in order, and the mean of the middle one or two. Rows
// whose value is NULL are left out. Scan the query into a []Median.
func (sp *Spec) Medians(ev Events, value func(s *sql.Selector) string, where ...func(*sql.Selector)) func(*sql.Selector) {
	return sp.medians(ev, value, false, where...)
}

// MediansTotal is Medians over the whole scope, ungrouped: one row.
func (sp *Spec) MediansTotal(ev Events, value func(s *sql.Selector) string, where ...func(*sql.Selector)) func(*sql.Selector) {
	return sp.medians(ev, value, true, where...)
}

func (sp *Spec) medians(ev Events, value func(s *sql.Selector) string, total bool, where ...func(*sql.Selector)) func(*sql.Selector) {
	return wrap(func(d string, inner *sql.Selector) *sql.Selector {
		sp.Restrict(inner, ev)
		for _, w := range where {
			w(inner)
		}
		g := sql.Querier(sql.Raw("0"))
		if !total {
			g = sp.Key(inner, ev)
		}
		v := value(inner)
		inner.Select().AppendSelectExprAs(g, "g").AppendSelectExprAs(sql.Raw(v), "v")
		// NULL values are dropped a level up (WHERE comes before the window
		// functions), not in the read: there the value's expression was
		// written twice, and PostgreSQL ran its subquery (the funnel's first
		// visit) twice per row.
		ranked := sql.Dialect(d).Select("g", "v").
			AppendSelectExprAs(sql.Raw("ROW_NUMBER() OVER (PARTITION BY g ORDER BY v)"), "rn").
			AppendSelectExprAs(sql.Raw("COUNT(*) OVER (PARTITION BY g)"), "cnt").
			From(inner.As("report_values")).Where(sql.NotNull("v"))
		return sql.Dialect(d).Select("g").AppendSelectExprAs(sql.Raw("AVG(v)"), "m").
			From(ranked.As("report_ranked")).
			Where(sql.P(func(b *sql.Builder) { b.WriteString("rn IN ((cnt + 1) / 2, (cnt + 2) / 2)") })).
			GroupBy("g")
	})
}

// DaysBetween is the SQL for the days (with fraction) from the instant in
// column earlier to the one in later. The one expression that differs by
// dialect: a difference of instants, no time zone involved.
func DaysBetween(d, later, earlier string) string {
	if d == dialect.Postgres {
		return "(EXTRACT(EPOCH FROM (" + later + " - " + earlier + ")) / 86400.0)"
	}
	return "(julianday(" + sqliteTime(later) + ") - julianday(" + sqliteTime(earlier) + "))"
}

// sqliteTime reads a time as the SQLite driver stores it (Go's
// "2006-01-02 15:04:05.999999999 -0700 MST", always UTC here: every time
// is written in UTC, which the comparisons of every query rely on too) to
// the first 19 characters SQLite's date functions parse; the fraction of a
// second is no matter to a count of days.
func sqliteTime(col string) string {
	return "substr(" + col + ", 1, 19)"
}

// Groups lists the groups a breakdown shows, in order: every bucket of a
// WEEK or MONTH grouping; otherwise those of seen, by label.
func (sp *Spec) Groups(ctx context.Context, client *ent.Client, seen map[string]bool) ([]Group, error) {
	if sp.GroupBy == nil {
		return nil, nil
	}
	var out []Group
	switch *sp.GroupBy {
	case ByWeek, ByMonth:
		for _, b := range sp.buckets {
			out = append(out, Group{Key: b.key, Label: b.label})
		}
		return out, nil
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	labels, err := sp.labels(ctx, client, keys)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		out = append(out, Group{Key: k, Label: labels[k]})
	}
	slices.SortFunc(out, func(a, b Group) int {
		if a.Label != b.Label {
			if a.Label < b.Label {
				return -1
			}
			return 1
		}
		if a.Key < b.Key {
			return -1
		}
		return 1
	})
	return out, nil
}

// KeyOf maps a group's value as read from SQL to its key: a bucket index to
// the bucket's first day; anything else is the key itself.
func (sp *Spec) KeyOf(g string) string {
	if sp.buckets != nil {
		if i, err := strconv.Atoi(g); err == nil && i >= 0 && i < len(sp.buckets) {
			return sp.buckets[i].key
		}
	}
	return g
}
