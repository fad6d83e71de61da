package report

import (
	"context"
	"slices"
	"strconv"
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
	Group                             *Group // of sp's grouping, if any but AGENT
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
	byAgent := ByAgent
	ag := sp.Nested(&byAgent, sp.GroupBy)
	type rowKey struct{ agent, group string }
	rows := map[rowKey]*AgentRow{}
	row := func(g, h string) *AgentRow {
		k := rowKey{g, ag.KeyOfWithin(h)}
		if ag.Within == nil {
			k.group = ""
		}
		if rows[k] == nil {
			rows[k] = &AgentRow{}
		}
		return rows[k]
	}
	// Customers owned are of now, not of a time: by week or month, each
	// bucket's row shows the agent's now.
	owned := ag
	timed := ag.Within != nil && (*ag.Within == ByWeek || *ag.Within == ByMonth)
	if timed {
		owned = sp.Grouped(ByAgent)
	}
	ownedNow := map[string]int{}
	type figure struct {
		run func(v *[]Count) error
		set func(r *AgentRow, c Count)
	}
	attributionEvents := func(agent string) Events {
		return Events{Time: attributionevent.FieldAt, Project: attributionevent.FieldProjectID, Agent: agent, Customer: attributionevent.FieldCustomerID}
	}
	figures := []figure{
		{func(v *[]Count) error {
			return client.Customer.Query().Where(customer.OwnerIDNotNil()).Order(owned.CountingNow(customerEvents)).Select(customer.FieldID).Scan(ctx, v)
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
			return client.Deal.Query().Order(ag.Counting(dealEvents(deal.FieldReservedAt), ag.reservation)).Select(deal.FieldID).Scan(ctx, v)
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
	for i, f := range figures {
		var counts []Count
		if err := f.run(&counts); err != nil {
			return nil, err
		}
		for _, c := range counts {
			if c.G == "" {
				continue
			}
			if i == 0 && timed {
				ownedNow[c.G] = int(c.N)
				continue
			}
			f.set(row(c.G, c.H), c)
		}
	}
	// Every agent of the scope has a row, with figures or not (by week or
	// month: a row each bucket).
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
	seenAgents := map[string]bool{}
	for k := range rows {
		seenAgents[k.agent] = true
	}
	for _, id := range ids {
		seenAgents[string(id)] = true
	}
	for a := range seenAgents {
		switch {
		case timed:
			for i := range ag.withinBuckets {
				row(a, strconv.Itoa(i))
			}
		case ag.Within == nil:
			row(a, "")
		default: // PROJECT, CHANNEL: the groups it has figures in, or one row without a group
			has := false
			for k := range rows {
				has = has || k.agent == a
			}
			if !has {
				rows[rowKey{a, ""}] = &AgentRow{}
			}
		}
	}
	if sp.Scope.Agent != "" { // only its own rows, whatever else was seen
		for k := range rows {
			if k.agent != string(sp.Scope.Agent) {
				delete(rows, k)
			}
		}
	}
	keys := make([]string, 0, len(rows))
	withins := map[string]bool{}
	for k := range rows {
		if !slices.Contains(keys, k.agent) {
			keys = append(keys, k.agent)
		}
		if k.group != "" {
			withins[k.group] = true
		}
	}
	groups, err := ag.WithinGroups(ctx, client, withins)
	if err != nil {
		return nil, err
	}
	order := map[string]int{}
	byKey := map[string]*Group{}
	for i, g := range groups {
		order[g.Key], byKey[g.Key] = i, &g
	}
	labels, err := ag.labels(ctx, client, keys)
	if err != nil {
		return nil, err
	}
	board := &AgentBoard{From: sp.Period.From, To: sp.Period.To}
	for k, r := range rows {
		r.Agent = &Group{Key: k.agent, Label: labels[k.agent]}
		if k.group != "" {
			r.Group = byKey[k.group]
		}
		if timed {
			r.CustomersOwned = ownedNow[k.agent]
		}
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
		if c := strings.Compare(a.Agent.Key, b.Agent.Key); c != 0 {
			return c
		}
		switch {
		case a.Group == nil || b.Group == nil:
			return 0
		}
		return order[a.Group.Key] - order[b.Group.Key]
	})
	return board, nil
}
