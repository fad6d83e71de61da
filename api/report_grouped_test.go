package api_test

import (
	"testing"

	"estatecrm/api/apitest"
	"estatecrm/auth"
	"estatecrm/ent/customer"
)

// The groupings of channelMix, agentBoard and customerValue (issue 13: every
// dashboard groupable by project, agent, channel, week or month), against
// hand counts of reportWorld. The weeks of 10-30..11-08 are those of Monday
// 10-26 (10-30..11-01, across the month's end: c1 and c2 registered, both
// first visits) and of Monday 11-02 (11-02..11-08: the rest of the story).

type mixGroup struct {
	Group    struct{ Key, Label string }
	Channels []mixRow
	Total    mixRow
}

func TestChannelMixGrouped(t *testing.T) {
	w := newReportWorld(t)
	ok := func(r *apitest.Response) { t.Helper(); r.Decode(t, &struct{}{}) }
	// ONLINE_AD: ¥3,000 over 10-17..11-15, 30 days: ¥100 a day.
	ok(w.setSpend(t, w.MP, w.P.ID, "ONLINE_AD", "2026-10-17", "2026-11-15", "3000"))
	// WALK_IN: ¥900 over November, ¥30 a day.
	ok(w.setSpend(t, w.MP, w.P.ID, "WALK_IN", "2026-11-01", "2026-11-30", "900"))
	ok(w.setSpend(t, w.MQ, w.Q.ID, "REFERRAL", "2026-11-01", "2026-11-30", "700"))

	q := `query($from: String!, $to: String!, $g: ReportGroupBy) { channelMix(period: {from: $from, to: $to}, groupBy: $g) {
		total { channel customers contracts contractValue conversion spend costPerContract }
		groups { group { key label }
			channels { channel customers contracts contractValue conversion spend costPerContract }
			total { channel customers contracts contractValue conversion spend costPerContract } } } }`
	mix := func(v *auth.Viewer, from, to string, g any) (mixRow, []mixGroup) {
		t.Helper()
		var out struct {
			ChannelMix struct {
				Total  mixRow
				Groups []mixGroup
			}
		}
		w.env.As(t, v).Query(t, q, map[string]any{"from": from, "to": to, "g": g}).Decode(t, &out)
		return out.ChannelMix.Total, out.ChannelMix.Groups
	}
	channel := func(g mixGroup, ch string) mixRow {
		t.Helper()
		if len(g.Channels) != 8 {
			t.Fatalf("group %+v: every channel has a row: %+v", g.Group, g.Channels)
		}
		for _, r := range g.Channels {
			if *r.Channel == ch {
				return r
			}
		}
		return mixRow{}
	}

	if _, groups := mix(w.MP, "2026-11-01", "2026-11-30", nil); len(groups) != 0 {
		t.Errorf("no groupBy, no groups: %+v", groups)
	}

	// By week across the month's end: the spend prorated to each week.
	total, weeks := mix(w.MP, "2026-10-30", "2026-11-08", "WEEK")
	sameFigures(t, "weeks' total", total, mixRow{Customers: 2, Contracts: 1, ContractValue: "3010001.00",
		Conversion: f(0.5), Spend: s("1240.00"), CostPerContract: s("1240.00")}) // ONLINE_AD 10 days, WALK_IN 8
	if len(weeks) != 2 || weeks[0].Group.Key != "2026-10-26" || weeks[0].Group.Label != "2026-10-30..2026-11-01" ||
		weeks[1].Group.Key != "2026-11-02" || weeks[1].Group.Label != "2026-11-02..2026-11-08" {
		t.Fatalf("weeks: %+v", weeks)
	}
	// Week of 10-26: c1 walked in (10-30), c2 from the ad (11-01); ad spend
	// 3 days, walk-in 1 day (11-01).
	sameFigures(t, "week 10-26 WALK_IN", channel(weeks[0], "WALK_IN"), mixRow{Channel: s("WALK_IN"), Customers: 1,
		ContractValue: "0.00", Conversion: f(0), Spend: s("30.00")})
	sameFigures(t, "week 10-26 ONLINE_AD", channel(weeks[0], "ONLINE_AD"), mixRow{Channel: s("ONLINE_AD"), Customers: 1,
		ContractValue: "0.00", Conversion: f(0), Spend: s("300.00")})
	sameFigures(t, "week 10-26 total", weeks[0].Total, mixRow{Customers: 2, ContractValue: "0.00", Conversion: f(0), Spend: s("330.00")})
	// Week of 11-02: d1 signed (c1 walked in); 7 days of each spend.
	sameFigures(t, "week 11-02 WALK_IN", channel(weeks[1], "WALK_IN"), mixRow{Channel: s("WALK_IN"), Contracts: 1,
		ContractValue: "3010001.00", Spend: s("210.00"), CostPerContract: s("210.00")})
	sameFigures(t, "week 11-02 ONLINE_AD", channel(weeks[1], "ONLINE_AD"), mixRow{Channel: s("ONLINE_AD"),
		ContractValue: "0.00", Spend: s("700.00")})
	sameFigures(t, "week 11-02 total", weeks[1].Total, mixRow{Contracts: 1, ContractValue: "3010001.00",
		Spend: s("910.00"), CostPerContract: s("910.00")})

	// By project, the admin: each project's own spend.
	_, projects := mix(apitest.Admin, "2026-11-01", "2026-11-30", "PROJECT")
	if len(projects) != 2 || projects[0].Group.Label != "P" || projects[1].Group.Label != "Q" {
		t.Fatalf("projects: %+v", projects)
	}
	sameFigures(t, "P", projects[0].Total, mixRow{Customers: 1, Contracts: 1, ContractValue: "3010001.00",
		Conversion: f(1), Spend: s("2400.00"), CostPerContract: s("2400.00")})
	sameFigures(t, "Q REFERRAL", channel(projects[1], "REFERRAL"), mixRow{Channel: s("REFERRAL"), Customers: 1,
		ContractValue: "0.00", Conversion: f(0), Spend: s("700.00")})

	// By agent: c2 is A2's, d1 A1's; a spend has no agent.
	_, agents := mix(w.MP, "2026-11-01", "2026-11-30", "AGENT")
	if len(agents) != 2 || agents[0].Group.Label != "A1" || agents[1].Group.Label != "A2" {
		t.Fatalf("agents: %+v", agents)
	}
	sameFigures(t, "A1", agents[0].Total, mixRow{Contracts: 1, ContractValue: "3010001.00"})
	sameFigures(t, "A2 ONLINE_AD", channel(agents[1], "ONLINE_AD"), mixRow{Channel: s("ONLINE_AD"), Customers: 1, ContractValue: "0.00", Conversion: f(0)})

	// A customer of the public pool (no owner) is in the group of key "".
	w.env.Client.Customer.UpdateOneID(w.c2).ClearOwnerID().ExecX(apitest.System())
	_, agents = mix(w.MP, "2026-11-01", "2026-11-30", "AGENT")
	if len(agents) != 2 || agents[0].Group.Key != "" || agents[0].Total.Customers != 1 || agents[1].Group.Label != "A1" {
		t.Errorf("agents with c2 in the pool: %+v", agents)
	}

	// By channel: each channel's group, its own row.
	_, chans := mix(w.MP, "2026-11-01", "2026-11-30", "CHANNEL")
	if len(chans) != 2 || chans[0].Group.Key != "ONLINE_AD" || chans[1].Group.Key != "WALK_IN" {
		t.Fatalf("channels: %+v", chans)
	}
	sameFigures(t, "WALK_IN group", chans[1].Total, mixRow{Contracts: 1, ContractValue: "3010001.00", Spend: s("900.00"), CostPerContract: s("900.00")})
	if r := channel(chans[1], "ONLINE_AD"); r.Customers != 0 || r.Spend != nil {
		t.Errorf("WALK_IN group's ONLINE_AD row: %+v", r)
	}
}

type groupedAgentRow struct {
	Agent                             struct{ Key, Label string }
	Group                             *struct{ Key, Label string }
	CustomersOwned, Visits            int
	FollowUpsOnTime, FollowUpsOverdue int
	Reservations, Contracts           int
	ContractValue                     string
	Conversion                        *float64
	PoolClaims, PoolLosses            *int
}

func TestAgentBoardGrouped(t *testing.T) {
	w := newReportWorld(t)
	q := `query($from: String!, $to: String!, $g: ReportGroupBy) { agentBoard(period: {from: $from, to: $to}, groupBy: $g) { agents {
		agent { key label } group { key label } customersOwned visits followUpsOnTime followUpsOverdue reservations contracts contractValue
		conversion poolClaims poolLosses } } }`
	board := func(v *auth.Viewer, from, to string, g any) []groupedAgentRow {
		t.Helper()
		var out struct {
			AgentBoard struct{ Agents []groupedAgentRow }
		}
		w.env.As(t, v).Query(t, q, map[string]any{"from": from, "to": to, "g": g}).Decode(t, &out)
		return out.AgentBoard.Agents
	}
	grp := func(k, l string) *struct{ Key, Label string } { return &struct{ Key, Label string }{k, l} }
	agent := func(name string) struct{ Key, Label string } {
		return struct{ Key, Label string }{string(w.users[name].ID), name}
	}

	// AGENT is no split.
	if rows := board(w.MP, "2026-11-01", "2026-11-30", "AGENT"); len(rows) != 2 || rows[0].Group != nil {
		t.Errorf("by AGENT: %+v", rows)
	}

	// By week across the month's end: a row per agent and week.
	weeks := board(w.MP, "2026-10-30", "2026-11-08", "WEEK")
	w1, w2 := grp("2026-10-26", "2026-10-30..2026-11-01"), grp("2026-11-02", "2026-11-02..2026-11-08")
	sameFigures(t, "by week", weeks, []groupedAgentRow{
		// A1: first visit of c1 10-31 23:59; then the revisit 11-02 that did
		// the follow-up due 11-02 12:00, d1 reserved and signed, c4 claimed.
		{Agent: agent("A1"), Group: w1, CustomersOwned: 2, Visits: 1, ContractValue: "0.00", Conversion: f(0), PoolClaims: n(0), PoolLosses: n(0)},
		{Agent: agent("A1"), Group: w2, CustomersOwned: 2, Visits: 1, FollowUpsOnTime: 1, Reservations: 1, Contracts: 1,
			ContractValue: "3010001.00", PoolClaims: n(1), PoolLosses: n(0)},
		// A2: c2's first visit 11-01 00:01; its follow-up due 11-02 09:00
		// never done, d2 reserved 11-03, c4 lost 11-06.
		{Agent: agent("A2"), Group: w1, CustomersOwned: 1, Visits: 1, ContractValue: "0.00", Conversion: f(0), PoolClaims: n(0), PoolLosses: n(0)},
		{Agent: agent("A2"), Group: w2, CustomersOwned: 1, FollowUpsOverdue: 1, Reservations: 1,
			ContractValue: "0.00", PoolClaims: n(0), PoolLosses: n(1)},
	})

	// By the customer's channel, November: c1 walked in, c2 came from the ad,
	// c4 (claimed by A1 from A2) from an event.
	chans := board(w.MP, "2026-11-01", "2026-11-30", "CHANNEL")
	sameFigures(t, "by channel", chans, []groupedAgentRow{
		{Agent: agent("A1"), Group: grp("EVENT", "EVENT"), CustomersOwned: 1, ContractValue: "0.00", PoolClaims: n(1), PoolLosses: n(0)},
		{Agent: agent("A1"), Group: grp("WALK_IN", "WALK_IN"), CustomersOwned: 1, Visits: 1, FollowUpsOnTime: 1, Reservations: 1,
			Contracts: 1, ContractValue: "3010001.00", PoolClaims: n(0), PoolLosses: n(0)},
		{Agent: agent("A2"), Group: grp("EVENT", "EVENT"), ContractValue: "0.00", PoolClaims: n(0), PoolLosses: n(1)},
		{Agent: agent("A2"), Group: grp("ONLINE_AD", "ONLINE_AD"), CustomersOwned: 1, Visits: 1, FollowUpsOverdue: 1, Reservations: 1,
			ContractValue: "0.00", Conversion: f(0), PoolClaims: n(0), PoolLosses: n(0)},
	})

	// By project, the admin: B1 in Q; an agent sees its own rows only.
	projects := board(apitest.Admin, "2026-11-01", "2026-11-30", "PROJECT")
	if len(projects) != 3 || projects[2].Agent.Label != "B1" || projects[2].Group == nil || projects[2].Group.Label != "Q" ||
		projects[2].Visits != 1 || projects[2].CustomersOwned != 1 || projects[0].Group.Label != "P" {
		t.Errorf("by project: %+v", projects)
	}
	own := board(w.A2, "2026-10-30", "2026-11-08", "WEEK")
	if len(own) != 2 || own[0].Agent.Label != "A2" || own[1].Agent.Label != "A2" || own[1].Reservations != 1 || own[1].PoolLosses != nil {
		t.Errorf("A2's own weeks: %+v", own)
	}
}

func TestCustomerValueGrouped(t *testing.T) {
	w := newReportWorld(t)
	// c1 graded A (grading is not through this API's dashboards).
	w.env.Client.Customer.UpdateOneID(w.c1).SetGrade(customer.GradeA).ExecX(apitest.System())
	q := `query($from: String!, $to: String!, $g: ReportGroupBy) { customerValue(period: {from: $from, to: $to}, groupBy: $g) {
		grades { grade count } gradeGroups { group { key label } grades { grade count } } } }`
	type gradeCount struct {
		Grade string
		Count int
	}
	type gradeGroup struct {
		Group  struct{ Key, Label string }
		Grades []gradeCount
	}
	value := func(v *auth.Viewer, from, to string, g any) []gradeGroup {
		t.Helper()
		var out struct {
			CustomerValue struct{ GradeGroups []gradeGroup }
		}
		w.env.As(t, v).Query(t, q, map[string]any{"from": from, "to": to, "g": g}).Decode(t, &out)
		return out.CustomerValue.GradeGroups
	}
	grades := func(a, b, c, d int) []gradeCount {
		return []gradeCount{{"A", a}, {"B", b}, {"C", c}, {"D", d}}
	}
	if g := value(w.MP, "2026-11-01", "2026-11-30", nil); len(g) != 0 {
		t.Errorf("no groupBy: %+v", g)
	}
	// By owning agent: A1 owns c1 (A) and c4 (C), A2 c2 (C).
	sameFigures(t, "by agent", value(w.MP, "2026-11-01", "2026-11-30", "AGENT"), []gradeGroup{
		{struct{ Key, Label string }{string(w.users["A1"].ID), "A1"}, grades(1, 0, 1, 0)},
		{struct{ Key, Label string }{string(w.users["A2"].ID), "A2"}, grades(0, 0, 1, 0)},
	})
	// By week across the month's end: c1 (10-30) and c2 (11-01) registered
	// in the first; none of P's in the second (c4 was in September).
	sameFigures(t, "by week", value(w.MP, "2026-10-30", "2026-11-08", "WEEK"), []gradeGroup{
		{struct{ Key, Label string }{"2026-10-26", "2026-10-30..2026-11-01"}, grades(1, 0, 1, 0)},
		{struct{ Key, Label string }{"2026-11-02", "2026-11-02..2026-11-08"}, grades(0, 0, 0, 0)},
	})
	// By month, the admin: c1 in October; c2 and Q's c3 in November.
	sameFigures(t, "by month", value(apitest.Admin, "2026-10-01", "2026-11-30", "MONTH"), []gradeGroup{
		{struct{ Key, Label string }{"2026-10-01", "2026-10-01..2026-10-31"}, grades(1, 0, 0, 0)},
		{struct{ Key, Label string }{"2026-11-01", "2026-11-01..2026-11-30"}, grades(0, 0, 2, 0)},
	})
	// By project, Q's manager: Q alone.
	if g := value(w.MQ, "2026-11-01", "2026-11-30", "PROJECT"); len(g) != 1 || g[0].Group.Label != "Q" || g[0].Grades[2].Count != 1 {
		t.Errorf("MQ by project: %+v", g)
	}
	// By channel: c1 WALK_IN (A), c2 ONLINE_AD, c4 EVENT.
	sameFigures(t, "by channel", value(w.MP, "2026-11-01", "2026-11-30", "CHANNEL"), []gradeGroup{
		{struct{ Key, Label string }{"EVENT", "EVENT"}, grades(0, 0, 1, 0)},
		{struct{ Key, Label string }{"ONLINE_AD", "ONLINE_AD"}, grades(0, 0, 1, 0)},
		{struct{ Key, Label string }{"WALK_IN", "WALK_IN"}, grades(1, 0, 0, 0)},
	})
}
