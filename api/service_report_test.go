package api_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"estatecrm/api/apitest"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/survey"
)

// serviceBoard and satisfaction (issue 13, item 1) against figures counted
// by hand on complaints and surveys made through the API, around midnight
// in Shanghai.

const serviceFigures = `fragment F on ServiceFigures { opened responded respondedInSla responseSlaRate resolved resolvedInSla
  resolutionSlaRate medianResponseHours medianResolutionHours resolutions reopens reopenRate openBreaches }`

const serviceBoardQuery = `query($p: ReportPeriod!, $g: ReportGroupBy) { serviceBoard(period: $p, groupBy: $g) {
  from to total { ...F } groups { group { key label } figures { ...F } }
  byCategory { key figures { ...F } } bySeverity { key figures { ...F } } byDepartment { key figures { ...F } } } }` + serviceFigures

const satisfactionQuery = `query($p: ReportPeriod!, $g: ReportGroupBy) { satisfaction(period: $p, groupBy: $g) {
  total { ...S } groups { group { key label } figures { ...S } } byKind { kind figures { ...S } } } }
fragment S on SatisfactionFigures { sent answered satisfied promoters passives detractors csat nps }`

type serviceFiguresView struct {
	Opened, Responded, RespondedInSla, Resolved, ResolvedInSla, Resolutions, Reopens           int
	ResponseSlaRate, ResolutionSlaRate, MedianResponseHours, MedianResolutionHours, ReopenRate *float64
	OpenBreaches                                                                               *int
}

// String renders the figures compactly: counts, then rates and medians
// (- for null).
func (f serviceFiguresView) String() string {
	p := func(x *float64) string {
		if x == nil {
			return "-"
		}
		return fmt.Sprintf("%.4g", *x)
	}
	b := "-"
	if f.OpenBreaches != nil {
		b = fmt.Sprint(*f.OpenBreaches)
	}
	return fmt.Sprintf("opened=%d responded=%d/%d(%s) resolved=%d/%d(%s) median=%s/%s reopens=%d/%d(%s) breaches=%s",
		f.Opened, f.RespondedInSla, f.Responded, p(f.ResponseSlaRate), f.ResolvedInSla, f.Resolved, p(f.ResolutionSlaRate),
		p(f.MedianResponseHours), p(f.MedianResolutionHours), f.Reopens, f.Resolutions, p(f.ReopenRate), b)
}

type serviceBoardView struct {
	ServiceBoard struct {
		From, To string
		Total    serviceFiguresView
		Groups   []struct {
			Group   struct{ Key, Label string }
			Figures serviceFiguresView
		}
		ByCategory, BySeverity, ByDepartment []struct {
			Key     string
			Figures serviceFiguresView
		}
	}
}

type satisfactionFiguresView struct {
	Sent, Answered, Satisfied, Promoters, Passives, Detractors int
	Csat, Nps                                                  *float64
}

func (f satisfactionFiguresView) String() string {
	p := func(x *float64) string {
		if x == nil {
			return "-"
		}
		return fmt.Sprintf("%.4g", *x)
	}
	return fmt.Sprintf("sent=%d answered=%d satisfied=%d csat=%s promoters=%d passives=%d detractors=%d nps=%s",
		f.Sent, f.Answered, f.Satisfied, p(f.Csat), f.Promoters, f.Passives, f.Detractors, p(f.Nps))
}

type satisfactionView struct {
	Satisfaction struct {
		Total  satisfactionFiguresView
		Groups []struct {
			Group   struct{ Key, Label string }
			Figures satisfactionFiguresView
		}
		ByKind []struct {
			Kind    string
			Figures satisfactionFiguresView
		}
	}
}

func period(from, to string) map[string]any { return map[string]any{"from": from, "to": to} }

func TestServiceBoardAndSatisfaction(t *testing.T) {
	w := newComplaintWorld(t)
	ctx := apitest.System()
	// t0 is midnight starting 10 November 2026 in Shanghai (UTC+8).
	w.t0 = time.Date(2026, 11, 9, 16, 0, 0, 0, time.UTC)
	h := time.Hour
	step := func(at time.Duration, actor, query string, v cpVars, id string) {
		t.Helper()
		w.at(at)
		w.step(t, actor, query, v.with(id))
	}
	submit := func(at time.Duration, actor, unit, severity, title string) string {
		t.Helper()
		w.at(at)
		return w.submit(t, actor, unit, "", severity, title).ID
	}
	answer := func(at time.Duration, complaintID string, csat, nps int) {
		t.Helper()
		w.at(at)
		id := w.env.Client.Survey.Query().Where(survey.ComplaintID(pulid.ID(complaintID))).OnlyIDX(ctx)
		w.as(t, "H1").Query(t, svAnswer, map[string]any{"id": id, "csat": csat, "nps": nps}).Decode(t, &struct{}{})
	}
	// c1 (NORMAL): filed 01:00, answered in 1 h, routed to engineering (A1),
	// resolved at 23:59 on the 10th after 22 h 59 min; survey 3 / 6 at 23:59:30.
	c1 := submit(1*h, "H1", "uH1", "NORMAL", "c1")
	step(2*h, "MA", cpAcknowledge, cpVars{}, c1)
	step(2*h, "MA", cpAssign, cpVars{"dept": "ENGINEERING", "assignee": w.id("A1")}, c1)
	step(2*h, "MA", cpStart, cpVars{}, c1)
	// c2 (URGENT): filed 03:00, answered after 3 h (late: 2 h), resolved at
	// 00:01 on the 11th; survey 4 / 8 at 00:02.
	c2 := submit(3*h, "H1", "uH1", "URGENT", "c2")
	// c3 (NORMAL): filed 04:00, answered in 1 h, resolved at 10:00, reopened
	// at 11:00, resolved again at 12:00 (8 h from filing); survey 5 / 10 at 13:00.
	c3 := submit(4*h, "H1", "uH1", "NORMAL", "c3")
	step(5*h, "MA", cpAcknowledge, cpVars{}, c3)
	step(5*h, "MA", cpStart, cpVars{}, c3)
	// c4 (URGENT): filed 05:00, never answered: breached since 07:00.
	submit(5*h, "H1", "uH1", "URGENT", "c4")
	step(6*h, "MA", cpAcknowledge, cpVars{}, c2)
	step(6*h, "MA", cpStart, cpVars{}, c2)
	step(10*h, "MA", cpResolve, cpVars{"note": "sealed"}, c3)
	step(11*h, "H1", cpReopen, cpVars{"note": "still leaking"}, c3)
	step(12*h, "MA", cpResolve, cpVars{"note": "sealed again"}, c3)
	answer(13*h, c3, 5, 10)
	step(24*h-time.Minute, "MA", cpResolve, cpVars{"note": "fixed"}, c1)
	answer(24*h-30*time.Second, c1, 3, 6)
	step(24*h+time.Minute, "MA", cpResolve, cpVars{"note": "fixed"}, c2)
	answer(24*h+2*time.Minute, c2, 4, 8)
	// Another project's complaint, filed 01:00 on the 10th.
	submit(1*h, "HB", "uB", "LOW", "b1")
	w.at(28 * h) // 04:00 on the 11th in Shanghai

	board := func(actor string, p map[string]any, groupBy any) serviceBoardView {
		t.Helper()
		var out serviceBoardView
		w.as(t, actor).Query(t, serviceBoardQuery, map[string]any{"p": p, "g": groupBy}).Decode(t, &out)
		return out
	}
	want := func(what string, got fmt.Stringer, want string) {
		t.Helper()
		if got.String() != want {
			t.Errorf("%s:\n got  %s\n want %s", what, got, want)
		}
	}

	// The 10th: c1..c4 filed; c1, c2, c3 answered (c2 late); c1 and c3
	// resolved in time (c2 after midnight); 3 resolutions, 1 reopen; c4
	// breached now. Medians: response of 1, 1, 3 h; resolution of 22.98, 8 h.
	day := board("MA", period("2026-11-10", "2026-11-10"), nil).ServiceBoard
	want("the 10th", day.Total, "opened=4 responded=2/3(0.6667) resolved=2/2(1) median=1/15.49 reopens=1/3(0.3333) breaches=1")
	if len(day.Groups) != 0 || day.From != "2026-11-10" || day.To != "2026-11-10" {
		t.Errorf("ungrouped board: %+v", day)
	}
	if len(day.ByCategory) != 1 || day.ByCategory[0].Key != "LEAK" {
		t.Fatalf("by category: %+v", day.ByCategory)
	}
	want("LEAK", day.ByCategory[0].Figures, day.Total.String())
	sev := map[string]string{}
	for _, s := range day.BySeverity {
		sev[s.Key] = s.Figures.String()
	}
	if len(sev) != 2 || sev["NORMAL"] != "opened=2 responded=2/2(1) resolved=2/2(1) median=1/15.49 reopens=1/3(0.3333) breaches=0" ||
		sev["URGENT"] != "opened=2 responded=0/1(0) resolved=0/0(-) median=3/- reopens=0/0(-) breaches=1" {
		t.Errorf("by severity: %v", sev)
	}
	dept := map[string]string{}
	for _, s := range day.ByDepartment {
		dept[s.Key] = s.Figures.String()
	}
	if len(dept) != 2 || dept["ENGINEERING"] != "opened=1 responded=1/1(1) resolved=1/1(1) median=1/22.98 reopens=0/1(0) breaches=0" ||
		dept["UNASSIGNED"] != "opened=3 responded=1/2(0.5) resolved=1/1(1) median=2/8 reopens=1/2(0.5) breaches=1" {
		t.Errorf("by department: %v", dept)
	}

	// The 11th: only c2's resolution, at 00:01, in time (24 h).
	next := board("MA", period("2026-11-11", "2026-11-11"), nil).ServiceBoard
	want("the 11th", next.Total, "opened=0 responded=0/0(-) resolved=1/1(1) median=-/21.02 reopens=0/1(0) breaches=1")

	// An empty period: nothing but the breach that is open now.
	empty := board("MA", period("2026-10-01", "2026-10-31"), nil).ServiceBoard
	want("October", empty.Total, "opened=0 responded=0/0(-) resolved=0/0(-) median=-/- reopens=0/0(-) breaches=1")
	if len(empty.BySeverity) != 1 || empty.BySeverity[0].Key != "URGENT" || empty.BySeverity[0].Figures.String() != empty.Total.String() {
		t.Errorf("October's breakdown by severity (c4's breach only): %+v", empty.BySeverity)
	}

	// By agent (the assignee; "" not routed) over both days.
	both := board("MA", period("2026-11-10", "2026-11-11"), "AGENT").ServiceBoard
	want("both days", both.Total, "opened=4 responded=2/3(0.6667) resolved=3/3(1) median=1/21.02 reopens=1/4(0.25) breaches=1")
	agents := map[string]string{}
	for _, g := range both.Groups {
		agents[g.Group.Key+" "+g.Group.Label] = g.Figures.String()
	}
	if len(agents) != 2 || agents[string(w.id("A1"))+" A1"] != "opened=1 responded=1/1(1) resolved=1/1(1) median=1/22.98 reopens=0/1(0) breaches=0" ||
		agents[" unassigned"] != "opened=3 responded=1/2(0.5) resolved=2/2(1) median=2/14.51 reopens=1/3(0.3333) breaches=1" {
		t.Errorf("by agent: %v", agents)
	}
	// By week: both days are in the week of Monday the 9th; no breach in a week.
	weeks := board("MA", period("2026-11-10", "2026-11-11"), "WEEK").ServiceBoard
	if len(weeks.Groups) != 1 || weeks.Groups[0].Group.Key != "2026-11-09" ||
		weeks.Groups[0].Figures.String() != strings.Replace(both.Total.String(), "breaches=1", "breaches=-", 1) {
		t.Errorf("by week: %+v", weeks.Groups)
	}

	// The other project's manager sees only its complaint; an admin both.
	want("MB", board("MB", period("2026-11-10", "2026-11-10"), nil).ServiceBoard.Total,
		"opened=1 responded=0/0(-) resolved=0/0(-) median=-/- reopens=0/0(-) breaches=0")
	want("admin", board("admin", period("2026-11-10", "2026-11-10"), nil).ServiceBoard.Total,
		"opened=5 responded=2/3(0.6667) resolved=2/2(1) median=1/15.49 reopens=1/3(0.3333) breaches=1")

	// Satisfaction: on the 10th c3's survey (5 / 10: satisfied, promoter)
	// and c1's (3 / 6: detractor), both sent and answered that day.
	sat := func(actor string, p map[string]any, groupBy any) satisfactionView {
		t.Helper()
		var out satisfactionView
		w.as(t, actor).Query(t, satisfactionQuery, map[string]any{"p": p, "g": groupBy}).Decode(t, &out)
		return out
	}
	s10 := sat("MA", period("2026-11-10", "2026-11-10"), nil).Satisfaction
	want("satisfaction on the 10th", s10.Total, "sent=2 answered=2 satisfied=1 csat=0.5 promoters=1 passives=0 detractors=1 nps=0")
	if len(s10.ByKind) != 1 || s10.ByKind[0].Kind != "COMPLAINT_RESOLVED" || s10.ByKind[0].Figures.String() != s10.Total.String() {
		t.Errorf("by kind: %+v", s10.ByKind)
	}
	want("satisfaction on the 11th", sat("MA", period("2026-11-11", "2026-11-11"), nil).Satisfaction.Total,
		"sent=1 answered=1 satisfied=1 csat=1 promoters=0 passives=1 detractors=0 nps=0")
	want("satisfaction in October", sat("MA", period("2026-10-01", "2026-10-31"), nil).Satisfaction.Total,
		"sent=0 answered=0 satisfied=0 csat=- promoters=0 passives=0 detractors=0 nps=-")
	byAgent := sat("MA", period("2026-11-10", "2026-11-11"), "AGENT").Satisfaction
	want("satisfaction of both days", byAgent.Total, "sent=3 answered=3 satisfied=2 csat=0.6667 promoters=1 passives=1 detractors=1 nps=0")
	sa := map[string]string{}
	for _, g := range byAgent.Groups {
		sa[g.Group.Label] = g.Figures.String()
	}
	if len(sa) != 2 || sa["A1"] != "sent=1 answered=1 satisfied=0 csat=0 promoters=0 passives=0 detractors=1 nps=-100" ||
		sa["unassigned"] != "sent=2 answered=2 satisfied=2 csat=1 promoters=1 passives=1 detractors=0 nps=50" {
		t.Errorf("satisfaction by agent: %v", sa)
	}
	want("satisfaction, MB", sat("MB", period("2026-11-10", "2026-11-11"), nil).Satisfaction.Total,
		"sent=0 answered=0 satisfied=0 csat=- promoters=0 passives=0 detractors=0 nps=-")

	// Nobody else reads them.
	for _, actor := range []string{"A1", "H1"} {
		for _, q := range []string{serviceBoardQuery, satisfactionQuery} {
			e := w.as(t, actor).Query(t, q, map[string]any{"p": period("2026-11-10", "2026-11-10")}).OnlyError(t)
			if e.Code() != "FORBIDDEN" {
				t.Errorf("%s read a dashboard: %+v", actor, e)
			}
		}
	}
}
