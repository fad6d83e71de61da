package report

import (
	"context"

	"entgo.io/ent/dialect/sql"

	"estatecrm/ent"
	"estatecrm/ent/customer"
	"estatecrm/ent/deal"
	"estatecrm/ent/unithold"
	"estatecrm/ent/visit"
	"estatecrm/sales"
)

// Funnel is the sales funnel of a period (GraphQL SalesFunnel).
type Funnel struct {
	From, To string
	Total    *FunnelFigures
	Groups   []*FunnelGroup
}

// FunnelGroup is the funnel of one group.
type FunnelGroup struct {
	Group   *Group
	Figures *FunnelFigures
}

// FunnelFigures are the counts, rates and medians of a funnel.
type FunnelFigures struct {
	Leads, FirstVisits, Revisits, Holds, Reservations, Contracts, Cancellations int

	FirstVisitRate, RevisitRate, HoldRate, ReservationRate, ContractRate, CancellationRate *float64

	MedianDaysLeadToFirstVisit, MedianDaysVisitToReservation, MedianDaysReservationToContract *float64
}

// The tables of events of the funnel.
var (
	customerEvents = Events{Time: customer.FieldCreatedAt, Project: customer.FieldProjectID, Agent: customer.FieldOwnerID,
		Customer: customer.FieldID, Channel: customer.FieldSource}
	visitEvents = Events{Time: visit.FieldOccurredAt, Project: visit.FieldProjectID, Agent: visit.FieldAgentID, Customer: visit.FieldCustomerID}
	holdEvents  = Events{Time: unithold.FieldHeldAt, Project: unithold.FieldProjectID, Agent: unithold.FieldAgentID, Customer: unithold.FieldCustomerID}
)

// dealEvents are deals by one of their times (reserved_at, contracted_at,
// cancelled_at).
func dealEvents(at string) Events {
	return Events{Time: at, Project: deal.FieldProjectID, Agent: deal.FieldAgentID, Customer: deal.FieldCustomerID}
}

// reservation keeps the deals that were a reservation: not a discount
// request still waiting, nor one a manager rejected (it is cancelled, but
// was never reserved: its audit event says so).
//
// The rejected deals are one uncorrelated NOT IN, which PostgreSQL hashes
// once per statement (the scope's rejections are few), not a NOT EXISTS per
// deal: with the deals' statistics stale after a burst of reservations (the
// bench's hold+reserve+cancel, before autovacuum's ANALYZE), the planner
// took the deals for one row and ran the NOT EXISTS as a sequential scan of
// audit_events per deal: deals × audit events, 4 s for salesFunnel at p50.
func (sp *Spec) reservation(s *sql.Selector) {
	s.Where(sql.NEQ(s.C(deal.FieldStage), deal.StagePENDING_APPROVAL))
	a := sql.Dialect(s.Dialect()).Table("audit_events").As("report_rejected")
	rejected := sql.Dialect(s.Dialect()).Select(a.C("object_id")).From(a).
		Where(sql.And(sql.EQ(a.C("action"), sales.DiscountReject), sql.NotNull(a.C("object_id"))))
	if !sp.Scope.All {
		// A rejection's audit event carries its deal's project (its index
		// serves this).
		rejected.Where(sql.In(a.C("project_id"), anys(sp.Scope.Projects)...))
	}
	s.Where(sql.NotIn(s.C(deal.FieldID), rejected))
}

// SalesFunnel computes the funnel of sp: each count in one statement
// grouped in SQL, each median in one statement of window functions (and
// once more ungrouped for the total).
func SalesFunnel(ctx context.Context, client *ent.Client, sp *Spec) (*Funnel, error) {
	f := &Funnel{From: sp.Period.From, To: sp.Period.To}
	byGroup := map[string]*FunnelFigures{}
	fig := func(g string) *FunnelFigures {
		k := sp.KeyOf(g)
		if byGroup[k] == nil {
			byGroup[k] = &FunnelFigures{}
		}
		return byGroup[k]
	}
	counts := []struct {
		run func(order func(*sql.Selector), v *[]Count) error
		set func(*FunnelFigures, int)
	}{
		{func(o func(*sql.Selector), v *[]Count) error {
			return client.Customer.Query().Order(o).Select(customer.FieldID).Scan(ctx, v)
		}, func(f *FunnelFigures, n int) { f.Leads += n }},
		{func(o func(*sql.Selector), v *[]Count) error {
			return client.Visit.Query().Where(visit.KindEQ(visit.KindFIRST_VISIT)).Order(o).Select(visit.FieldID).Scan(ctx, v)
		}, func(f *FunnelFigures, n int) { f.FirstVisits += n }},
		{func(o func(*sql.Selector), v *[]Count) error {
			return client.Visit.Query().Where(visit.KindEQ(visit.KindREVISIT)).Order(o).Select(visit.FieldID).Scan(ctx, v)
		}, func(f *FunnelFigures, n int) { f.Revisits += n }},
		{func(o func(*sql.Selector), v *[]Count) error {
			return client.UnitHold.Query().Order(o).Select(unithold.FieldID).Scan(ctx, v)
		}, func(f *FunnelFigures, n int) { f.Holds += n }},
		{func(o func(*sql.Selector), v *[]Count) error {
			return client.Deal.Query().Order(o).Select(deal.FieldID).Scan(ctx, v)
		}, func(f *FunnelFigures, n int) { f.Reservations += n }},
		{func(o func(*sql.Selector), v *[]Count) error {
			return client.Deal.Query().Order(o).Select(deal.FieldID).Scan(ctx, v)
		}, func(f *FunnelFigures, n int) { f.Contracts += n }},
		{func(o func(*sql.Selector), v *[]Count) error {
			return client.Deal.Query().Order(o).Select(deal.FieldID).Scan(ctx, v)
		}, func(f *FunnelFigures, n int) { f.Cancellations += n }},
	}
	orders := []func(*sql.Selector){
		sp.Counting(customerEvents),
		sp.Counting(visitEvents),
		sp.Counting(visitEvents),
		sp.Counting(holdEvents),
		sp.Counting(dealEvents(deal.FieldReservedAt), sp.reservation),
		sp.Counting(dealEvents(deal.FieldContractedAt)),
		sp.Counting(dealEvents(deal.FieldCancelledAt), sp.reservation),
	}
	total := &FunnelFigures{}
	for i, c := range counts {
		var rows []Count
		if err := c.run(orders[i], &rows); err != nil {
			return nil, err
		}
		for _, r := range rows {
			c.set(fig(r.G), int(r.N))
			c.set(total, int(r.N))
		}
	}

	// The medians, per group and in total.
	leadToVisit := func(s *sql.Selector) string {
		c := sql.Table(customer.Table).As("report_lead")
		s.Join(c).On(s.C(visit.FieldCustomerID), c.C(customer.FieldID))
		return DaysBetween(s.Dialect(), s.C(visit.FieldOccurredAt), c.C(customer.FieldCreatedAt))
	}
	// Each customer's first visit, once per customer of the period's deals
	// (a GROUP BY joined to the deals), not a subquery per deal: a customer
	// with several deals, or many visits, was read again for each (0.1 to
	// 0.4 ms a deal on the bench's grid project).
	firstVisit := func(s *sql.Selector) string {
		d := s.Dialect()
		dl := sql.Dialect(d).Table(deal.Table).As("report_fv_deals")
		buyers := sql.Dialect(d).Select(dl.C(deal.FieldCustomerID)).From(dl).
			Where(sql.And(sql.GTE(dl.C(deal.FieldReservedAt), sp.Period.Start), sql.LT(dl.C(deal.FieldReservedAt), sp.Period.End)))
		if !sp.Scope.All {
			buyers.Where(sql.In(dl.C(deal.FieldProjectID), anys(sp.Scope.Projects)...))
		}
		v := sql.Dialect(d).Table(visit.Table).As("report_fv_visits")
		first := sql.Dialect(d).Select(v.C(visit.FieldCustomerID)).
			AppendSelectExprAs(sql.Raw("MIN("+v.C(visit.FieldOccurredAt)+")"), "at").From(v).
			Where(sql.And(sql.EQ(v.C(visit.FieldKind), visit.KindFIRST_VISIT), sql.In(v.C(visit.FieldCustomerID), buyers))).
			GroupBy(v.C(visit.FieldCustomerID)).As("report_first_visit")
		s.LeftJoin(first).On(s.C(deal.FieldCustomerID), first.C(visit.FieldCustomerID))
		return DaysBetween(d, s.C(deal.FieldReservedAt), first.C("at"))
	}
	toContract := func(s *sql.Selector) string {
		return DaysBetween(s.Dialect(), s.C(deal.FieldContractedAt), s.C(deal.FieldReservedAt))
	}
	medians := []struct {
		run   func(order func(*sql.Selector), v *[]Median) error
		order func(total bool) func(*sql.Selector)
		set   func(*FunnelFigures, *float64)
	}{
		{func(o func(*sql.Selector), v *[]Median) error {
			return client.Visit.Query().Where(visit.KindEQ(visit.KindFIRST_VISIT)).Order(o).Select(visit.FieldID).Scan(ctx, v)
		}, func(total bool) func(*sql.Selector) { return sp.medians(visitEvents, leadToVisit, total) },
			func(f *FunnelFigures, m *float64) { f.MedianDaysLeadToFirstVisit = m }},
		{func(o func(*sql.Selector), v *[]Median) error {
			return client.Deal.Query().Order(o).Select(deal.FieldID).Scan(ctx, v)
		}, func(total bool) func(*sql.Selector) {
			return sp.medians(dealEvents(deal.FieldReservedAt), firstVisit, total, sp.reservation)
		}, func(f *FunnelFigures, m *float64) { f.MedianDaysVisitToReservation = m }},
		{func(o func(*sql.Selector), v *[]Median) error {
			return client.Deal.Query().Order(o).Select(deal.FieldID).Scan(ctx, v)
		}, func(total bool) func(*sql.Selector) {
			return sp.medians(dealEvents(deal.FieldContractedAt), toContract, total)
		}, func(f *FunnelFigures, m *float64) { f.MedianDaysReservationToContract = m }},
	}
	for _, m := range medians {
		var rows []Median
		if err := m.run(m.order(true), &rows); err != nil {
			return nil, err
		}
		for _, r := range rows {
			m.set(total, days(r.M))
		}
		if sp.GroupBy == nil {
			continue
		}
		rows = nil
		if err := m.run(m.order(false), &rows); err != nil {
			return nil, err
		}
		for _, r := range rows {
			m.set(fig(r.G), days(r.M))
		}
	}

	total.rates()
	f.Total = total
	seen := map[string]bool{}
	for k := range byGroup {
		seen[k] = true
	}
	groups, err := sp.Groups(ctx, client, seen)
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		figures := byGroup[g.Key]
		if figures == nil {
			figures = &FunnelFigures{}
		}
		figures.rates()
		f.Groups = append(f.Groups, &FunnelGroup{Group: &g, Figures: figures})
	}
	return f, nil
}

// rates fills each step's conversion from the counts.
func (f *FunnelFigures) rates() {
	f.FirstVisitRate = Rate(f.FirstVisits, f.Leads)
	f.RevisitRate = Rate(f.Revisits, f.FirstVisits)
	f.HoldRate = Rate(f.Holds, f.FirstVisits)
	f.ReservationRate = Rate(f.Reservations, f.Holds)
	f.ContractRate = Rate(f.Contracts, f.Reservations)
	f.CancellationRate = Rate(f.Cancellations, f.Reservations)
}

// Rate is n over of, nil when of is 0.
func Rate(n, of int) *float64 {
	if of == 0 {
		return nil
	}
	r := float64(n) / float64(of)
	return &r
}

// days rounds a median of days to the hour's precision (1/24 day would
// show as 0.041666…): two decimals.
func days(m sql.NullFloat64) *float64 {
	if !m.Valid {
		return nil
	}
	d := float64(int64(m.Float64*100+0.5)) / 100
	if m.Float64 < 0 {
		d = -float64(int64(-m.Float64*100+0.5)) / 100
	}
	return &d
}
