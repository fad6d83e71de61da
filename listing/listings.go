package listing

import (
	"context"
	stdsql "database/sql"
	"fmt"
	"strconv"
	"time"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"

	"estatecrm/apperr"
	"estatecrm/clock"
	"estatecrm/ent"
	"estatecrm/ent/building"
	"estatecrm/ent/predicate"
	"estatecrm/ent/project"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/unit"
	"estatecrm/media"
	"estatecrm/money"
	"estatecrm/rule"
)

// StandardStatus is a listing's status in the words of the RESO Data
// Dictionary's StandardStatus, beside the unit's own.
type StandardStatus string

// The standard statuses.
const (
	Active    StandardStatus = "ACTIVE"    // available (a lapsed hold included)
	Pending   StandardStatus = "PENDING"   // held (a reservation pending approval included) or reserved
	Closed    StandardStatus = "CLOSED"    // contracted or delivered
	Withdrawn StandardStatus = "WITHDRAWN" // off sale; never listed (a withdrawn unit leaves the portals)
)

// Standard is the standard status of a unit status.
func Standard(s unit.Status) StandardStatus {
	switch s {
	case unit.StatusAVAILABLE:
		return Active
	case unit.StatusHELD, unit.StatusRESERVED:
		return Pending
	case unit.StatusCONTRACTED, unit.StatusDELIVERED:
		return Closed
	}
	return Withdrawn
}

// statusesOf are the unit statuses of a standard status.
func statusesOf(s StandardStatus) []unit.Status {
	switch s {
	case Active:
		return []unit.Status{unit.StatusAVAILABLE}
	case Pending:
		return []unit.Status{unit.StatusHELD, unit.StatusRESERVED}
	case Closed:
		return []unit.Status{unit.StatusCONTRACTED, unit.StatusDELIVERED}
	}
	return []unit.Status{unit.StatusWITHDRAWN}
}

// Listing is a published unit of a published project as a portal shows
// it: public fields only, no person, no holder, no sales rule.
type Listing struct {
	ID             pulid.ID
	Project        Project
	Building       Building
	Floor          int
	Number         string
	Bedrooms       int
	LivingRooms    int
	Bathrooms      int
	GrossArea      float64
	NetArea        float64
	Orientation    unit.Orientation
	Decoration     unit.Decoration
	ListPrice      money.Fen
	Status         unit.Status
	StandardStatus StandardStatus
	ModifiedAt     time.Time
	// Media are the published photos and floor plans of the listing's
	// project, building and layout (media.OfUnits), read only when the
	// request asks for them (Request.Media).
	Media []*ent.Media
}

// Project is a listing's project.
type Project struct {
	ID        pulid.ID
	Name      string
	City      string
	District  string
	Address   string
	Latitude  *float64
	Longitude *float64
	Status    project.Status
}

// Building is a listing's building.
type Building struct {
	ID   pulid.ID
	Name string
}

// Filter narrows listings; empty fields do not.
type Filter struct {
	IDs            []pulid.ID
	City           *string
	District       *string
	ProjectIDs     []pulid.ID
	PriceMin       *money.Fen
	PriceMax       *money.Fen
	Bedrooms       []int
	AreaMin        *float64
	AreaMax        *float64
	Orientation    []unit.Orientation
	Decoration     []unit.Decoration
	Status         []unit.Status
	StandardStatus []StandardStatus
}

// OrderField is what listings are ordered by.
type OrderField string

// The orders.
const (
	OrderID       OrderField = "ID"
	OrderPrice    OrderField = "LIST_PRICE"
	OrderArea     OrderField = "GROSS_AREA"
	OrderModified OrderField = "MODIFIED_AT"
)

// Order is an order of listings; the id breaks ties.
type Order struct {
	Field OrderField
	Desc  bool
}

// Page is a page of listings.
type Page struct {
	Listings []*Listing
	Cursors  []ent.Cursor
	HasNext  bool
	// Total is the number of listings the filter matches, counted only
	// when asked for (-1 otherwise).
	Total int
}

// Request is one read of listings.
type Request struct {
	Filter Filter
	Order  Order
	First  *int
	After  *ent.Cursor
	// Count asks for the total (one more statement).
	Count bool
	// Media asks for the listings' media: one more statement for the
	// whole page (media.OfUnits), whatever its size.
	Media bool
}

// List reads a page of listings in one statement (one more with the
// total, one more with the media), whatever the page size: units joined to their project and building,
// reading only the listed columns, through the units' privacy rules
// (rule.UnitsVisibleTo: a portal the published units, of its key's
// projects if it is limited; staff their projects), and only units on the
// portals (rule.PublishedUnit), for staff as for portals. A lapsed hold
// reads, and filters, as available (rule.StatusReads).
func List(ctx context.Context, client *ent.Client, r Request) (*Page, error) {
	if err := mayRead(ctx); err != nil {
		return nil, err
	}
	first := 20
	if r.First != nil {
		first = *r.First
	}
	if first < 0 || first > MaxPage {
		return nil, apperr.Input("first", "between 0 and %d", MaxPage)
	}
	if len(r.Filter.IDs) > MaxPage {
		return nil, apperr.Input("where.ids", "at most %d ids", MaxPage)
	}
	now := clock.Now(ctx)
	preds, err := r.Filter.predicates(now)
	if err != nil {
		return nil, err
	}
	if r.Order.Field == "" {
		r.Order.Field = OrderID
	}
	page := &Page{Total: -1}
	if r.Count {
		n, err := client.Unit.Query().Where(preds...).Count(ctx)
		if err != nil {
			return nil, err
		}
		page.Total = n
	}
	pg := client.Dialect() == dialect.Postgres
	var rows []row
	q := client.Unit.Query().Where(preds...)
	err = q.Modify(func(s *sql.Selector) {
		p := sql.Table(project.Table).As("lp")
		b := sql.Table(building.Table).As("lb")
		s.Join(p).On(s.C(unit.FieldProjectID), p.C(project.FieldID)).
			Join(b).On(s.C(unit.FieldBuildingID), b.C(building.FieldID))
		modified := "MAX"
		if pg {
			modified = "GREATEST"
		}
		modifiedExpr := fmt.Sprintf("%s(%s, %s, %s)", modified, s.C(unit.FieldUpdatedAt), p.C(project.FieldUpdatedAt), b.C(building.FieldUpdatedAt))
		s.Select()
		for _, c := range []string{unit.FieldID, unit.FieldProjectID, unit.FieldBuildingID, unit.FieldFloor, unit.FieldNumber,
			unit.FieldBedrooms, unit.FieldLivingRooms, unit.FieldBathrooms, unit.FieldGrossArea, unit.FieldNetArea,
			unit.FieldOrientation, unit.FieldDecoration, unit.FieldListPrice, unit.FieldStatus, unit.FieldHoldExpiresAt} {
			s.AppendSelectAs(s.C(c), c)
		}
		s.AppendSelectAs(p.C(project.FieldName), "p_name")
		s.AppendSelectAs(p.C(project.FieldCity), "p_city")
		s.AppendSelectAs(p.C(project.FieldDistrict), "p_district")
		s.AppendSelectAs(p.C(project.FieldAddress), "p_address")
		s.AppendSelectAs(p.C(project.FieldLatitude), "p_latitude")
		s.AppendSelectAs(p.C(project.FieldLongitude), "p_longitude")
		s.AppendSelectAs(p.C(project.FieldStatus), "p_status")
		s.AppendSelectAs(b.C(building.FieldName), "b_name")
		s.AppendSelectExprAs(sql.Raw(modifiedExpr), "modified")

		var key string
		switch r.Order.Field {
		case OrderPrice:
			key = s.C(unit.FieldListPrice)
		case OrderArea:
			key = s.C(unit.FieldGrossArea)
		case OrderModified:
			key = modifiedExpr
		}
		dir := func(c string) string {
			if r.Order.Desc {
				return sql.Desc(c)
			}
			return sql.Asc(c)
		}
		if key != "" {
			s.OrderExpr(sql.Expr(dir(key)))
		}
		s.OrderBy(dir(s.C(unit.FieldID)))
		s.Limit(first + 1)
		if r.After == nil {
			return
		}
		op := ">"
		if r.Order.Desc {
			op = "<"
		}
		id := string(r.After.ID)
		if key == "" {
			s.Where(sql.P(func(bld *sql.Builder) { bld.Ident(s.C(unit.FieldID)).WriteString(" " + op + " ").Arg(id) }))
			return
		}
		v, _ := r.After.Value.(string)
		val, _ := cursorValue(r.Order.Field, v) // checked before the query
		s.Where(sql.P(func(bld *sql.Builder) {
			bld.WriteString("(").WriteString(key).WriteString(" " + op + " ").Arg(val).
				WriteString(" OR (").WriteString(key).WriteString(" = ").Arg(val).
				WriteString(" AND ").Ident(s.C(unit.FieldID)).WriteString(" " + op + " ").Arg(id).WriteString("))")
		}))
	}).Scan(ctx, &rows)
	if err != nil {
		return nil, err
	}
	if len(rows) > first {
		page.HasNext, rows = true, rows[:first]
	}
	page.Listings = make([]*Listing, len(rows))
	page.Cursors = make([]ent.Cursor, len(rows))
	for i, rw := range rows {
		l, err := rw.listing(now)
		if err != nil {
			return nil, err
		}
		page.Listings[i] = l
		c := ent.Cursor{ID: l.ID}
		switch r.Order.Field {
		case OrderPrice:
			c.Value = strconv.FormatInt(int64(l.ListPrice), 10)
		case OrderArea:
			c.Value = strconv.FormatFloat(l.GrossArea, 'g', -1, 64)
		case OrderModified:
			c.Value = l.ModifiedAt.Format(time.RFC3339Nano)
		}
		page.Cursors[i] = c
	}
	if r.Media && len(page.Listings) > 0 {
		if err := withMedia(ctx, client, page.Listings); err != nil {
			return nil, err
		}
	}
	return page, nil
}

// withMedia reads the media of a page of listings in one statement
// (media.OfUnits: published projects' only, whoever asks, and through the
// viewer's rules) and gives each listing its own.
func withMedia(ctx context.Context, client *ent.Client, ls []*Listing) error {
	units := make([]*ent.Unit, len(ls))
	for i, l := range ls {
		units[i] = &ent.Unit{ID: l.ID, ProjectID: l.Project.ID, BuildingID: l.Building.ID,
			Bedrooms: l.Bedrooms, LivingRooms: l.LivingRooms, Bathrooms: l.Bathrooms}
	}
	of, err := media.OfUnits(ctx, client, units)
	if err != nil {
		return err
	}
	for _, l := range ls {
		l.Media = of[l.ID]
		if l.Media == nil {
			l.Media = []*ent.Media{}
		}
	}
	return nil
}

// CheckCursor refuses a cursor that is not one of listings in order f.
func CheckCursor(c *ent.Cursor, f OrderField) error {
	if c == nil {
		return nil
	}
	if !ent.IDOfType(c.ID, unit.Table) {
		return apperr.Input("after", "not a cursor of listings")
	}
	if f == "" || f == OrderID {
		return nil
	}
	v, ok := c.Value.(string)
	if _, err := cursorValue(f, v); !ok || err != nil {
		return apperr.Input("after", "not a cursor of listings in this order")
	}
	return nil
}

// cursorValue decodes the order value of a cursor.
func cursorValue(f OrderField, v string) (any, error) {
	switch f {
	case OrderPrice:
		return strconv.ParseInt(v, 10, 64)
	case OrderArea:
		return strconv.ParseFloat(v, 64)
	case OrderModified:
		t, err := time.Parse(time.RFC3339Nano, v)
		return t.UTC(), err
	}
	return nil, nil
}

// predicates are the filter's conditions, beside the privacy rules'.
func (f Filter) predicates(now time.Time) ([]predicate.Unit, error) {
	ps := []predicate.Unit{rule.PublishedUnit()}
	if len(f.IDs) > 0 {
		ps = append(ps, unit.IDIn(f.IDs...))
	}
	if f.City != nil || f.District != nil {
		var pp []predicate.Project
		if f.City != nil {
			pp = append(pp, project.City(*f.City))
		}
		if f.District != nil {
			pp = append(pp, project.District(*f.District))
		}
		// The project is one the viewer sees: the unit's rule says so.
		ps = append(ps, unit.HasProjectWith(pp...))
	}
	if len(f.ProjectIDs) > 0 {
		ps = append(ps, unit.ProjectIDIn(f.ProjectIDs...))
	}
	if f.PriceMin != nil {
		ps = append(ps, unit.ListPriceGTE(*f.PriceMin))
	}
	if f.PriceMax != nil {
		ps = append(ps, unit.ListPriceLTE(*f.PriceMax))
	}
	if f.PriceMin != nil && f.PriceMax != nil && *f.PriceMin > *f.PriceMax {
		return nil, apperr.Input("where.priceMax", "below priceMin")
	}
	if len(f.Bedrooms) > 0 {
		ps = append(ps, unit.BedroomsIn(f.Bedrooms...))
	}
	if f.AreaMin != nil {
		ps = append(ps, unit.GrossAreaGTE(*f.AreaMin))
	}
	if f.AreaMax != nil {
		ps = append(ps, unit.GrossAreaLTE(*f.AreaMax))
	}
	if len(f.Orientation) > 0 {
		ps = append(ps, unit.OrientationIn(f.Orientation...))
	}
	if len(f.Decoration) > 0 {
		ps = append(ps, unit.DecorationIn(f.Decoration...))
	}
	if len(f.Status) > 0 {
		ps = append(ps, rule.StatusReadsIn(f.Status, now))
	}
	if len(f.StandardStatus) > 0 {
		var ss []unit.Status
		for _, s := range f.StandardStatus {
			ss = append(ss, statusesOf(s)...)
		}
		ps = append(ps, rule.StatusReadsIn(ss, now))
	}
	return ps, nil
}

// row is what List reads of a listing.
type row struct {
	ID            pulid.ID           `sql:"id"`
	ProjectID     pulid.ID           `sql:"project_id"`
	BuildingID    pulid.ID           `sql:"building_id"`
	Floor         int                `sql:"floor"`
	Number        string             `sql:"number"`
	Bedrooms      int                `sql:"bedrooms"`
	LivingRooms   int                `sql:"living_rooms"`
	Bathrooms     int                `sql:"bathrooms"`
	GrossArea     float64            `sql:"gross_area"`
	NetArea       float64            `sql:"net_area"`
	Orientation   string             `sql:"orientation"`
	Decoration    string             `sql:"decoration"`
	ListPrice     int64              `sql:"list_price"`
	Status        string             `sql:"status"`
	HoldExpiresAt stdsql.NullTime    `sql:"hold_expires_at"`
	Name          string             `sql:"p_name"`
	City          string             `sql:"p_city"`
	District      string             `sql:"p_district"`
	Address       string             `sql:"p_address"`
	Latitude      stdsql.NullFloat64 `sql:"p_latitude"`
	Longitude     stdsql.NullFloat64 `sql:"p_longitude"`
	ProjectStatus string             `sql:"p_status"`
	BuildingName  string             `sql:"b_name"`
	Modified      any                `sql:"modified"`
}

// listing turns a row into a listing, its status as read at now.
func (r row) listing(now time.Time) (*Listing, error) {
	mod, err := parseTime(r.Modified)
	if err != nil {
		return nil, err
	}
	st := unit.Status(r.Status)
	if st == unit.StatusHELD && r.HoldExpiresAt.Valid && !now.Before(r.HoldExpiresAt.Time) {
		st = unit.StatusAVAILABLE // a lapsed hold (rule.HoldLapsed)
	}
	l := &Listing{ID: r.ID, Floor: r.Floor, Number: r.Number, Bedrooms: r.Bedrooms, LivingRooms: r.LivingRooms,
		Bathrooms: r.Bathrooms, GrossArea: r.GrossArea, NetArea: r.NetArea, Orientation: unit.Orientation(r.Orientation),
		Decoration: unit.Decoration(r.Decoration), ListPrice: money.Fen(r.ListPrice), Status: st, StandardStatus: Standard(st),
		ModifiedAt: mod,
		Project: Project{ID: r.ProjectID, Name: r.Name, City: r.City, District: r.District, Address: r.Address,
			Status: project.Status(r.ProjectStatus)},
		Building: Building{ID: r.BuildingID, Name: r.BuildingName}}
	if r.Latitude.Valid {
		l.Project.Latitude = &r.Latitude.Float64
	}
	if r.Longitude.Valid {
		l.Project.Longitude = &r.Longitude.Float64
	}
	return l, nil
}

// parseTime reads the latest of three times, which SQLite hands back as
// text (an expression has no declared type) and PostgreSQL as a time
// (a time).
func parseTime(v any) (time.Time, error) {
	var s string
	switch v := v.(type) {
	case time.Time:
		return v.UTC(), nil
	case []byte:
		s = string(v)
	case string:
		s = v
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999 -0700 MST", "2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999Z07:00",
		"2006-01-02 15:04:05.999999999-07", "2006-01-02T15:04:05.999999999Z"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("listing: unreadable time %q", s)
}
