package api_test

import (
	"testing"

	"estatecrm/api/apitest"
	"estatecrm/auth"
)

const setSpendMutation = `mutation($p: ID!, $ch: CustomerSource!, $from: String!, $to: String!, $amount: Money!) {
  setChannelSpend(input: {projectId: $p, channel: $ch, from: $from, to: $to, amount: $amount}) {
    channelSpend { id projectId channel from to amount } } }`

func (w *reportWorld) setSpend(t *testing.T, v *auth.Viewer, p any, ch, from, to, amount string) *apitest.Response {
	t.Helper()
	return w.env.As(t, v).Query(t, setSpendMutation, map[string]any{"p": p, "ch": ch, "from": from, "to": to, "amount": amount})
}

type mixRow struct {
	Channel                *string
	Customers, Contracts   int
	ContractValue          string
	Conversion             *float64
	Spend, CostPerContract *string
}

func s(x string) *string { return &x }

func TestChannelMix(t *testing.T) {
	w := newReportWorld(t)
	ok := func(r *apitest.Response) { t.Helper(); r.Decode(t, &struct{}{}) }
	// ONLINE_AD: ¥3,000 over 10-17..11-15 (30 days), 15 of them in November: ¥1,500.
	ok(w.setSpend(t, w.MP, w.P.ID, "ONLINE_AD", "2026-10-17", "2026-11-15", "3000"))
	// WALK_IN: November whole, entered twice: the second replaces the first.
	ok(w.setSpend(t, w.MP, w.P.ID, "WALK_IN", "2026-11-01", "2026-11-30", "1200"))
	ok(w.setSpend(t, nil2admin(w), w.P.ID, "WALK_IN", "2026-11-01", "2026-11-30", "900"))
	// December's and Q's spend are not P's November.
	ok(w.setSpend(t, w.MP, w.P.ID, "EVENT", "2026-12-01", "2026-12-31", "5000"))
	ok(w.setSpend(t, w.MQ, w.Q.ID, "REFERRAL", "2026-11-01", "2026-11-30", "700"))

	// Refused, changing nothing: another project's manager (P is not theirs to
	// see), an agent, bad days and amounts.
	for _, c := range []struct {
		v           *auth.Viewer
		p           any
		from, to    string
		amount      string
		code, field string
	}{
		{w.MQ, w.P.ID, "2026-11-01", "2026-11-30", "1", "NOT_FOUND", "input.projectId"},
		{w.A1, w.P.ID, "2026-11-01", "2026-11-30", "1", "FORBIDDEN", ""},
		{w.MP, w.P.ID, "2026-11-30", "2026-11-01", "1", "BAD_USER_INPUT", "input.to"},
		{w.MP, w.P.ID, "2026-11-31", "2026-12-01", "1", "BAD_USER_INPUT", "input.from"},
		{w.MP, w.P.ID, "2026-11-01", "2026-11-30", "-5", "BAD_USER_INPUT", "input.amount"},
	} {
		e := w.setSpend(t, c.v, c.p, "HOTLINE", c.from, c.to, c.amount).OnlyError(t)
		if e.Code() != c.code || (c.field != "" && e.Field() != c.field) {
			t.Errorf("setChannelSpend %+v: %+v", c, e)
		}
	}

	var list struct {
		ChannelSpends []struct{ Channel, From, To, Amount string }
	}
	w.env.As(t, w.MP).Query(t, `{ channelSpends(period: {from: "2026-11-01", to: "2026-11-30"}) { channel from to amount } }`, nil).Decode(t, &list)
	if got := list.ChannelSpends; len(got) != 2 || got[0].Channel != "ONLINE_AD" || got[0].Amount != "3000.00" ||
		got[1].Channel != "WALK_IN" || got[1].Amount != "900.00" || got[1].From != "2026-11-01" || got[1].To != "2026-11-30" {
		t.Errorf("P's spend overlapping November: %+v", got)
	}
	if e := w.env.As(t, w.A1).Query(t, `{ channelSpends { channel } }`, nil).OnlyError(t); e.Code() != "FORBIDDEN" {
		t.Errorf("an agent listing spend: %+v", e)
	}

	var mix struct {
		ChannelMix struct {
			Channels []mixRow
			Total    mixRow
		}
	}
	q := `query($p: ID) { channelMix(period: {from: "2026-11-01", to: "2026-11-30"}, projectId: $p) {
		channels { channel customers contracts contractValue conversion spend costPerContract }
		total { channel customers contracts contractValue conversion spend costPerContract } } }`
	w.env.As(t, w.MP).Query(t, q, nil).Decode(t, &mix)
	rows := map[string]mixRow{}
	for _, r := range mix.ChannelMix.Channels {
		rows[*r.Channel] = r
	}
	if len(mix.ChannelMix.Channels) != 8 {
		t.Fatalf("every channel has a row: %+v", mix.ChannelMix.Channels)
	}
	// d1 (c1 walked in) was signed in November; c2 (online ad) registered in it.
	sameFigures(t, "WALK_IN", rows["WALK_IN"], mixRow{Channel: s("WALK_IN"), Contracts: 1, ContractValue: "3010001.00",
		Spend: s("900.00"), CostPerContract: s("900.00")})
	sameFigures(t, "ONLINE_AD", rows["ONLINE_AD"], mixRow{Channel: s("ONLINE_AD"), Customers: 1, ContractValue: "0.00",
		Conversion: f(0), Spend: s("1500.00")})
	sameFigures(t, "EVENT", rows["EVENT"], mixRow{Channel: s("EVENT"), ContractValue: "0.00"})
	sameFigures(t, "total", mix.ChannelMix.Total, mixRow{Customers: 1, Contracts: 1, ContractValue: "3010001.00",
		Conversion: f(1), Spend: s("2400.00"), CostPerContract: s("2400.00")})

	// The admin: Q's referral spend and c3 too.
	w.env.As(t, apitest.Admin).Query(t, q, nil).Decode(t, &mix)
	if tot := mix.ChannelMix.Total; tot.Customers != 2 || *tot.Spend != "3100.00" {
		t.Errorf("admin total: %+v", tot)
	}
	// Q's manager: nothing of P.
	w.env.As(t, w.MQ).Query(t, q, nil).Decode(t, &mix)
	if tot := mix.ChannelMix.Total; tot.Customers != 1 || tot.Contracts != 0 || *tot.Spend != "700.00" {
		t.Errorf("MQ total: %+v", tot)
	}
	if e := w.env.As(t, w.MQ).Query(t, q, map[string]any{"p": w.P.ID}).OnlyError(t); e.Code() != "NOT_FOUND" {
		t.Errorf("MQ naming P: %+v", e)
	}
	if e := w.env.As(t, w.A1).Query(t, q, nil).OnlyError(t); e.Code() != "FORBIDDEN" {
		t.Errorf("agent: %+v", e)
	}
}

// nil2admin is the admin's viewer (env's own).
func nil2admin(*reportWorld) *auth.Viewer { return apitest.Admin }

type agentRow struct {
	Agent                             struct{ Key, Label string }
	CustomersOwned, Visits            int
	FollowUpsOnTime, FollowUpsOverdue int
	Reservations, Contracts           int
	ContractValue                     string
	Conversion                        *float64
	PoolClaims, PoolLosses            *int
}

func n(x int) *int { return &x }

func TestAgentBoard(t *testing.T) {
	w := newReportWorld(t)
	q := `query($from: String!, $to: String!) { agentBoard(period: {from: $from, to: $to}) { from to agents {
		agent { key label } customersOwned visits followUpsOnTime followUpsOverdue reservations contracts contractValue
		conversion poolClaims poolLosses } } }`
	board := func(v *auth.Viewer, from, to string) map[string]agentRow {
		t.Helper()
		var out struct{ AgentBoard struct{ Agents []agentRow } }
		w.env.As(t, v).Query(t, q, map[string]any{"from": from, "to": to}).Decode(t, &out)
		rows := map[string]agentRow{}
		for _, r := range out.AgentBoard.Agents {
			rows[r.Agent.Label] = r
			if r.Agent.Key != string(w.users[r.Agent.Label].ID) {
				t.Errorf("row %+v: key is not the agent's ID", r.Agent)
			}
		}
		return rows
	}
	nov := board(w.MP, "2026-11-01", "2026-11-30")
	if len(nov) != 2 {
		t.Fatalf("P's agents: %+v", nov)
	}
	// A1: owns c1 and c4 (claimed from A2's lapsed protection on 11-06); one
	// visit in November (the revisit); its 10-31 visit's follow-up due 11-02
	// 12:00 was done by the revisit at 10:00; d1 reserved and signed.
	sameFigures(t, "A1", nov["A1"], agentRow{Agent: nov["A1"].Agent, CustomersOwned: 2, Visits: 1, FollowUpsOnTime: 1,
		Reservations: 1, Contracts: 1, ContractValue: "3010001.00", PoolClaims: n(1), PoolLosses: n(0)})
	// A2: owns c2; its first visit's follow-up due 11-02 09:00 never came;
	// d2 reserved (then cancelled); lost c4 to A1's claim.
	sameFigures(t, "A2", nov["A2"], agentRow{Agent: nov["A2"].Agent, CustomersOwned: 1, Visits: 1, FollowUpsOverdue: 1,
		Reservations: 1, ContractValue: "0.00", Conversion: f(0), PoolClaims: n(0), PoolLosses: n(1)})

	// December: A1's revisit's follow-up (12-05) is neither done nor overdue yet.
	dec := board(w.MP, "2026-12-01", "2026-12-31")
	sameFigures(t, "A1 in December", dec["A1"], agentRow{Agent: dec["A1"].Agent, CustomersOwned: 2, ContractValue: "0.00", PoolClaims: n(0), PoolLosses: n(0)})

	// An agent: its own row only, without the attribution history's figures.
	own := board(w.A1, "2026-11-01", "2026-11-30")
	if len(own) != 1 {
		t.Fatalf("A1's board: %+v", own)
	}
	sameFigures(t, "A1's own", own["A1"], agentRow{Agent: own["A1"].Agent, CustomersOwned: 2, Visits: 1, FollowUpsOnTime: 1,
		Reservations: 1, Contracts: 1, ContractValue: "3010001.00"})
	if own := board(w.B1, "2026-11-01", "2026-11-30"); len(own) != 1 || own["B1"].Visits != 1 || own["B1"].CustomersOwned != 1 {
		t.Errorf("B1's own: %+v", own)
	}
	// Q's manager: B1 only; the admin: all three.
	if q := board(w.MQ, "2026-11-01", "2026-11-30"); len(q) != 1 || q["B1"].Visits != 1 {
		t.Errorf("MQ: %+v", q)
	}
	if all := board(apitest.Admin, "2026-11-01", "2026-11-30"); len(all) != 3 || all["A2"].PoolLosses == nil || *all["A2"].PoolLosses != 1 {
		t.Errorf("admin: %+v", all)
	}
	if e := w.env.Anonymous().Query(t, q, map[string]any{"from": "2026-11-01", "to": "2026-11-30"}).OnlyError(t); e.Code() != "UNAUTHENTICATED" {
		t.Errorf("anonymous: %+v", e)
	}
}

func TestCustomerValue(t *testing.T) {
	w := newReportWorld(t)
	q := `query($first: Int, $after: String) { customerValue(period: {from: "2026-11-01", to: "2026-11-30"}, first: $first, after: $after) {
		rule grades { grade count } totalCount hasNextPage endCursor
		customers { customer { id } score recency frequency monetary contacts value } } }`
	type row struct {
		Customer                                      struct{ ID string }
		Score, Recency, Frequency, Monetary, Contacts int
		Value                                         *string
	}
	var out struct {
		CustomerValue struct {
			Rule   string
			Grades []struct {
				Grade string
				Count int
			}
			TotalCount  int
			HasNextPage bool
			EndCursor   *string
			Customers   []row
		}
	}
	w.env.As(t, w.MP).Query(t, q, map[string]any{"first": 2}).Decode(t, &out)
	cv := out.CustomerValue
	if cv.Rule == "" || cv.TotalCount != 3 || !cv.HasNextPage || cv.EndCursor == nil || *cv.EndCursor != "2" {
		t.Fatalf("page: %+v", cv)
	}
	sameFigures(t, "grades", cv.Grades, []struct {
		Grade string
		Count int
	}{{"A", 0}, {"B", 0}, {"C", 3}, {"D", 0}})
	// As of now (11-29 12:00, before the period's end): c2 last contacted
	// 28.5 days ago (R 3), one contact (F 1), budget ¥5,000,000 (M 4): 8.
	// c1: 27 days (R 3), one contact in November (F 1), d1 ¥3,010,001 (M 3): 7.
	sameFigures(t, "first page", cv.Customers, []row{
		{Customer: struct{ ID string }{string(w.c2)}, Score: 8, Recency: 3, Frequency: 1, Monetary: 4, Contacts: 1, Value: s("5000000.00")},
		{Customer: struct{ ID string }{string(w.c1)}, Score: 7, Recency: 3, Frequency: 1, Monetary: 3, Contacts: 1, Value: s("3010001.00")},
	})
	w.env.As(t, w.MP).Query(t, q, map[string]any{"first": 2, "after": "2"}).Decode(t, &out)
	// c4: last contact its registration on 09-20, 70 days ago (R 2), none
	// in November, no deal nor budget.
	sameFigures(t, "second page", out.CustomerValue.Customers, []row{
		{Customer: struct{ ID string }{string(w.c4)}, Score: 4, Recency: 2, Frequency: 1, Monetary: 1},
	})
	if out.CustomerValue.HasNextPage {
		t.Errorf("no third page")
	}
	// Q's manager sees c3 alone; agents are refused; a bad page is refused.
	w.env.As(t, w.MQ).Query(t, q, nil).Decode(t, &out)
	if cv := out.CustomerValue; cv.TotalCount != 1 || len(cv.Customers) != 1 || cv.Customers[0].Customer.ID != string(w.c3) {
		t.Errorf("MQ: %+v", cv)
	}
	if e := w.env.As(t, w.A1).Query(t, q, nil).OnlyError(t); e.Code() != "FORBIDDEN" {
		t.Errorf("agent: %+v", e)
	}
	if e := w.env.As(t, w.MP).Query(t, q, map[string]any{"first": 101}).OnlyError(t); e.Code() != "BAD_USER_INPUT" || e.Field() != "first" {
		t.Errorf("first: 101: %+v", e)
	}
}
