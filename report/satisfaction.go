package report

import (
	"context"

	"entgo.io/ent/dialect/sql"

	"estatecrm/ent"
	"estatecrm/ent/survey"
)

// Satisfaction is CSAT and NPS of a period (GraphQL Satisfaction): in
// total, by the Spec's grouping, and by what the surveys asked about.
type Satisfaction struct {
	From, To string
	Total    *SatisfactionFigures
	Groups   []*SatisfactionGroup
	ByKind   []*SatisfactionSlice
}

// SatisfactionGroup is the figures of one group of the Spec's grouping.
type SatisfactionGroup struct {
	Group   *Group
	Figures *SatisfactionFigures
}

// SatisfactionSlice is the figures of one kind of survey.
type SatisfactionSlice struct {
	Kind    survey.Kind
	Figures *SatisfactionFigures
}

// SatisfactionFigures: surveys sent and answered in the period; CSAT is the
// share of answers rating 4 or 5 (0 to 1); NPS is promoters (9–10) minus
// detractors (0–6) as a percentage of the answers (−100 to 100).
type SatisfactionFigures struct {
	Sent, Answered                  int
	Satisfied                       int
	Promoters, Passives, Detractors int
	Csat, Nps                       *float64
}

// surveyEvents are surveys read as events: sent (created_at) or answered
// (answered_at); grouped by agent, the agent whose work the survey judges.
func surveyEvents(at string) Events {
	return Events{Time: at, Project: survey.FieldProjectID, Agent: survey.FieldAgentID, Customer: survey.FieldCustomerID}
}

func intAtLeast(column string, n int) func(*sql.Selector) {
	return func(s *sql.Selector) { s.Where(sql.GTE(s.C(column), n)) }
}

func intAtMost(column string, n int) func(*sql.Selector) {
	return func(s *sql.Selector) { s.Where(sql.LTE(s.C(column), n)) }
}

// The arms of the surveys' statement, in order.
const (
	armSent = iota
	armAnswered
	armSatisfied
	armPromoter
	armDetractor
)

var surveyArms = []arm{
	armSent:      {ev: surveyEvents(survey.FieldCreatedAt)},
	armAnswered:  {ev: surveyEvents(survey.FieldAnsweredAt)},
	armSatisfied: {ev: surveyEvents(survey.FieldAnsweredAt), where: intAtLeast(survey.FieldCsat, 4)},
	armPromoter:  {ev: surveyEvents(survey.FieldAnsweredAt), where: intAtLeast(survey.FieldNps, 9)},
	armDetractor: {ev: surveyEvents(survey.FieldAnsweredAt), where: intAtMost(survey.FieldNps, 6)},
}

// SatisfactionOf computes satisfaction for sp: one statement per breakdown
// (the total is the sum of the groups: every survey falls in one group).
func SatisfactionOf(ctx context.Context, client *ent.Client, sp *Spec, byKind bool) (*Satisfaction, error) {
	out := &Satisfaction{From: sp.Period.From, To: sp.Period.To}
	key := keyFn(totalKey)
	if sp.GroupBy != nil {
		key = sp.groupKey
	}
	cells, err := satisfactionCells(ctx, client, sp, key)
	if err != nil {
		return nil, err
	}
	total := &SatisfactionFigures{}
	byKey := map[string]*SatisfactionFigures{}
	for g, f := range cells {
		total.add(f)
		byKey[sp.KeyOf(g)] = f
	}
	out.Total = total.rates()
	if sp.GroupBy != nil {
		seen := map[string]bool{}
		for k := range byKey {
			seen[k] = true
		}
		groups, err := sp.Groups(ctx, client, seen)
		if err != nil {
			return nil, err
		}
		for _, g := range groups {
			f := byKey[g.Key]
			if f == nil {
				f = &SatisfactionFigures{}
			}
			if g.Key == "" {
				g.Label = "unassigned"
			}
			out.Groups = append(out.Groups, &SatisfactionGroup{Group: &g, Figures: f.rates()})
		}
	}
	if byKind {
		cells, err := satisfactionCells(ctx, client, sp, columnKey(survey.FieldKind))
		if err != nil {
			return nil, err
		}
		for _, k := range sortedKeys(cells) {
			out.ByKind = append(out.ByKind, &SatisfactionSlice{Kind: survey.Kind(k), Figures: cells[k].rates()})
		}
	}
	return out, nil
}

func satisfactionCells(ctx context.Context, client *ent.Client, sp *Spec, key keyFn) (map[string]*SatisfactionFigures, error) {
	var counts []armCount
	if err := client.Survey.Query().Order(sp.countArms(key, nil, surveyArms...)).
		Select(survey.FieldID).Scan(ctx, &counts); err != nil {
		return nil, err
	}
	cells := map[string]*SatisfactionFigures{}
	for _, c := range counts {
		f := cells[c.G]
		if f == nil {
			f = &SatisfactionFigures{}
			cells[c.G] = f
		}
		n := int(c.N)
		switch c.F {
		case armSent:
			f.Sent = n
		case armAnswered:
			f.Answered = n
		case armSatisfied:
			f.Satisfied = n
		case armPromoter:
			f.Promoters = n
		case armDetractor:
			f.Detractors = n
		}
	}
	return cells, nil
}

func (f *SatisfactionFigures) add(o *SatisfactionFigures) {
	f.Sent += o.Sent
	f.Answered += o.Answered
	f.Satisfied += o.Satisfied
	f.Promoters += o.Promoters
	f.Detractors += o.Detractors
}

// rates fills the passives, CSAT and NPS from the counts.
func (f *SatisfactionFigures) rates() *SatisfactionFigures {
	f.Passives = f.Answered - f.Promoters - f.Detractors
	f.Csat = Rate(f.Satisfied, f.Answered)
	if f.Answered > 0 {
		nps := float64(f.Promoters-f.Detractors) * 100 / float64(f.Answered)
		nps = float64(int64(nps*100+copysignHalf(nps))) / 100
		f.Nps = &nps
	}
	return f
}

// copysignHalf rounds half away from zero when truncating.
func copysignHalf(x float64) float64 {
	if x < 0 {
		return -0.5
	}
	return 0.5
}
