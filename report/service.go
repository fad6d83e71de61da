package report

import (
	"context"
	"slices"
	"time"

	"entgo.io/ent/dialect/sql"

	"estatecrm/ent"
	"estatecrm/ent/complaint"
	"estatecrm/ent/complaintevent"
)

// ServiceBoard is the after-sales dashboard of a period (GraphQL
// ServiceBoard): in total, by the Spec's grouping, and by category,
// severity and department.
type ServiceBoard struct {
	From, To                             string
	Total                                *ServiceFigures
	Groups                               []*ServiceGroup
	ByCategory, BySeverity, ByDepartment []*ServiceSlice
}

// ServiceGroup is the figures of one group of the Spec's grouping.
type ServiceGroup struct {
	Group   *Group
	Figures *ServiceFigures
}

// ServiceSlice is the figures of one category, severity or department
// (UNASSIGNED: not routed to a department).
type ServiceSlice struct {
	Key     string
	Figures *ServiceFigures
}

// ServiceFigures are the counts, rates and medians of the service board.
type ServiceFigures struct {
	Opened                             int
	Responded, RespondedInSLA          int
	Resolved, ResolvedInSLA            int
	ResponseSLARate, ResolutionSLARate *float64
	MedianResponseHours                *float64
	MedianResolutionHours              *float64
	Resolutions, Reopens               int
	ReopenRate                         *float64
	OpenBreaches                       *int
}

// ServiceParts says which breakdowns to compute (those the client asked for).
type ServiceParts struct {
	ByCategory, BySeverity, ByDepartment bool
}

// complaintEvents are complaints read as events: opened (created_at),
// responded (acknowledged_at), resolved (resolved_at); grouped by agent,
// the assignee's.
func complaintEvents(at string) Events {
	return Events{Time: at, Project: complaint.FieldProjectID, Agent: complaint.FieldAssigneeID, Customer: complaint.FieldCustomerID}
}

// The arms of the complaints' statement, in order.
const (
	armOpened = iota
	armResponded
	armRespondedInSLA
	armResolved
	armResolvedInSLA
)

var complaintArms = []arm{
	armOpened:         {ev: complaintEvents(complaint.FieldCreatedAt)},
	armResponded:      {ev: complaintEvents(complaint.FieldAcknowledgedAt)},
	armRespondedInSLA: {ev: complaintEvents(complaint.FieldAcknowledgedAt), where: colLE(complaint.FieldAcknowledgedAt, complaint.FieldResponseDueAt)},
	armResolved:       {ev: complaintEvents(complaint.FieldResolvedAt)},
	armResolvedInSLA:  {ev: complaintEvents(complaint.FieldResolvedAt), where: colLE(complaint.FieldResolvedAt, complaint.FieldResolutionDueAt)},
}

// timelineEvents are the complaints' timeline events, joined to their
// complaint (timelineJoin) for its project, assignee and dimensions, in
// dialect d (the joined columns are written qualified).
func timelineEvents(d string) Events {
	c := sql.Dialect(d).Table(complaint.Table).As(timelineComplaint)
	return Events{Time: complaintevent.FieldCreatedAt, Project: c.C(complaint.FieldProjectID),
		Agent: c.C(complaint.FieldAssigneeID), Customer: c.C(complaint.FieldCustomerID)}
}

// timelineComplaint is the alias of the complaint joined to its events.
const timelineComplaint = "service_complaint"

func kindIs(k complaintevent.Kind) func(*sql.Selector) {
	return func(s *sql.Selector) { s.Where(sql.EQ(s.C(complaintevent.FieldKind), string(k))) }
}

// timelineArms are the arms of the timeline's statement: every resolution
// and every reopen.
func timelineArms(d string) []arm {
	return []arm{
		{ev: timelineEvents(d), where: kindIs(complaintevent.KindRESOLVED)},
		{ev: timelineEvents(d), where: kindIs(complaintevent.KindREOPENED)},
	}
}

// timelineJoin joins a read of timeline events to their complaints.
func timelineJoin(_ string, s *sql.Selector) *sql.Selector {
	c := sql.Table(complaint.Table).As(timelineComplaint)
	s.Join(c).On(s.C(complaintevent.FieldComplaintID), c.C(complaint.FieldID))
	return s
}

// hours is the SQL of the hours from the instant in column earlier to the
// one in later.
func hours(later, earlier string) func(s *sql.Selector) string {
	return func(s *sql.Selector) string {
		return "(" + DaysBetween(s.Dialect(), s.C(later), s.C(earlier)) + " * 24.0)"
	}
}

// The medians' arms: response (filing to the first response) of the
// complaints responded to in the period, resolution (filing to the
// resolution) of those resolved in it.
var (
	medianArms   = []arm{complaintArms[armResponded], complaintArms[armResolved]}
	medianValues = []func(*sql.Selector) string{
		hours(complaint.FieldAcknowledgedAt, complaint.FieldCreatedAt),
		hours(complaint.FieldResolvedAt, complaint.FieldCreatedAt),
	}
)

// openStatuses are the statuses of a complaint still being worked.
var openStatuses = []any{string(complaint.StatusSUBMITTED), string(complaint.StatusACKNOWLEDGED), string(complaint.StatusIN_PROGRESS)}

// breachedNow keeps the open complaints with a clock past its deadline at
// now: no response by the response deadline, or no resolution by the
// resolution deadline (of the latest reopen).
func breachedNow(now time.Time) func(*sql.Selector) {
	return func(s *sql.Selector) {
		s.Where(sql.And(sql.In(s.C(complaint.FieldStatus), openStatuses...), sql.Or(
			sql.And(sql.IsNull(s.C(complaint.FieldAcknowledgedAt)), sql.LT(s.C(complaint.FieldResponseDueAt), now)),
			sql.And(sql.IsNull(s.C(complaint.FieldResolvedAt)), sql.LT(s.C(complaint.FieldResolutionDueAt), now)),
		)))
	}
}

// ServiceBoardOf computes the service board of sp at now: per breakdown one
// statement of the complaints' counts, one of the timeline's (resolutions
// and reopens), one of the medians and one of the open breaches; only the
// breakdowns parts asks for.
func ServiceBoardOf(ctx context.Context, client *ent.Client, sp *Spec, now time.Time, parts ServiceParts) (*ServiceBoard, error) {
	b := &ServiceBoard{From: sp.Period.From, To: sp.Period.To}
	total, err := serviceBreakdown(ctx, client, sp, totalKey, now, true)
	if err != nil {
		return nil, err
	}
	b.Total = figuresOf(total, "0", true)
	if sp.GroupBy != nil {
		timed := *sp.GroupBy == ByWeek || *sp.GroupBy == ByMonth
		byGroup, err := serviceBreakdown(ctx, client, sp, sp.groupKey, now, !timed)
		if err != nil {
			return nil, err
		}
		seen := map[string]bool{}
		for k := range byGroup {
			seen[sp.KeyOf(k)] = true
		}
		groups, err := sp.Groups(ctx, client, seen)
		if err != nil {
			return nil, err
		}
		byKey := serviceCells{}
		for k, f := range byGroup {
			byKey[sp.KeyOf(k)] = f
		}
		for _, g := range groups {
			f := figuresOf(byKey, g.Key, !timed)
			if g.Key == "" {
				g.Label = "unassigned"
			}
			b.Groups = append(b.Groups, &ServiceGroup{Group: &g, Figures: f})
		}
	}
	for _, d := range []struct {
		want   bool
		column string
		out    *[]*ServiceSlice
	}{
		{parts.ByCategory, complaint.FieldCategory, &b.ByCategory},
		{parts.BySeverity, complaint.FieldSeverity, &b.BySeverity},
		{parts.ByDepartment, complaint.FieldDepartment, &b.ByDepartment},
	} {
		if !d.want {
			continue
		}
		by, err := serviceBreakdown(ctx, client, sp, columnKey(d.column), now, true)
		if err != nil {
			return nil, err
		}
		for _, k := range sortedKeys(by) {
			key := k
			if key == "" {
				key = "UNASSIGNED"
			}
			*d.out = append(*d.out, &ServiceSlice{Key: key, Figures: figuresOf(by, k, true)})
		}
	}
	return b, nil
}

// serviceCells are the raw figures of a breakdown by group key.
type serviceCells map[string]*ServiceFigures

// serviceBreakdown runs the four statements of one breakdown (breaches only
// where the groups are not periods of time).
func serviceBreakdown(ctx context.Context, client *ent.Client, sp *Spec, key keyFn, now time.Time, breaches bool) (serviceCells, error) {
	cells := serviceCells{}
	cell := func(g string) *ServiceFigures {
		if cells[g] == nil {
			cells[g] = &ServiceFigures{}
		}
		return cells[g]
	}
	var counts []armCount
	if err := client.Complaint.Query().Order(sp.countArms(key, nil, complaintArms...)).
		Select(complaint.FieldID).Scan(ctx, &counts); err != nil {
		return nil, err
	}
	for _, c := range counts {
		f, n := cell(c.G), int(c.N)
		switch c.F {
		case armOpened:
			f.Opened = n
		case armResponded:
			f.Responded = n
		case armRespondedInSLA:
			f.RespondedInSLA = n
		case armResolved:
			f.Resolved = n
		case armResolvedInSLA:
			f.ResolvedInSLA = n
		}
	}
	counts = nil
	if err := client.ComplaintEvent.Query().Order(sp.countArms(key, timelineJoin, timelineArms(client.Dialect())...)).
		Select(complaintevent.FieldID).Scan(ctx, &counts); err != nil {
		return nil, err
	}
	for _, c := range counts {
		if c.F == 0 {
			cell(c.G).Resolutions = int(c.N)
		} else {
			cell(c.G).Reopens = int(c.N)
		}
	}
	var medians []armMedian
	if err := client.Complaint.Query().Order(sp.medianArms(key, medianValues, medianArms...)).
		Select(complaint.FieldID).Scan(ctx, &medians); err != nil {
		return nil, err
	}
	for _, m := range medians {
		if m.F == 0 {
			cell(m.G).MedianResponseHours = round2(m.M)
		} else {
			cell(m.G).MedianResolutionHours = round2(m.M)
		}
	}
	if breaches {
		counts = nil
		open := arm{ev: complaintEvents(""), where: breachedNow(now)}
		if err := client.Complaint.Query().Order(sp.countArms(key, nil, open)).
			Select(complaint.FieldID).Scan(ctx, &counts); err != nil {
			return nil, err
		}
		for _, c := range counts {
			n := int(c.N)
			cell(c.G).OpenBreaches = &n
		}
	}
	return cells, nil
}

// figuresOf returns the figures of group g with their rates (zero figures
// if the group had none; open breaches counted unless timed groups).
func figuresOf(cells serviceCells, g string, breaches bool) *ServiceFigures {
	f := cells[g]
	if f == nil {
		f = &ServiceFigures{}
	}
	if breaches && f.OpenBreaches == nil {
		f.OpenBreaches = new(int)
	}
	f.ResponseSLARate = Rate(f.RespondedInSLA, f.Responded)
	f.ResolutionSLARate = Rate(f.ResolvedInSLA, f.Resolved)
	f.ReopenRate = Rate(f.Reopens, f.Resolutions)
	return f
}

// sortedKeys are the groups of cells in order.
func sortedKeys[V any](cells map[string]V) []string {
	keys := make([]string, 0, len(cells))
	for k := range cells {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// round2 keeps two decimals of a median.
func round2(m sql.NullFloat64) *float64 { return days(m) }
