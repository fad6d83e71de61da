package main

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"estatecrm/aftersales"
	"estatecrm/ent/complaint"
)

// sale is a contracted deal of a new project: its unit may draw complaints,
// and once delivered its buyer is sent the delivery's survey.
type sale struct {
	deal, unit string
	b          buyer
}

// After-sales rates: a unit handed over draws a complaint in about one
// month in twenty (quality, property service), a unit signed but not yet
// handed over in about one in seventy (the contract, the sales service).
const (
	complaintsDelivered  = 0.05
	complaintsContracted = 0.015
	month                = 30 * 24 * time.Hour
)

var (
	deliveredCategories  = []string{"LEAK", "LEAK", "CRACK", "CRACK", "FITTINGS", "FITTINGS", "FITTINGS", "OTHER_QUALITY", "PROPERTY_SERVICE", "PROPERTY_SERVICE", "DELIVERY", "OTHER"}
	contractedCategories = []string{"CONTRACT_PRICE", "CONTRACT_PRICE", "SALES_SERVICE", "SALES_SERVICE", "DELIVERY", "OTHER"}
	departmentOf         = map[string]string{"LEAK": "ENGINEERING", "CRACK": "ENGINEERING", "FITTINGS": "ENGINEERING", "OTHER_QUALITY": "ENGINEERING",
		"PROPERTY_SERVICE": "PROPERTY", "DELIVERY": "CUSTOMER_SERVICE", "CONTRACT_PRICE": "SALES", "SALES_SERVICE": "SALES", "OTHER": "CUSTOMER_SERVICE"}
	titleOf = map[string]string{"LEAK": "卫生间渗水", "CRACK": "客厅墙面开裂", "FITTINGS": "入户门锁损坏", "OTHER_QUALITY": "地板起拱",
		"PROPERTY_SERVICE": "物业保洁不及时", "DELIVERY": "交付时间延迟", "CONTRACT_PRICE": "合同价款有疑问", "SALES_SERVICE": "置业顾问承诺未兑现", "OTHER": "其他问题"}
	resolutionNotes = []string{"已上门维修并复查", "已更换配件", "已与业主沟通并书面答复", "已协调物业整改"}
	csatComments    = []string{"", "", "处理及时", "态度很好", "维修质量一般", "等了太久"}
	npsReasons      = []string{"", "", "小区环境好", "物业服务一般", "交付质量不错", "售后响应慢"}
)

// complaintTimeline is one complaint as the desk (package aftersales) would
// have left it, with its timeline.
type complaintTimeline struct {
	s                                  sale
	id, category, severity, department string
	assignee, manager                  string
	created                            time.Time
	status                             string
	ack, resolved, closed, rated       *time.Time
	firstResolved                      *time.Time
	rating                             int
	reopens                            int
	resolutionStarted                  time.Time
	note                               string
	updated                            time.Time
	events                             [][]any
}

// event appends a timeline line: kind, the move (from, to: "" for none),
// who and when. A step later than now is not taken (false): the complaint
// stays where it is.
func (c *complaintTimeline) event(g *generator, kind, from, to string, actor any, note string, at time.Time) bool {
	if !at.Before(g.anchor) {
		return false
	}
	c.events = append(c.events, []any{g.id("CE", at), c.id, actor, kind, from, to, note, false, at})
	if to != "" {
		c.status = to
	}
	c.updated = at
	return true
}

// loadAftersales writes complaints on the contracted and delivered units of
// the new projects, with timelines that follow the desk's state machine
// (submitted → acknowledged → in progress → resolved → closed, a rating of 1
// or 2 or a manager's call reopening a resolved one) and SLA deadlines as
// aftersales computes them (most met, some breached, some still open), and
// the surveys the desk issues: one on a complaint's first resolution, one
// on each delivery, a share of them answered.
func (g *generator) loadAftersales(ctx context.Context, db *sql.DB, st *scaleStats) error {
	managers := map[string]*staffProject{}
	for _, p := range g.projects {
		managers[p.id] = p
	}
	policy := aftersales.DefaultPolicy()
	var complaints []*complaintTimeline
	for _, s := range g.sales {
		p := managers[s.b.project]
		for m := *s.b.contracted; m.Before(g.anchor); m = m.Add(month) {
			rate, categories := complaintsContracted, contractedCategories
			if s.b.delivered != nil && !m.Before(*s.b.delivered) {
				rate, categories = complaintsDelivered, deliveredCategories
			}
			if g.r.Float64() >= rate {
				continue
			}
			filed := m.Add(g.between(0, month)).Truncate(time.Second)
			if !filed.Before(g.anchor) {
				continue
			}
			c := &complaintTimeline{s: s, id: g.id("CP", filed), category: categories[g.r.IntN(len(categories))],
				severity: []string{"URGENT", "NORMAL", "NORMAL", "NORMAL", "NORMAL", "LOW"}[g.r.IntN(6)],
				manager:  p.manager, assignee: p.agents[g.r.IntN(len(p.agents))], created: filed, resolutionStarted: filed}
			c.department = departmentOf[c.category]
			g.timeline(c, policy.Window(complaint.Severity(c.severity)))
			complaints = append(complaints, c)
		}
	}

	cc, err := newCopier(ctx, db, "complaints", append(timeCols, "unit_id", "project_id", "customer_id", "filed_by_id", "category", "severity",
		"title", "description", "status", "department", "assignee_id", "response_due_at", "response_risk_at", "resolution_started_at",
		"resolution_due_at", "resolution_risk_at", "acknowledged_at", "resolved_at", "closed_at", "resolution_note", "reopen_count",
		"rating", "rating_comment", "rated_at")...)
	if err != nil {
		return err
	}
	defer cc.abort()
	for _, c := range complaints {
		w := policy.Window(complaint.Severity(c.severity))
		responseDue, resolutionDue := c.created.Add(w.Response), c.resolutionStarted.Add(w.Resolution)
		var department, assignee, rating, ratedAt any
		if len(c.events) > 1 && c.events[1][3] == "ASSIGNED" {
			department, assignee = c.department, c.assignee
		}
		comment := ""
		if c.rated != nil {
			rating, ratedAt, comment = c.rating, *c.rated, csatComments[c.rating%len(csatComments)]
		}
		if err := cc.add(c.id, c.created, c.updated, c.s.unit, c.s.b.project, c.s.b.customer, c.s.b.agent, c.category, c.severity,
			titleOf[c.category], titleOf[c.category]+"，请尽快处理", c.status, department, assignee,
			responseDue, aftersales.RiskAt(c.created, responseDue), c.resolutionStarted, resolutionDue,
			aftersales.RiskAt(c.resolutionStarted, resolutionDue), c.ack, c.resolved, c.closed, c.note, c.reopens,
			rating, comment, ratedAt); err != nil {
			return err
		}
	}
	if err := cc.finish(st); err != nil {
		return err
	}
	ec, err := newCopier(ctx, db, "complaint_events", "id", "complaint_id", "actor_id", "kind", "from_status", "to_status", "note", "internal", "created_at")
	if err != nil {
		return err
	}
	defer ec.abort()
	for _, c := range complaints {
		for _, e := range c.events {
			if err := ec.add(e...); err != nil {
				return err
			}
		}
	}
	if err := ec.finish(st); err != nil {
		return err
	}

	sc, err := newCopier(ctx, db, "surveys", "id", "kind", "project_id", "customer_id", "unit_id", "complaint_id", "deal_id", "agent_id",
		"created_at", "csat", "csat_comment", "nps", "nps_reason", "answered_at")
	if err != nil {
		return err
	}
	defer sc.abort()
	survey := func(kind string, s sale, complaintID, dealID, agent any, sent time.Time) error {
		var csat, nps, answered any
		csatComment, npsReason := "", ""
		// Three in five answer, within five days, if those have passed.
		if at := sent.Add(g.between(2*time.Hour, 5*24*time.Hour)); g.r.IntN(5) < 3 && at.Before(g.anchor) {
			c := []int{1, 2, 3, 3, 4, 4, 4, 5, 5, 5, 5}[g.r.IntN(11)]
			n := []int{2, 4, 5, 6, 7, 7, 8, 8, 9, 9, 10, 10}[g.r.IntN(12)]
			csat, nps, answered = c, n, at
			csatComment, npsReason = csatComments[g.r.IntN(len(csatComments))], npsReasons[g.r.IntN(len(npsReasons))]
		}
		return sc.add(g.id("SV", sent), kind, s.b.project, s.b.customer, s.unit, complaintID, dealID, agent, sent,
			csat, csatComment, nps, npsReason, answered)
	}
	for _, c := range complaints {
		if c.firstResolved != nil {
			if err := survey("COMPLAINT_RESOLVED", c.s, c.id, nil, c.assignee, *c.firstResolved); err != nil {
				return err
			}
		}
	}
	for _, s := range g.sales {
		if s.b.delivered != nil {
			if err := survey("UNIT_DELIVERED", s, nil, s.deal, s.b.agent, *s.b.delivered); err != nil {
				return err
			}
		}
	}
	return sc.finish(st)
}

// timeline plays a complaint through the desk from its filing until now:
// filed by the buyer's agent for the buyer, routed by the manager,
// acknowledged and worked by the assignee, most within the SLA windows of
// its severity and some late, then rated by the homeowner (a 1 or 2
// reopens it), closed by the manager, or left resolved.
func (g *generator) timeline(c *complaintTimeline, w aftersales.Window) {
	c.event(g, "SUBMITTED", "", "SUBMITTED", c.s.b.agent, "", c.created)
	within := func(window time.Duration) time.Duration {
		if g.r.IntN(100) < 85 { // met
			return g.between(window/20, window*9/10)
		}
		return g.between(window, 3*window) // breached
	}
	ack := c.created.Add(within(w.Response)).Truncate(time.Second)
	if !c.event(g, "ASSIGNED", "", "", c.manager, c.department, c.created.Add(ack.Sub(c.created)/2)) {
		return
	}
	if !c.event(g, "ACKNOWLEDGED", "SUBMITTED", "ACKNOWLEDGED", c.assignee, "", ack) {
		return
	}
	c.ack = &ack
	start := ack.Add(g.between(10*time.Minute, 2*time.Hour))
	if !c.event(g, "STARTED", "ACKNOWLEDGED", "IN_PROGRESS", c.assignee, "", start) {
		return
	}
	for round := 0; ; round++ {
		resolved := c.resolutionStarted.Add(within(w.Resolution)).Truncate(time.Second)
		if !resolved.After(c.updated) {
			resolved = c.updated.Add(30 * time.Minute)
		}
		note := resolutionNotes[g.r.IntN(len(resolutionNotes))]
		if !c.event(g, "RESOLVED", "IN_PROGRESS", "RESOLVED", c.assignee, note, resolved) {
			return
		}
		c.resolved, c.note = &resolved, note
		if c.firstResolved == nil {
			c.firstResolved = &resolved
		}
		reopen := func(at time.Time, actor any, why string) {
			if !c.event(g, "REOPENED", "RESOLVED", "IN_PROGRESS", actor, why, at) {
				return
			}
			c.resolved, c.reopens, c.resolutionStarted = nil, c.reopens+1, at
		}
		switch k := g.r.IntN(100); {
		case k < 55 && c.rated == nil: // the homeowner rates it
			at := resolved.Add(g.between(time.Hour, 3*24*time.Hour)).Truncate(time.Second)
			rating := []int{1, 2, 3, 3, 4, 4, 4, 5, 5, 5, 5, 5, 5}[g.r.IntN(13)]
			if !at.Add(time.Second).Before(g.anchor) {
				return // the rating and its move are one transaction: both or neither
			}
			if !c.event(g, "RATED", "", "", nil, strings.Repeat("★", rating)+strings.Repeat("☆", 5-rating), at) {
				return
			}
			c.rated, c.rating = &at, rating
			// The move follows the rating in the same transaction; a second
			// later here, so that the timeline's order is its time's.
			next := at.Add(time.Second)
			if rating <= 2 {
				reopen(next, nil, "")
			} else if c.event(g, "CLOSED", "RESOLVED", "CLOSED", nil, "", next) {
				c.closed = &next
				return
			}
		case k < 85: // the manager calls back and closes it
			at := resolved.Add(g.between(24*time.Hour, 7*24*time.Hour)).Truncate(time.Second)
			if c.event(g, "CLOSED", "RESOLVED", "CLOSED", c.manager, "", at) {
				c.closed = &at
			}
			return
		case k < 90 && round == 0: // the manager reopens it: the problem is back
			reopen(resolved.Add(g.between(24*time.Hour, 10*24*time.Hour)).Truncate(time.Second), c.manager, "业主反映问题再次出现")
		default: // left resolved
			return
		}
		if c.status != "IN_PROGRESS" {
			return
		}
	}
}
