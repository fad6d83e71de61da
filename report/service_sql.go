package report

import (
	"strconv"
	"strings"

	"entgo.io/ent/dialect/sql"
)

// The service dashboards (serviceBoard, satisfaction) count several
// measures of one table at once: each measure is an arm (its own time
// column for the period, its own conditions), all arms of a table are one
// statement (UNION ALL of the filtered read, counted GROUP BY group and
// arm), so that a dashboard costs a few statements whatever its figures.

// arm is one measure of a table: the events it counts are the table's rows
// whose ev.Time lies in the period and that where keeps.
type arm struct {
	ev    Events
	where func(*sql.Selector)
}

// keyFn is the group of an event under a breakdown: the Spec's grouping,
// a column (category…), or one group for the total.
type keyFn func(s *sql.Selector, ev Events) sql.Querier

// totalKey puts every event in one group, "0".
func totalKey(*sql.Selector, Events) sql.Querier { return sql.Raw("'0'") }

// groupKey is the Spec's grouping. An event with no agent (a complaint not
// routed, a survey of one) groups under "" by AGENT.
func (sp *Spec) groupKey(s *sql.Selector, ev Events) sql.Querier {
	if sp.GroupBy != nil && *sp.GroupBy == ByAgent {
		return sql.Raw("COALESCE(" + s.C(ev.Agent) + ", '')")
	}
	return sp.Key(s, ev)
}

// columnKey groups by a column of the read ("" where it is NULL): of the
// table joined for the events' project where that is qualified (the
// complaint of a timeline event).
func columnKey(column string) keyFn {
	return func(s *sql.Selector, ev Events) sql.Querier {
		if table, _, ok := strings.Cut(ev.Project, "."); ok {
			return sql.Raw("COALESCE(" + table + "." + column + ", '')")
		}
		return sql.Raw("COALESCE(" + s.C(column) + ", '')")
	}
}

// armCount is the number of events of one arm in one group.
type armCount struct {
	G string `sql:"g"`
	F int    `sql:"f"`
	N int64  `sql:"n"`
}

// countArms returns the order option that turns a read of a table into the
// counts of each arm per group (scan into []armCount; F is the arm's
// index). prep, if set, reshapes each copy of the read first (joins).
func (sp *Spec) countArms(key keyFn, prep func(d string, s *sql.Selector) *sql.Selector, arms ...arm) func(*sql.Selector) {
	return wrap(func(d string, inner *sql.Selector) *sql.Selector {
		union := sp.armsUnion(d, inner, key, prep, arms, nil)
		return sql.Dialect(d).Select("g", "f").AppendSelectExprAs(sql.Raw("COUNT(*)"), "n").
			From(union.As("service_events")).GroupBy("g", "f")
	})
}

// armMedian is the median of one arm's values in one group.
type armMedian struct {
	G string          `sql:"g"`
	F int             `sql:"f"`
	M sql.NullFloat64 `sql:"m"`
}

// medianArms returns the order option that turns a read into the median
// of each arm's value per group (scan into []armMedian): row_number() and
// count() over each group's values of an arm, the mean of the middle one or
// two, as Spec.Medians does for one measure.
func (sp *Spec) medianArms(key keyFn, values []func(s *sql.Selector) string, arms ...arm) func(*sql.Selector) {
	return wrap(func(d string, inner *sql.Selector) *sql.Selector {
		union := sp.armsUnion(d, inner, key, nil, arms, values)
		ranked := sql.Dialect(d).Select("g", "f", "v").
			AppendSelectExprAs(sql.Raw("ROW_NUMBER() OVER (PARTITION BY g, f ORDER BY v)"), "rn").
			AppendSelectExprAs(sql.Raw("COUNT(*) OVER (PARTITION BY g, f)"), "cnt").
			From(union.As("service_values"))
		return sql.Dialect(d).Select("g", "f").AppendSelectExprAs(sql.Raw("AVG(v)"), "m").
			From(ranked.As("service_ranked")).
			Where(sql.P(func(b *sql.Builder) { b.WriteString("rn IN ((cnt + 1) / 2, (cnt + 2) / 2)") })).
			GroupBy("g", "f")
	})
}

// armsUnion is one copy of the read per arm, restricted to the period of
// the arm's time column and the dashboard's scope, selecting the group, the
// arm's index and (with values) the arm's value; all of them UNION ALL.
func (sp *Spec) armsUnion(d string, inner *sql.Selector, key keyFn, prep func(d string, s *sql.Selector) *sql.Selector,
	arms []arm, values []func(s *sql.Selector) string) *sql.Selector {
	var union *sql.Selector
	for i, a := range arms {
		s := inner.Clone()
		if prep != nil {
			s = prep(d, s)
		}
		if a.ev.Time != "" {
			sp.Restrict(s, a.ev)
		} else {
			sp.Scoped(s, a.ev)
		}
		if a.where != nil {
			a.where(s)
		}
		g := key(s, a.ev)
		s.Select().AppendSelectExprAs(g, "g").AppendSelectExprAs(sql.Raw(strconv.Itoa(i)), "f")
		if values != nil {
			v := values[i](s)
			s.Where(sql.P(func(b *sql.Builder) { b.WriteString(v).WriteString(" IS NOT NULL") }))
			s.AppendSelectExprAs(sql.Raw(v), "v")
		}
		if union == nil {
			union = s
		} else {
			union.UnionAll(s)
		}
	}
	return union
}

// colLE is the condition that the instant in column a is not after the one
// in column b (both UTC, so that SQLite's stored text orders as time).
func colLE(a, b string) func(*sql.Selector) {
	return func(s *sql.Selector) {
		s.Where(sql.P(func(bd *sql.Builder) { bd.WriteString(s.C(a)).WriteString(" <= ").WriteString(s.C(b)) }))
	}
}
