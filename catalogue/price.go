package catalogue

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"entgo.io/contrib/entgql"
	"entgo.io/ent/dialect/sql"

	"estatecrm/apperr"
	"estatecrm/audit"
	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/building"
	"estatecrm/ent/pricechange"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/unit"
	"estatecrm/money"
)

// PriceAuditAction is the audit action of a change of a unit's list price.
const PriceAuditAction = "unit.price.change"

// Limits of one price change.
const (
	// PriceMaxUnits is the most units one call reprices, so that a call
	// stays one short transaction and its statements within the drivers'
	// parameter limits.
	PriceMaxUnits = 1000
	// PriceMaxReason is the longest reason, in characters.
	PriceMaxReason = 500
	// PriceMinChangeBp and PriceMaxChangeBp bound a percentage adjustment
	// (in basis points: 250 = +2.5%).
	PriceMinChangeBp = -5000
	PriceMaxChangeBp = 10000
)

// PriceUnit is one unit's new list price.
type PriceUnit struct {
	UnitID    pulid.ID
	ListPrice money.Fen
}

// PriceAdjustment changes the list price of a building's units on a range
// of floors by a percentage, e.g. +2.5% on floors 10–20.
type PriceAdjustment struct {
	BuildingID         pulid.ID
	FloorFrom, FloorTo int
	// ChangeBp is the change in basis points: 250 = +2.5%, -300 = −3%.
	ChangeBp int
	// OnlyUnsold skips the units of the range that are reserved or later
	// (and withdrawn ones) instead of refusing the whole change.
	OnlyUnsold bool
}

// PriceInput is the input of SetUnitPrices: either Prices or Adjust, and
// a reason.
type PriceInput struct {
	Prices []PriceUnit
	Adjust *PriceAdjustment
	Reason string
}

// PriceResult is what SetUnitPrices changed: the units repriced (with their
// new price) and one price change each. A unit whose price would not change
// is left alone and not listed.
type PriceResult struct {
	Units   []*ent.Unit
	Changes []*ent.PriceChange
}

// PriceAdjusted is old changed by bp basis points, rounded to the whole
// yuan, halves up: list prices are quoted in whole yuan, and the rounding
// is the same on every server and every run.
func PriceAdjusted(old money.Fen, bp int) money.Fen {
	n := int64(old) * int64(10000+bp) // fen × 10⁴
	return money.Fen((n + 500_000) / 1_000_000 * 100)
}

// priceable reports whether a unit's list price may change: while nobody
// has reserved it. A held unit is still on sale; the price of its deal is
// taken from the list price when it is reserved.
func priceable(s unit.Status) bool {
	return s == unit.StatusAVAILABLE || s == unit.StatusHELD
}

// SetUnitPrices changes list prices (调价), all or nothing: every unit named
// or in the range must be available or held, or nothing changes and the
// error (CONFLICT) names the first that is not. Each change is kept as a
// price change (Unit.priceHistory) and audited. Who may do it is the
// privacy rules': a manager in their projects, an admin.
func SetUnitPrices(ctx context.Context, client *ent.Client, in PriceInput, now time.Time) (*PriceResult, error) {
	reason := strings.TrimSpace(in.Reason)
	switch {
	case reason == "":
		return nil, apperr.Input("input.reason", "say why the prices change")
	case utf8.RuneCountInString(reason) > PriceMaxReason:
		return nil, apperr.Input("input.reason", "at most %d characters", PriceMaxReason)
	case (len(in.Prices) > 0) == (in.Adjust != nil):
		return nil, apperr.Input("input", "give either prices or adjust")
	}
	var (
		units  []*ent.Unit
		prices = map[pulid.ID]money.Fen{}
		fields = map[pulid.ID]string{} // the input field that named each unit
		err    error
	)
	if in.Adjust != nil {
		units, err = priceRange(ctx, client, *in.Adjust)
		if err != nil {
			return nil, err
		}
		for _, u := range units {
			if prices[u.ID] = PriceAdjusted(u.ListPrice, in.Adjust.ChangeBp); prices[u.ID] <= 0 {
				return nil, apperr.Input("input.adjust.changeBp", "unit %s would cost nothing", u.Number)
			}
			fields[u.ID] = "input.adjust"
		}
	} else {
		if units, err = priceList(ctx, client, in.Prices, fields); err != nil {
			return nil, err
		}
		for _, p := range in.Prices {
			prices[p.UnitID] = p.ListPrice
		}
	}
	for _, u := range units {
		if !priceable(u.Status) {
			e := apperr.New(apperr.Conflict, "unit %s (%s) is %s: only an available or held unit is repriced", u.Number, u.ID, u.Status)
			e.Field = fields[u.ID]
			return nil, e
		}
	}

	v := auth.FromContext(ctx)
	var by *pulid.ID
	if v != nil && v.UserID != "" {
		by = &v.UserID
	}
	res := &PriceResult{}
	var (
		rows   []*ent.PriceChangeCreate
		events []audit.Event
		ids    []pulid.ID
		olds   []money.Fen
		news   []money.Fen
	)
	for _, u := range units {
		old, price := u.ListPrice, prices[u.ID]
		if price == old {
			continue
		}
		ids, olds, news = append(ids, u.ID), append(olds, old), append(news, price)
		u.ListPrice, u.UpdatedAt = price, now
		res.Units = append(res.Units, u)
		rows = append(rows, client.PriceChange.Create().
			SetUnitID(u.ID).SetProjectID(u.ProjectID).SetOldPrice(old).SetNewPrice(price).
			SetNillableChangedByID(by).SetReason(reason).SetChangedAt(now))
		events = append(events, audit.Event{Action: PriceAuditAction, ObjectID: u.ID, ProjectID: u.ProjectID,
			Detail: fmt.Sprintf("list price %s → %s", old, price)})
	}
	if len(ids) == 0 {
		return res, nil
	}
	// One statement for every unit, each set to its own price; conditional
	// on what was read, so that a unit reserved or repriced since is not
	// repriced from a stale state (and each history's old price is the one
	// replaced): then fewer rows change, and nothing does. The mutation
	// carries a list price (the first) so that the privacy rules see a
	// repricing; the statement sets each unit's own.
	n, err := client.Unit.Update().
		Where(unit.IDIn(ids...), unit.StatusIn(unit.StatusAVAILABLE, unit.StatusHELD), priceIs(ids, olds)).
		SetListPrice(news[0]).SetUpdatedAt(now).
		Modify(func(u *sql.UpdateBuilder) {
			u.Set(unit.FieldListPrice, sql.ExprFunc(func(b *sql.Builder) { priceCase(b, unit.FieldID, ids, news) }))
		}).
		Save(ctx)
	if err != nil {
		return nil, err
	}
	if n != len(ids) {
		return nil, apperr.New(apperr.Conflict, "some of the units were reserved or repriced meanwhile; try again")
	}
	for len(rows) > 0 {
		chunk := rows[:min(len(rows), 500)]
		rows = rows[len(chunk):]
		created, err := client.PriceChange.CreateBulk(chunk...).Save(ctx)
		if err != nil {
			return nil, err
		}
		res.Changes = append(res.Changes, created...)
	}
	if err := audit.Record(ctx, client, events...); err != nil {
		return nil, err
	}
	return res, nil
}

// priceIs is true of a unit whose list price is the one of olds at its id's
// place in ids.
func priceIs(ids []pulid.ID, olds []money.Fen) func(*sql.Selector) {
	return func(s *sql.Selector) {
		s.Where(sql.P(func(b *sql.Builder) {
			b.Ident(s.C(unit.FieldListPrice)).WriteString(" = ")
			priceCase(b, s.C(unit.FieldID), ids, olds)
		}))
	}
}

// priceCase writes CASE id WHEN ids[0] THEN prices[0] … END. The prices
// are integers the server computed, written as literals so that both
// databases type the CASE as the column's integer.
func priceCase(b *sql.Builder, id string, ids []pulid.ID, prices []money.Fen) {
	b.WriteString("CASE ").Ident(id)
	for i := range ids {
		b.WriteString(" WHEN ").Arg(string(ids[i])).WriteString(" THEN ").WriteString(strconv.FormatInt(int64(prices[i]), 10))
	}
	b.WriteString(" END")
}

// priceList reads the units of a list of prices, refusing bad entries.
func priceList(ctx context.Context, client *ent.Client, prices []PriceUnit, fields map[pulid.ID]string) ([]*ent.Unit, error) {
	if len(prices) > PriceMaxUnits {
		return nil, apperr.Input("input.prices", "at most %d units at once", PriceMaxUnits)
	}
	ids := make([]pulid.ID, len(prices))
	for i, p := range prices {
		field := fmt.Sprintf("input.prices[%d]", i)
		switch {
		case !ent.IDOfType(p.UnitID, unit.Table):
			return nil, apperr.Input(field+".unitId", "not the ID of a unit")
		case fields[p.UnitID] != "":
			return nil, apperr.Input(field+".unitId", "the unit is named twice")
		case p.ListPrice <= 0:
			return nil, apperr.Input(field+".listPrice", "a list price is more than zero")
		}
		fields[p.UnitID] = field + ".unitId"
		ids[i] = p.UnitID
	}
	return unitsInOrder(ctx, client, ids, func(i int) string { return fields[ids[i]] })
}

// unitsInOrder reads the units of ids, in one statement, in the order
// given: a unit the viewer may not see (or that does not exist) is
// NOT_FOUND on the field fieldOf(its index) names.
func unitsInOrder(ctx context.Context, client *ent.Client, ids []pulid.ID, fieldOf func(int) string) ([]*ent.Unit, error) {
	units, err := client.Unit.Query().Where(unit.IDIn(ids...)).All(ctx)
	if err != nil {
		return nil, err
	}
	byID := make(map[pulid.ID]*ent.Unit, len(units))
	for _, u := range units {
		byID[u.ID] = u
	}
	out := make([]*ent.Unit, len(ids))
	for i, id := range ids {
		if out[i] = byID[id]; out[i] == nil {
			e := apperr.New(apperr.NotFound, "no such unit")
			e.Field = fieldOf(i)
			return nil, e
		}
	}
	return out, nil
}

// priceRange reads the units of an adjustment, refusing a bad one.
func priceRange(ctx context.Context, client *ent.Client, a PriceAdjustment) ([]*ent.Unit, error) {
	switch {
	case !ent.IDOfType(a.BuildingID, building.Table):
		return nil, apperr.Input("input.adjust.buildingId", "not the ID of a building")
	case a.FloorFrom < 1:
		return nil, apperr.Input("input.adjust.floorFrom", "floors start at 1")
	case a.FloorTo < a.FloorFrom:
		return nil, apperr.Input("input.adjust.floorTo", "below floorFrom")
	case a.ChangeBp == 0:
		return nil, apperr.Input("input.adjust.changeBp", "a change of 0 changes nothing")
	case a.ChangeBp < PriceMinChangeBp || a.ChangeBp > PriceMaxChangeBp:
		return nil, apperr.Input("input.adjust.changeBp", "between %d and %d basis points", PriceMinChangeBp, PriceMaxChangeBp)
	}
	if _, err := client.Building.Get(ctx, a.BuildingID); err != nil {
		if ent.IsNotFound(err) {
			e := apperr.New(apperr.NotFound, "no such building")
			e.Field = "input.adjust.buildingId"
			return nil, e
		}
		return nil, err
	}
	q := client.Unit.Query().
		Where(unit.BuildingID(a.BuildingID), unit.FloorGTE(a.FloorFrom), unit.FloorLTE(a.FloorTo), unit.StatusNEQ(unit.StatusWITHDRAWN))
	if a.OnlyUnsold {
		q.Where(unit.StatusIn(unit.StatusAVAILABLE, unit.StatusHELD))
	}
	units, err := q.Order(ent.Desc(unit.FieldFloor), ent.Asc(unit.FieldNumber)).Limit(PriceMaxUnits + 1).All(ctx)
	switch {
	case err != nil:
		return nil, err
	case len(units) == 0:
		return nil, apperr.Input("input.adjust", "no unit on sale on floors %d–%d of the building", a.FloorFrom, a.FloorTo)
	case len(units) > PriceMaxUnits:
		return nil, apperr.Input("input.adjust", "more than %d units: adjust a smaller range", PriceMaxUnits)
	}
	return units, nil
}

// PriceHistory is a page of a unit's price changes, newest first, of those
// the viewer may read (rule.PriceChangesVisibleTo).
func PriceHistory(ctx context.Context, client *ent.Client, u *ent.Unit, after *entgql.Cursor[pulid.ID], first *int, before *entgql.Cursor[pulid.ID], last *int) (*ent.PriceChangeConnection, error) {
	return client.PriceChange.Query().Where(pricechange.UnitID(u.ID)).
		Paginate(ctx, after, first, before, last, ent.WithPriceChangeOrder(&ent.PriceChangeOrder{
			Direction: entgql.OrderDirectionDesc, Field: ent.PriceChangeOrderFieldChangedAt,
		}))
}
