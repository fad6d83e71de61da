package api_test

import (
	"encoding/json"
	"testing"

	"estatecrm/api/apitest"
	"estatecrm/auth"
)

const funnelQuery = `query($from: String!, $to: String!, $p: ID, $g: ReportGroupBy) {
  salesFunnel(period: {from: $from, to: $to}, projectId: $p, groupBy: $g) {
    from to
    total { ...figures }
    groups { group { key label } figures { ...figures } }
  }
}
fragment figures on FunnelFigures {
  leads firstVisits revisits holds reservations contracts cancellations
  firstVisitRate revisitRate holdRate reservationRate contractRate cancellationRate
  medianDaysLeadToFirstVisit medianDaysVisitToReservation medianDaysReservationToContract
}`

type funnelFigures struct {
	Leads, FirstVisits, Revisits, Holds, Reservations, Contracts, Cancellations int

	FirstVisitRate, RevisitRate, HoldRate, ReservationRate, ContractRate, CancellationRate *float64

	MedianDaysLeadToFirstVisit, MedianDaysVisitToReservation, MedianDaysReservationToContract *float64
}

type funnelAnswer struct {
	SalesFunnel struct {
		From, To string
		Total    funnelFigures
		Groups   []struct {
			Group   struct{ Key, Label string }
			Figures funnelFigures
		}
	}
}

func (w *reportWorld) funnel(t *testing.T, v *auth.Viewer, from, to string, project any, group any) funnelAnswer {
	t.Helper()
	if v == nil {
		v = apitest.Admin
	}
	var out funnelAnswer
	w.env.As(t, v).Query(t, funnelQuery, map[string]any{"from": from, "to": to, "p": project, "g": group}).Decode(t, &out)
	return out
}

func f(x float64) *float64 { return &x }

// sameFigures compares two figures field by field (pointers by value).
func sameFigures(t *testing.T, what string, got, want any) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Errorf("%s:\n got  %s\n want %s", what, g, w)
	}
}

func TestSalesFunnel(t *testing.T) {
	w := newReportWorld(t)

	// November in P, by hand from the world's story: c2 registered at 00:01
	// on the 1st (c1 on 10-30 is October's), c2's first visit (c1's at
	// 23:59 on 10-31 is October's), c1's revisit, holds u1, u2, u3, the
	// reservations d1 and d2, d1 contracted, d2 cancelled.
	nov := w.funnel(t, w.MP, "2026-11-01", "2026-11-30", nil, nil).SalesFunnel
	if nov.From != "2026-11-01" || nov.To != "2026-11-30" || len(nov.Groups) != 0 {
		t.Fatalf("period or groups: %+v", nov)
	}
	sameFigures(t, "November, P", nov.Total, funnelFigures{
		Leads: 1, FirstVisits: 1, Revisits: 1, Holds: 3, Reservations: 2, Contracts: 1, Cancellations: 1,
		FirstVisitRate: f(1), RevisitRate: f(1), HoldRate: f(3), ReservationRate: f(2.0 / 3), ContractRate: f(0.5), CancellationRate: f(0.5),
		// c2: registered and visited at the same minute.
		MedianDaysLeadToFirstVisit: f(0),
		// d1: 11-02 10:00 − 10-31 23:59 = 1.417 days; d2: 11-03 10:00 − 11-01 00:01 = 2.416; the mean of the two.
		MedianDaysVisitToReservation: f(1.92),
		// d1: 11-02 10:00 → 11-05 10:00.
		MedianDaysReservationToContract: f(3),
	})

	// October: c1's registration and the visit at 23:59 on the 31st.
	oct := w.funnel(t, w.MP, "2026-10-01", "2026-10-31", nil, nil).SalesFunnel
	sameFigures(t, "October, P", oct.Total, funnelFigures{Leads: 1, FirstVisits: 1, FirstVisitRate: f(1), RevisitRate: f(0), HoldRate: f(0),
		MedianDaysLeadToFirstVisit: f(1.58)}) // 10-30 10:00 → 10-31 23:59

	// An empty period: all zeros, no rates, no medians.
	dec := w.funnel(t, w.MP, "2026-12-01", "2026-12-31", nil, nil).SalesFunnel
	sameFigures(t, "December", dec.Total, funnelFigures{})

	// By month over both: the visit at 23:59 and the one at 00:01 fall on
	// either side of the month boundary; buckets are clipped to the period.
	months := w.funnel(t, w.MP, "2026-10-15", "2026-11-30", nil, "MONTH").SalesFunnel
	if len(months.Groups) != 2 || months.Groups[0].Group.Key != "2026-10-01" || months.Groups[0].Group.Label != "2026-10-15..2026-10-31" ||
		months.Groups[1].Group.Key != "2026-11-01" || months.Groups[1].Group.Label != "2026-11-01..2026-11-30" {
		t.Fatalf("month groups: %+v", months.Groups)
	}
	sameFigures(t, "by month: October", months.Groups[0].Figures, oct.Total)
	sameFigures(t, "by month: November", months.Groups[1].Figures, nov.Total)
	if months.Total.Leads != 2 || months.Total.FirstVisits != 2 || *months.Total.MedianDaysLeadToFirstVisit != 0.79 { // (0 + 1.58) / 2
		t.Errorf("both months' total: %+v", months.Total)
	}

	// By week: every week of the period (Mondays 10-26, 11-02), empty ones too.
	weeks := w.funnel(t, w.MP, "2026-10-30", "2026-11-08", nil, "WEEK").SalesFunnel
	if len(weeks.Groups) != 2 || weeks.Groups[0].Group.Key != "2026-10-26" || weeks.Groups[1].Group.Key != "2026-11-02" {
		t.Fatalf("week groups: %+v", weeks.Groups)
	}
	// Week of 10-26 (from 10-30): c1, c2 registered; both first visits; nothing else.
	if g := weeks.Groups[0].Figures; g.Leads != 2 || g.FirstVisits != 2 || g.Holds != 0 || g.Reservations != 0 {
		t.Errorf("week of 10-26: %+v", g)
	}
	if g := weeks.Groups[1].Figures; g.Leads != 0 || g.Revisits != 1 || g.Holds != 3 || g.Reservations != 2 || g.Contracts != 1 || g.Cancellations != 0 {
		t.Errorf("week of 11-02: %+v", g)
	}

	// By agent: each step is the agent's who took it (the cancellation, d2's agent's).
	agents := w.funnel(t, w.MP, "2026-11-01", "2026-11-30", nil, "AGENT").SalesFunnel
	byLabel := map[string]funnelFigures{}
	for _, g := range agents.Groups {
		byLabel[g.Group.Label] = g.Figures
		if g.Group.Key != string(w.users[g.Group.Label].ID) {
			t.Errorf("agent group %+v: key is not the agent's ID", g.Group)
		}
	}
	if a := byLabel["A1"]; len(agents.Groups) != 2 || a.Leads != 0 || a.Revisits != 1 || a.Holds != 1 || a.Reservations != 1 || a.Contracts != 1 ||
		a.MedianDaysReservationToContract == nil || *a.MedianDaysReservationToContract != 3 {
		t.Errorf("A1: %+v (groups %d)", a, len(agents.Groups))
	}
	if a := byLabel["A2"]; a.Leads != 1 || a.FirstVisits != 1 || a.Holds != 2 || a.Reservations != 1 || a.Cancellations != 1 || a.Contracts != 0 {
		t.Errorf("A2: %+v", a)
	}

	// By channel: c1 walked in, c2 came from an online ad.
	channels := w.funnel(t, w.MP, "2026-11-01", "2026-11-30", nil, "CHANNEL").SalesFunnel
	byChannel := map[string]funnelFigures{}
	for _, g := range channels.Groups {
		byChannel[g.Group.Key] = g.Figures
	}
	if c := byChannel["WALK_IN"]; len(channels.Groups) != 2 || c.Revisits != 1 || c.Holds != 1 || c.Contracts != 1 || c.Leads != 0 {
		t.Errorf("WALK_IN: %+v", c)
	}
	if c := byChannel["ONLINE_AD"]; c.Leads != 1 || c.Holds != 2 || c.Cancellations != 1 {
		t.Errorf("ONLINE_AD: %+v", c)
	}

	// The admin sees every project: by project, P as above and Q's c3.
	projects := w.funnel(t, nil, "2026-11-01", "2026-11-30", nil, "PROJECT").SalesFunnel
	if len(projects.Groups) != 2 || projects.Groups[0].Group.Label != "P" || projects.Groups[1].Group.Label != "Q" {
		t.Fatalf("project groups: %+v", projects.Groups)
	}
	sameFigures(t, "admin, P", projects.Groups[0].Figures, nov.Total)
	if q := projects.Groups[1].Figures; q.Leads != 1 || q.FirstVisits != 1 || q.Holds != 0 {
		t.Errorf("admin, Q: %+v", q)
	}
	if projects.Total.Leads != 2 || projects.Total.FirstVisits != 2 || projects.Total.Holds != 3 {
		t.Errorf("admin total: %+v", projects.Total)
	}
}

func TestSalesFunnelWhoSeesWhat(t *testing.T) {
	w := newReportWorld(t)
	// Q's manager: only Q, whatever is asked; P by name is NOT_FOUND.
	q := w.funnel(t, w.MQ, "2026-11-01", "2026-11-30", nil, "PROJECT").SalesFunnel
	if q.Total.Leads != 1 || q.Total.Holds != 0 || len(q.Groups) != 1 || q.Groups[0].Group.Key != string(w.Q.ID) {
		t.Errorf("MQ: %+v", q)
	}
	vars := map[string]any{"from": "2026-11-01", "to": "2026-11-30", "p": w.P.ID}
	if e := w.env.As(t, w.MQ).Query(t, funnelQuery, vars).OnlyError(t); e.Code() != "NOT_FOUND" || e.Field() != "projectId" {
		t.Errorf("MQ asking for P: %+v", e)
	}
	// P's manager naming P: the same as unnamed.
	if p := w.funnel(t, w.MP, "2026-11-01", "2026-11-30", w.P.ID, nil).SalesFunnel; p.Total.Holds != 3 || p.Total.Leads != 1 {
		t.Errorf("MP naming P: %+v", p.Total)
	}
	// Agents, homeowners, portals, anonymous: refused.
	if e := w.env.As(t, w.A1).Query(t, funnelQuery, vars).OnlyError(t); e.Code() != "FORBIDDEN" {
		t.Errorf("agent: %+v", e)
	}
	if e := w.env.Anonymous().Query(t, funnelQuery, vars).OnlyError(t); e.Code() != "UNAUTHENTICATED" {
		t.Errorf("anonymous: %+v", e)
	}
}

func TestReportPeriodChecked(t *testing.T) {
	w := newReportWorld(t)
	for _, c := range []struct{ from, to, field string }{
		{"2026-13-01", "2026-12-31", "period.from"},
		{"2026-11-01", "30/11/2026", "period.to"},
		{"2026-11-30", "2026-11-01", "period.to"}, // to before from
		{"2025-11-01", "2026-11-02", "period.to"}, // 367 days
	} {
		e := w.env.As(t, w.MP).Query(t, funnelQuery, map[string]any{"from": c.from, "to": c.to}).OnlyError(t)
		if e.Code() != "BAD_USER_INPUT" || e.Field() != c.field {
			t.Errorf("%s..%s: %+v, want BAD_USER_INPUT on %s", c.from, c.to, e, c.field)
		}
	}
	// 366 days is the longest.
	if a := w.funnel(t, w.MP, "2025-12-01", "2026-12-01", nil, nil).SalesFunnel; a.Total.Leads != 2 {
		t.Errorf("a year: %+v", a.Total)
	}
}
