package report

import (
	"context"
	"slices"
	"strings"
	"time"

	"entgo.io/ent/dialect/sql"

	"estatecrm/ent"
	"estatecrm/ent/attributionevent"
	"estatecrm/ent/customer"
	"estatecrm/ent/deal"
	"estatecrm/ent/project"
	"estatecrm/ent/user"
	"estatecrm/ent/visit"
	"estatecrm/money"
)

// AgentBoard is the per-agent board of a period (GraphQL AgentBoard).
type AgentBoard struct {
	From, To string
	Agents   []*AgentRow
}

// AgentRow is one agent's figures.
type AgentRow struct {
	Agent                             *Group
	CustomersOwned, Visits            int
	FollowUpsOnTime, FollowUpsOverdue int
	Reservations, Contracts           int
	ContractValue                     money.Fen
	Conversion                        *float64
	PoolClaims, PoolLosses            *int
	firstVisits                       int
}

// Follow-ups: a visit's next follow-up is due at its next_follow_up_at.
var followUpEvents = Events{Time: visit.FieldNextFollowUpAt, Project: visit.FieldProjectID, Agent: visit.FieldAgentID, Customer: visit.FieldCustomerID}

// followedUp keeps the visits whose follow-up was done by its time: a later
// contact of the same customer (by anyone) no later than next_follow_up_at.
func followedUp(done bool) func(*sql.Selector) {
	return func(s *sql.Selector) {
		w := sql.Table(visit.Table).As("report_next")
		later := sql.SelectExpr(sql.Raw("1")).From(w).Where(sql.And(
			sql.ColumnsEQ(w.C(visit.FieldCustomerID), s.C(visit.FieldCustomerID)),
			sql.ColumnsGT(w.C(visit.FieldOccurredAt), s.C(visit.FieldOccurredAt)),
			sql.ColumnsLTE(w.C(visit.FieldOccurredAt), s.C(visit.FieldNextFollowUpAt))))
		if done {
			s.Where(sql.Exists(later))
		} else {
			s.Where(sql.NotExists(later))
		}
	}
}

// AgentBoardOf computes the board of sp by agent: one statement per figure,
// grouped by agent in SQL. An agent's scope (Scope.Agent) limits every
// figure to its own rows; the pool figures come from the attribution
// history, which only managers and admins read.
func AgentBoardOf(ctx context.Context, client *ent.Client, sp *Spec, now time.Time) (*AgentBoard, error) {
	ag := sp.Grouped(ByAgent)
	rows := map[string]*AgentRow{}
	row := func(g string) *AgentRow {
		if rows[g] == nil {
			rows[g] = &AgentRow{}
		}
		return rows[g]
	}
	type figure struct {
		run func(v *[]Count) error
		set func(r *AgentRow, c Count)
	}
	attributionEvents := func(agent string) Events {
		return Events{Time: attributionevent.FieldAt, Project: attributionevent.FieldProjectID, Agent: agent, Customer: attributionevent.FieldCustomerID}
	}
	figures := []figure{
		{func(v *[]Count) error {
			return client.Customer.Query().Where(customer.OwnerIDNotNil()).Order(ag.CountingNow(customerEvents)).Select(customer.FieldID).Scan(ctx, v)
		}, func(r *AgentRow, c Count) { r.CustomersOwned = int(c.N) }},
		{func(v *[]Count) error {
			return client.Visit.Query().Order(ag.Counting(visitEvents)).Select(visit.FieldID).Scan(ctx, v)
		}, func(r *AgentRow, c Count) { r.Visits = int(c.N) }},
		{func(v *[]Count) error {
			return client.Visit.Query().Where(visit.KindEQ(visit.KindFIRST_VISIT)).Order(ag.Counting(visitEvents)).Select(visit.FieldID).Scan(ctx, v)
		}, func(r *AgentRow, c Count) { r.firstVisits = int(c.N) }},
		{func(v *[]Count) error {
			return client.Visit.Query().Order(ag.Counting(followUpEvents, followedUp(true))).Select(visit.FieldID).Scan(ctx, v)
		}, func(r *AgentRow, c Count) { r.FollowUpsOnTime = int(c.N) }},
		{func(v *[]Count) error {
			return client.Visit.Query().Where(visit.NextFollowUpAtLT(now.UTC())).
				Order(ag.Counting(followUpEvents, followedUp(false))).Select(visit.FieldID).Scan(ctx, v)
		}, func(r *AgentRow, c Count) { r.FollowUpsOverdue = int(c.N) }},
		{func(v *[]Count) error {
			return client.Deal.Query().Order(ag.Counting(dealEvents(deal.FieldReservedAt), reservation)).Select(deal.FieldID).Scan(ctx, v)
		}, func(r *AgentRow, c Count) { r.Reservations = int(c.N) }},
		{func(v *[]Count) error {
			return client.Deal.Query().Order(ag.Summing(dealEvents(deal.FieldContractedAt), deal.FieldPrice)).Select(deal.FieldID).Scan(ctx, v)
		}, func(r *AgentRow, c Count) { r.Contracts, r.ContractValue = int(c.N), money.Fen(c.S) }},
	}
	pool := sp.Scope.Agent == "" // an agent does not read the attribution history
	if pool {
		claimed := func(s *sql.Selector) {
			s.Where(sql.EQ(s.C(attributionevent.FieldKind), attributionevent.KindCLAIMED))
		}
		figures = append(figures,
			figure{func(v *[]Count) error {
				return client.AttributionEvent.Query().Order(ag.Counting(attributionEvents(attributionevent.FieldToID), claimed)).
					Select(attributionevent.FieldID).Scan(ctx, v)
			}, func(r *AgentRow, c Count) { n := int(c.N); r.PoolClaims = &n }},
			figure{func(v *[]Count) error {
				return client.AttributionEvent.Query().Where(attributionevent.FromIDNotNil()).
					Order(ag.Counting(attributionEvents(attributionevent.FieldFromID), claimed)).
					Select(attributionevent.FieldID).Scan(ctx, v)
			}, func(r *AgentRow, c Count) { n := int(c.N); r.PoolLosses = &n }},
		)
	}
	for _, f := range figures {
		var counts []Count
		if err := f.run(&counts); err != nil {
			return nil, err
		}
		for _, c := range counts {
			if c.G != "" {
				f.set(row(c.G), c)
			}
		}
	}
	// Every agent of the scope has a row, with figures or not.
	agents := client.User.Query().Where(user.RoleEQ(user.RoleAGENT))
	switch {
	case sp.Scope.Agent != "":
		agents.Where(user.ID(sp.Scope.Agent))
	case !sp.Scope.All:
		agents.Where(user.HasProjectsWith(project.IDIn(sp.Scope.Projects...)))
	}
	ids, err := agents.IDs(ctx)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		row(string(id))
	}
	if sp.Scope.Agent != "" { // only its own row, whatever else was seen
		for k := range rows {
			if k != string(sp.Scope.Agent) {
				delete(rows, k)
			}
		}
	}
	keys := make([]string, 0, len(rows))
	for k := range rows {
		keys = append(keys, k)
	}
	labels, err := ag.labels(ctx, client, keys)
	if err != nil {
		return nil, err
	}
	board := &AgentBoard{From: sp.Period.From, To: sp.Period.To}
	for _, k := range keys {
		r := rows[k]
		r.Agent = &Group{Key: k, Label: labels[k]}
		r.Conversion = Rate(r.Contracts, r.firstVisits)
		if pool {
			zero := 0
			if r.PoolClaims == nil {
				r.PoolClaims = &zero
			}
			if r.PoolLosses == nil {
				r.PoolLosses = &zero
			}
		}
		board.Agents = append(board.Agents, r)
	}
	slices.SortFunc(board.Agents, func(a, b *AgentRow) int {
		if c := strings.Compare(a.Agent.Label, b.Agent.Label); c != 0 {
			return c
		}
		return strings.Compare(a.Agent.Key, b.Agent.Key)
	})
	return board, nil
}
