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

// ChannelMixOf computes the channel mix of sp (its grouping is the
// channel's): three statements, customers, contracts with their value, and
// the spend prorated to the period, each grouped by channel in SQL.
func ChannelMixOf(ctx context.Context, client *ent.Client, sp *Spec) (*ChannelMix, error) {
	ch := sp.Grouped(ByChannel)
	var customers, contracts, spend []Count
	if err := client.Customer.Query().Order(ch.Counting(customerEvents)).Select(customer.FieldID).Scan(ctx, &customers); err != nil {
		return nil, err
	}
	if err := client.Deal.Query().Order(ch.Summing(dealEvents(deal.FieldContractedAt), deal.FieldPrice)).Select(deal.FieldID).Scan(ctx, &contracts); err != nil {
		return nil, err
	}
	if err := client.ChannelSpend.Query().Modify(sp.spendByChannel).Scan(ctx, &spend); err != nil {
		return nil, err
	}
	rows := map[string]*ChannelMixRow{}
	total := &ChannelMixRow{}
	for _, c := range channels {
		rows[string(c)] = &ChannelMixRow{Channel: &c}
	}
	for _, r := range customers {
		if row := rows[r.G]; row != nil {
			row.Customers += int(r.N)
			total.Customers += int(r.N)
		}
	}
	for _, r := range contracts {
		if row := rows[r.G]; row != nil {
			row.Contracts += int(r.N)
			row.ContractValue += money.Fen(r.S)
			total.Contracts += int(r.N)
			total.ContractValue += money.Fen(r.S)
		}
	}
	for _, r := range spend {
		if row := rows[r.G]; row != nil && r.N > 0 {
			s := money.Fen(r.S)
			row.Spend = &s
			if total.Spend == nil {
				total.Spend = new(money.Fen)
			}
			*total.Spend += s
		}
	}
	out := &ChannelMix{From: sp.Period.From, To: sp.Period.To, Total: total}
	for _, c := range channels {
		row := rows[string(c)]
		row.rates()
		out.Channels = append(out.Channels, row)
	}
	total.rates()
	return out, nil
}

func (r *ChannelMixRow) rates() {
	r.Conversion = Rate(r.Contracts, r.Customers)
	if r.Spend != nil && r.Contracts > 0 {
		c := *r.Spend / money.Fen(r.Contracts)
		r.CostPerContract = &c
	}
}

// spendByChannel turns a read of channel spend into the spend of the
// period by channel: each spend overlapping it counts amount × (days in
// the period) / (its days), in integer fen (rounded down), summed.
func (sp *Spec) spendByChannel(s *sql.Selector) {
	first, last := sp.Period.Days()
	f, l := strconv.Itoa(first), strconv.Itoa(last)
	from, to, amount := s.C(channelspend.FieldFromDay), s.C(channelspend.FieldToDay), s.C(channelspend.FieldAmount)
	sp.Scoped(s, Events{Project: channelspend.FieldProjectID})
	s.Where(sql.And(sql.LTE(from, last), sql.GTE(to, first)))
	days := "((CASE WHEN " + to + " < " + l + " THEN " + to + " ELSE " + l + " END) - (CASE WHEN " + from + " > " + f + " THEN " + from + " ELSE " + f + " END) + 1)"
	s.Select().AppendSelectExprAs(sql.Raw(s.C(channelspend.FieldChannel)), "g").
		AppendSelectExprAs(sql.Raw("COUNT(*)"), "n").
		AppendSelectExprAs(sql.Raw("COALESCE(SUM("+amount+" * "+days+" / ("+to+" - "+from+" + 1)), 0)"), "s").
		GroupBy(s.C(channelspend.FieldChannel))
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
