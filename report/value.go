package report

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"entgo.io/ent/dialect/sql"

	"estatecrm/apperr"
	"estatecrm/ent"
	"estatecrm/ent/customer"
	"estatecrm/ent/deal"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/visit"
	"estatecrm/money"
)

// CustomerValue is the grade distribution and a page of customers by RFM
// score (GraphQL CustomerValue).
type CustomerValue struct {
	From, To, Rule string
	Grades         []*GradeCount
	GradeGroups    []*GradeGroup
	TotalCount     int
	Customers      []*CustomerValueRow
	HasNextPage    bool
	EndCursor      *string
}

// GradeCount is how many customers have a grade.
type GradeCount struct {
	Grade customer.Grade
	Count int
}

// GradeGroup is the grade distribution of one group.
type GradeGroup struct {
	Group  *Group
	Grades []*GradeCount
}

// grades lists the counts of byGrade, A to D.
func gradesOf(byGrade map[string]int) []*GradeCount {
	var out []*GradeCount
	for _, g := range []customer.Grade{customer.GradeA, customer.GradeB, customer.GradeC, customer.GradeD} {
		out = append(out, &GradeCount{Grade: g, Count: byGrade[string(g)]})
	}
	return out
}

// CustomerValueRow is one customer's RFM score.
type CustomerValueRow struct {
	Customer                                      *ent.Customer
	Score, Recency, Frequency, Monetary, Contacts int
	Value                                         *money.Fen
}

// The RFM rule: each part scores 1 to 5 by fixed thresholds (stable from
// one period to the next and explainable to a manager, unlike quantiles),
// and the score is their sum.
var (
	recencyDays  = []int{7, 14, 30, 90}                                                                                     // last contact within: 5, 4, 3, 2; else 1
	frequencyMin = []int{5, 4, 3, 2}                                                                                        // contacts in the period at least: 5, 4, 3, 2; else 1
	monetaryMin  = []money.Fen{money.Yuan(10_000_000), money.Yuan(5_000_000), money.Yuan(3_000_000), money.Yuan(1_000_000)} // 5, 4, 3, 2; else 1
	customerRule = fmt.Sprintf("score = R + F + M, each 1–5. R (recency of the last contact, as of the end of the period or now if earlier): within %d/%d/%d/%d days → 5/4/3/2, else or never 1. "+
		"F (contacts — visits of any kind — in the period): at least %d/%d/%d/%d → 5/4/3/2, else 1. "+
		"M (value: the customer's deals not cancelled, summed; without one, the budget's top, else its bottom): at least ¥%s/%s/%s/%s → 5/4/3/2, else or unknown 1. "+
		"Ties: by customer ID.", recencyDays[0], recencyDays[1], recencyDays[2], recencyDays[3],
		frequencyMin[0], frequencyMin[1], frequencyMin[2], frequencyMin[3],
		monetaryMin[0], monetaryMin[1], monetaryMin[2], monetaryMin[3])
)

// valueRow is what the scoring statement answers per customer.
type valueRow struct {
	ID       string        `sql:"id"`
	R        int64         `sql:"r"`
	F        int64         `sql:"f"`
	M        int64         `sql:"m"`
	Score    int64         `sql:"score"`
	Contacts int64         `sql:"contacts"`
	Value    sql.NullInt64 `sql:"val"`
	Total    int64         `sql:"total"` // every scored customer, before the page
}

// MaxPage is the largest page of customerValue.
const MaxPage = 100

// CustomerValueOf scores the active customers of sp's scope (not lost, not
// owners) and returns a page of them, highest first, with the grade
// distribution of every customer in scope: two statements (grades; the
// page, which counts every scored customer too) and one more to load the
// page's customers (and one to count them when there is no page).
func CustomerValueOf(ctx context.Context, client *ent.Client, sp *Spec, first *int, after *string, now time.Time) (*CustomerValue, error) {
	limit := 20
	if first != nil {
		if *first < 0 || *first > MaxPage {
			return nil, apperr.Input("first", "first is 0 to %d", MaxPage)
		}
		limit = *first
	}
	offset := 0
	if after != nil {
		n, err := strconv.Atoi(*after)
		if err != nil || n < 0 {
			return nil, apperr.Input("after", "not a cursor of this list")
		}
		offset = n
	}
	out := &CustomerValue{From: sp.Period.From, To: sp.Period.To, Rule: customerRule}

	var grades []Count
	err := client.Customer.Query().Modify(func(s *sql.Selector) {
		sp.Scoped(s, customerEvents)
		s.Select().AppendSelectExprAs(sql.Raw(s.C(customer.FieldGrade)), "g").
			AppendSelectExprAs(sql.Raw("COUNT(*)"), "n").GroupBy(s.C(customer.FieldGrade))
	}).Scan(ctx, &grades)
	if err != nil {
		return nil, err
	}
	byGrade := map[string]int{}
	for _, g := range grades {
		byGrade[g.G] = int(g.N)
	}
	out.Grades = gradesOf(byGrade)
	if sp.GroupBy != nil {
		if out.GradeGroups, err = sp.gradeGroups(ctx, client); err != nil {
			return nil, err
		}
	}

	active := customer.StageNotIn(customer.StageLOST, customer.StageOWNER)
	var rows []valueRow
	if limit > 0 {
		asOf := sp.Period.End
		if now.Before(asOf) {
			asOf = now.UTC()
		}
		if err := client.Customer.Query().Where(active).Order(sp.scoring(asOf, limit+1, offset)).Select(customer.FieldID).Scan(ctx, &rows); err != nil {
			return nil, err
		}
	}
	if len(rows) > 0 {
		out.TotalCount = int(rows[0].Total)
	} else {
		// No page (first: 0, or past the end): the count on its own. Else
		// the page's statement counted them: each statement here reads
		// every customer of the scope, one heap page each on the scale data.
		var total []Count
		if err := client.Customer.Query().Where(active).Order(sp.Grouped(ByProject).CountingNow(customerEvents)).Select(customer.FieldID).Scan(ctx, &total); err != nil {
			return nil, err
		}
		for _, t := range total {
			out.TotalCount += int(t.N)
		}
	}
	if len(rows) > limit {
		rows, out.HasNextPage = rows[:limit], true
	}
	ids := make([]pulid.ID, len(rows))
	for i, r := range rows {
		ids[i] = pulid.ID(r.ID)
	}
	cs, err := client.Customer.Query().Where(customer.IDIn(ids...)).All(ctx)
	if err != nil {
		return nil, err
	}
	byID := make(map[pulid.ID]*ent.Customer, len(cs))
	for _, c := range cs {
		byID[c.ID] = c
	}
	for _, r := range rows {
		c := byID[pulid.ID(r.ID)]
		if c == nil {
			continue // gone since it was scored
		}
		row := &CustomerValueRow{Customer: c, Score: int(r.Score), Recency: int(r.R), Frequency: int(r.F), Monetary: int(r.M), Contacts: int(r.Contacts)}
		if r.Value.Valid {
			v := money.Fen(r.Value.Int64)
			row.Value = &v
		}
		out.Customers = append(out.Customers, row)
	}
	if len(rows) > 0 {
		end := strconv.Itoa(offset + len(rows))
		out.EndCursor = &end
	}
	return out, nil
}

// scoring turns a read of customers into their RFM scores, highest first,
// in one pass: the scope's visits of the period counted per customer once,
// and its live deals summed per customer once (each a GROUP BY read by its
// project's index), both joined to the customers; then the three parts as
// CASEs over thresholds computed here (the recency's as instants, so no
// date arithmetic in SQL), and the page. A customer's visits and deals are
// of the customer's own project (sales.LogVisit and ReserveUnit write
// them so, and a merge joins records of one project only), so the scope
// that keeps the customers keeps their visits and deals too. Correlated
// subqueries per customer, as this was first written, cost two index
// probes per customer in scope: 762 ms at p99 on the scale data.
func (sp *Spec) scoring(asOf time.Time, limit, offset int) func(*sql.Selector) {
	return wrap(func(d string, inner *sql.Selector) *sql.Selector {
		sp.Scoped(inner, customerEvents)
		id := inner.C(customer.FieldID)

		vt := sql.Dialect(d).Table(visit.Table)
		visits := sql.Dialect(d).Select(vt.C(visit.FieldCustomerID)).
			AppendSelectExprAs(sql.Raw("COUNT(*)"), "n").From(vt).
			Where(sql.And(sql.GTE(vt.C(visit.FieldOccurredAt), sp.Period.Start), sql.LT(vt.C(visit.FieldOccurredAt), sp.Period.End))).
			GroupBy(vt.C(visit.FieldCustomerID))
		dt := sql.Dialect(d).Table(deal.Table)
		deals := sql.Dialect(d).Select(dt.C(deal.FieldCustomerID)).
			AppendSelectExprAs(sql.Raw("SUM("+dt.C(deal.FieldPrice)+")"), "s").From(dt).
			Where(sql.NEQ(dt.C(deal.FieldStage), deal.StageCANCELLED)).
			GroupBy(dt.C(deal.FieldCustomerID))
		if !sp.Scope.All {
			in := anys(sp.Scope.Projects)
			if len(in) == 0 {
				in = []any{""}
			}
			visits.Where(sql.In(vt.C(visit.FieldProjectID), in...))
			deals.Where(sql.In(dt.C(deal.FieldProjectID), in...))
		}
		rv, rd := visits.As("report_contacts"), deals.As("report_value")
		inner.LeftJoin(rv).On(id, rv.C(visit.FieldCustomerID)).
			LeftJoin(rd).On(id, rd.C(deal.FieldCustomerID))
		inner.Select().AppendSelectExprAs(sql.Raw(id), "id").
			AppendSelectExprAs(sql.Raw(inner.C(customer.FieldLastContactAt)), "lc").
			AppendSelectExprAs(sql.Raw("COALESCE("+rv.C("n")+", 0)"), "contacts").
			AppendSelectExprAs(sql.Raw("COALESCE("+rd.C("s")+", "+inner.C(customer.FieldBudgetMax)+", "+inner.C(customer.FieldBudgetMin)+")"), "val")
		parts := sql.Dialect(d).Select("id", "contacts", "val").
			AppendSelectExprAs(sql.ExprFunc(func(b *sql.Builder) {
				b.WriteString("CASE")
				for i, days := range recencyDays {
					b.WriteString(" WHEN lc >= ").Arg(asOf.Add(-time.Duration(days) * 24 * time.Hour)).WriteString(" THEN " + strconv.Itoa(5-i))
				}
				b.WriteString(" ELSE 1 END")
			}), "r").
			AppendSelectExprAs(sql.Raw(thresholds("contacts", frequencyMin)), "f").
			AppendSelectExprAs(sql.Raw(thresholds("val", monetaryMin)), "m").
			From(inner.As("report_customers"))
		return sql.Dialect(d).Select("id", "r", "f", "m", "contacts", "val").
			AppendSelectExprAs(sql.Raw("r + f + m"), "score").
			AppendSelectExprAs(sql.Raw("COUNT(*) OVER ()"), "total").
			From(parts.As("report_parts")).
			OrderExpr(sql.Raw("r + f + m DESC, id")).Limit(limit).Offset(offset)
	})
}

// thresholds is a CASE scoring column 5, 4, 3, 2 for at least each of min,
// else 1 (NULL too).
func thresholds[T ~int | ~int64](column string, min []T) string {
	s := "CASE"
	for i, m := range min {
		s += " WHEN " + column + " >= " + strconv.FormatInt(int64(m), 10) + " THEN " + strconv.Itoa(5-i)
	}
	return s + " ELSE 1 END"
}

// gradeGroups is the grade distribution by sp's grouping, in one statement
// grouped by the group and the grade: of every customer in scope now by
// project, owning agent (a customer of the public pool in a group of key
// "") or channel; of the customers registered in each week or month of the
// period by WEEK or MONTH (a grade has no time of its own).
func (sp *Spec) gradeGroups(ctx context.Context, client *ent.Client) ([]*GradeGroup, error) {
	timed := *sp.GroupBy == ByWeek || *sp.GroupBy == ByMonth
	var counts []Count
	err := client.Customer.Query().Modify(func(s *sql.Selector) {
		if timed {
			sp.Restrict(s, customerEvents)
		} else {
			sp.Scoped(s, customerEvents)
		}
		g := sp.Key(s, customerEvents)
		key := sql.ExprFunc(func(b *sql.Builder) { b.WriteString("COALESCE(").Join(g).WriteString(", '')") })
		if timed {
			key = sql.ExprFunc(func(b *sql.Builder) { b.Join(g) })
		}
		s.Select().AppendSelectExprAs(key, "g").
			AppendSelectExprAs(sql.Raw(s.C(customer.FieldGrade)), "h").
			AppendSelectExprAs(sql.Raw("COUNT(*)"), "n").GroupBy("g", "h")
	}).Scan(ctx, &counts)
	if err != nil {
		return nil, err
	}
	byGroup := map[string]map[string]int{}
	for _, c := range counts {
		k := sp.KeyOf(c.G)
		if byGroup[k] == nil {
			byGroup[k] = map[string]int{}
		}
		byGroup[k][c.H] += int(c.N)
	}
	seen := map[string]bool{}
	for k := range byGroup {
		seen[k] = true
	}
	groups, err := sp.Groups(ctx, client, seen)
	if err != nil {
		return nil, err
	}
	out := make([]*GradeGroup, len(groups))
	for i, g := range groups {
		out[i] = &GradeGroup{Group: &g, Grades: gradesOf(byGroup[g.Key])}
	}
	return out, nil
}
