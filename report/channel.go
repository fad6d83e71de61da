package report

import (
	"context"
	"errors"
	"strconv"
	"time"

	"entgo.io/ent/dialect/sql"

	"estatecrm/apperr"
	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/channelspend"
	"estatecrm/ent/customer"
	"estatecrm/ent/deal"
	"estatecrm/ent/project"
	"estatecrm/ent/schema/pulid"
	"estatecrm/money"
)

// ChannelMix is customers and contracts by source channel (GraphQL ChannelMix).
type ChannelMix struct {
	From, To string
	Channels []*ChannelMixRow
	Total    *ChannelMixRow
	Groups   []*ChannelMixGroup
}

// ChannelMixGroup is the channel mix of one group of a grouping.
type ChannelMixGroup struct {
	Group    *Group
	Channels []*ChannelMixRow
	Total    *ChannelMixRow
}

// ChannelMixRow is one channel's figures (Channel nil: the total).
type ChannelMixRow struct {
	Channel                *customer.Source
	Customers, Contracts   int
	ContractValue          money.Fen
	Conversion             *float64
	Spend, CostPerContract *money.Fen
}

// channels lists the source channels in their enum order.
var channels = []customer.Source{customer.SourceWALK_IN, customer.SourceREFERRAL, customer.SourceONLINE_AD, customer.SourceSOCIAL,
	customer.SourcePORTAL, customer.SourceEVENT, customer.SourceHOTLINE, customer.SourceOTHER}

// mixSet is the channel rows and total of the whole period or of a group.
type mixSet struct {
	rows  map[string]*ChannelMixRow
	total *ChannelMixRow
}

func newMixSet() *mixSet {
	m := &mixSet{rows: map[string]*ChannelMixRow{}, total: &ChannelMixRow{}}
	for _, c := range channels {
		m.rows[string(c)] = &ChannelMixRow{Channel: &c}
	}
	return m
}

func (m *mixSet) add(channel string, f func(*ChannelMixRow)) {
	if row := m.rows[channel]; row != nil {
		f(row)
		f(m.total)
	}
}

func (m *mixSet) addSpend(channel string, s money.Fen) {
	if row := m.rows[channel]; row != nil {
		row.Spend = &s
		if m.total.Spend == nil {
			m.total.Spend = new(money.Fen)
		}
		*m.total.Spend += s
	}
}

func (m *mixSet) list() []*ChannelMixRow {
	out := make([]*ChannelMixRow, 0, len(channels))
	for _, c := range channels {
		row := m.rows[string(c)]
		row.rates()
		out = append(out, row)
	}
	m.total.rates()
	return out
}

// ChannelMixOf computes the channel mix of sp: customers, and contracts
// with their value, each in one statement grouped in SQL by sp's grouping
// (if any) and the channel within it, and the spend prorated to the period
// (and to each week or month, or by project, of a grouping).
func ChannelMixOf(ctx context.Context, client *ent.Client, sp *Spec) (*ChannelMix, error) {
	byChannel := ByChannel
	ch := sp.Nested(sp.GroupBy, &byChannel)
	channelOf := func(c Count) string { // grouped by CHANNEL, the group is the channel
		if ch.Within != nil {
			return c.H
		}
		return c.G
	}
	var customers, contracts []Count
	if err := client.Customer.Query().Order(ch.Counting(customerEvents)).Select(customer.FieldID).Scan(ctx, &customers); err != nil {
		return nil, err
	}
	if err := client.Deal.Query().Order(ch.Summing(dealEvents(deal.FieldContractedAt), deal.FieldPrice)).Select(deal.FieldID).Scan(ctx, &contracts); err != nil {
		return nil, err
	}
	all := newMixSet()
	groups := map[string]*mixSet{}
	group := func(c Count) *mixSet {
		if sp.GroupBy == nil {
			return nil
		}
		k := ch.KeyOf(c.G)
		if groups[k] == nil {
			groups[k] = newMixSet()
		}
		return groups[k]
	}
	for _, r := range customers {
		f := func(row *ChannelMixRow) { row.Customers += int(r.N) }
		all.add(channelOf(r), f)
		if g := group(r); g != nil {
			g.add(channelOf(r), f)
		}
	}
	for _, r := range contracts {
		f := func(row *ChannelMixRow) { row.Contracts += int(r.N); row.ContractValue += money.Fen(r.S) }
		all.add(channelOf(r), f)
		if g := group(r); g != nil {
			g.add(channelOf(r), f)
		}
	}

	first, last := sp.Period.Days()
	byProject := sp.GroupBy != nil && *sp.GroupBy == ByProject
	var spend []Count
	if err := client.ChannelSpend.Query().Modify(sp.spendBy(first, last, byProject)).Scan(ctx, &spend); err != nil {
		return nil, err
	}
	for _, r := range spend {
		if r.N == 0 {
			continue
		}
		all.addSpend(r.G, money.Fen(r.S))
		if sp.GroupBy == nil {
			continue
		}
		switch *sp.GroupBy {
		case ByProject:
			group(Count{G: r.H}).addSpend(r.G, money.Fen(r.S))
		case ByChannel:
			group(Count{G: r.G}).addSpend(r.G, money.Fen(r.S))
		}
	}
	if sp.GroupBy != nil && (*sp.GroupBy == ByWeek || *sp.GroupBy == ByMonth) {
		// Each bucket's spend, prorated to its own days: one statement a
		// bucket (at most 53, a year by week).
		for i, b := range sp.buckets {
			bf, bl := b.days(sp.Period.Zone)
			var bs []Count
			if err := client.ChannelSpend.Query().Modify(sp.spendBy(bf, bl, false)).Scan(ctx, &bs); err != nil {
				return nil, err
			}
			for _, r := range bs {
				if r.N > 0 {
					group(Count{G: strconv.Itoa(i)}).addSpend(r.G, money.Fen(r.S))
				}
			}
		}
	}

	out := &ChannelMix{From: sp.Period.From, To: sp.Period.To, Total: all.total, Channels: all.list()}
	seen := map[string]bool{}
	for k := range groups {
		seen[k] = true
	}
	gs, err := sp.Groups(ctx, client, seen)
	if err != nil {
		return nil, err
	}
	for _, g := range gs {
		m := groups[g.Key]
		if m == nil {
			m = newMixSet()
		}
		out.Groups = append(out.Groups, &ChannelMixGroup{Group: &g, Channels: m.list(), Total: m.total})
	}
	return out, nil
}

func (r *ChannelMixRow) rates() {
	r.Conversion = Rate(r.Contracts, r.Customers)
	if r.Spend != nil && r.Contracts > 0 {
		c := *r.Spend / money.Fen(r.Contracts)
		r.CostPerContract = &c
	}
}

// spendBy turns a read of channel spend into the spend of the days first
// to last (day numbers) by channel (and by project into H, byProject):
// each spend overlapping them counts amount × (days among them) / (its
// days), in integer fen (rounded down), summed.
func (sp *Spec) spendBy(first, last int, byProject bool) func(*sql.Selector) {
	return func(s *sql.Selector) {
		f, l := strconv.Itoa(first), strconv.Itoa(last)
		from, to, amount := s.C(channelspend.FieldFromDay), s.C(channelspend.FieldToDay), s.C(channelspend.FieldAmount)
		sp.Scoped(s, Events{Project: channelspend.FieldProjectID})
		s.Where(sql.And(sql.LTE(from, last), sql.GTE(to, first)))
		days := "((CASE WHEN " + to + " < " + l + " THEN " + to + " ELSE " + l + " END) - (CASE WHEN " + from + " > " + f + " THEN " + from + " ELSE " + f + " END) + 1)"
		h := "'0'"
		groupBy := []string{s.C(channelspend.FieldChannel)}
		if byProject {
			h = s.C(channelspend.FieldProjectID)
			groupBy = append(groupBy, h)
		}
		s.Select().AppendSelectExprAs(sql.Raw(s.C(channelspend.FieldChannel)), "g").
			AppendSelectExprAs(sql.Raw(h), "h").
			AppendSelectExprAs(sql.Raw("COUNT(*)"), "n").
			AppendSelectExprAs(sql.Raw("COALESCE(SUM("+amount+" * "+days+" / ("+to+" - "+from+" + 1)), 0)"), "s").
			GroupBy(groupBy...)
	}
}

// Spend is a channel spend as the API shows it (GraphQL ChannelSpend).
type Spend struct {
	ID, ProjectID pulid.ID
	Channel       customer.Source
	From, To      string
	Amount        money.Fen
	UpdatedAt     time.Time
}

// SpendInput is the input of SetChannelSpend.
type SpendInput struct {
	ProjectID pulid.ID
	Channel   customer.Source
	From, To  string
	Amount    money.Fen
}

func spendOf(s *ent.ChannelSpend) *Spend {
	return &Spend{ID: s.ID, ProjectID: s.ProjectID, Channel: customer.Source(s.Channel),
		From: dayString(s.FromDay), To: dayString(s.ToDay), Amount: s.Amount, UpdatedAt: s.UpdatedAt}
}

// dayString is the date of a day number.
func dayString(day int) string {
	return time.Unix(int64(day)*86400, 0).UTC().Format(time.DateOnly)
}

// SetChannelSpend records what a project spent on a channel over whole
// days; the same project, channel and days again replaces the amount. A
// manager of the project or an admin may (the entity's privacy rule
// decides); a project the viewer cannot see is NOT_FOUND.
func SetChannelSpend(ctx context.Context, client *ent.Client, in SpendInput, zone *time.Location, now time.Time) (*Spend, error) {
	v := auth.FromContext(ctx)
	if v == nil {
		return nil, apperr.New(apperr.Unauthenticated, "authentication required")
	}
	if !ent.IDOfType(in.ProjectID, project.Table) {
		return nil, apperr.Input("input.projectId", "not the ID of a project")
	}
	if err := customer.SourceValidator(in.Channel); err != nil {
		return nil, apperr.Input("input.channel", "not a channel")
	}
	p, err := ParsePeriod(PeriodInput{From: in.From, To: in.To}, zone)
	if err != nil {
		var ae *apperr.Error
		if errors.As(err, &ae) && ae.Field != "" {
			ae.Field = "input." + ae.Field[len("period."):]
		}
		return nil, err
	}
	if in.Amount < 0 {
		return nil, apperr.Input("input.amount", "a spend cannot be negative")
	}
	if ok, err := client.Project.Query().Where(project.ID(in.ProjectID)).Exist(ctx); err != nil {
		return nil, err
	} else if !ok {
		return nil, &apperr.Error{Code: apperr.NotFound, Field: "input.projectId", Message: "no such project"}
	}
	first, last := p.Days()
	ch := channelspend.Channel(in.Channel)
	old, err := client.ChannelSpend.Query().Where(channelspend.ProjectID(in.ProjectID), channelspend.ChannelEQ(ch),
		channelspend.FromDay(first), channelspend.ToDay(last)).Only(ctx)
	var by *pulid.ID
	if v.UserID != "" {
		by = &v.UserID
	}
	switch {
	case ent.IsNotFound(err):
		s, err := client.ChannelSpend.Create().SetProjectID(in.ProjectID).SetChannel(ch).SetFromDay(first).SetToDay(last).
			SetAmount(in.Amount).SetNillableEnteredByID(by).SetCreatedAt(now).SetUpdatedAt(now).Save(ctx)
		if err != nil {
			return nil, err
		}
		return spendOf(s), nil
	case err != nil:
		return nil, err
	}
	s, err := old.Update().SetAmount(in.Amount).SetNillableEnteredByID(by).SetUpdatedAt(now).Save(ctx)
	if err != nil {
		return nil, err
	}
	return spendOf(s), nil
}

// Spends lists the channel spend of the viewer's scope (managers and
// admins), overlapping period when one is given.
func Spends(ctx context.Context, client *ent.Client, projectID *pulid.ID, period *PeriodInput, zone *time.Location) ([]*Spend, error) {
	scope, err := Authorize(ctx, projectID, false)
	if err != nil {
		return nil, err
	}
	sp := &Spec{Scope: scope}
	q := client.ChannelSpend.Query().Where(func(s *sql.Selector) { sp.Scoped(s, Events{Project: channelspend.FieldProjectID}) })
	if period != nil {
		p, err := ParsePeriod(*period, zone)
		if err != nil {
			return nil, err
		}
		first, last := p.Days()
		q.Where(channelspend.FromDayLTE(last), channelspend.ToDayGTE(first))
	}
	rows, err := q.Order(ent.Asc(channelspend.FieldProjectID), ent.Asc(channelspend.FieldChannel), ent.Asc(channelspend.FieldFromDay)).
		Limit(1000).All(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*Spend, len(rows))
	for i, r := range rows {
		out[i] = spendOf(r)
	}
	return out, nil
}
