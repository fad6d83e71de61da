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
	// Fields are the Listing fields asked for, by GraphQL name, those of
	// its project and building as "project.name", "building.name"; nil
	// asks for all. The statement reads only their columns (and what the
	// order, its cursors and the media need), and joins the project and
	// the building only when a field of theirs is asked.
	Fields map[string]bool
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
	rows, err := read(ctx, client, r, preds, first)
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

// row is what List reads of a listing; the columns not read stay zero.
type row struct {
	ID, ProjectID, BuildingID                pulid.ID
	Floor, Bedrooms, LivingRooms, Bathrooms  int
	Number, Orientation, Decoration, Status  string
	GrossArea, NetArea                       float64
	ListPrice                                int64
	HoldExpiresAt                            stdsql.NullTime
	Name, City, District, Address, ProjectSt string
	Latitude, Longitude                      stdsql.NullFloat64
	BuildingName                             string
	Modified                                 any
}

// column is a column List may read: its expression's table (u the unit,
// p its project, b its building, m all three), its column or expression,
// the Listing fields that need it, and where it is scanned.
type column struct {
	table  byte
	name   string
	fields []string
	dest   func(*row) any
}

// columns are what List may read. The unit's keys are always read (the
// listing's, its project's and its building's ids).
var columns = []column{
	{'u', unit.FieldID, nil, func(r *row) any { return &r.ID }},
	{'u', unit.FieldProjectID, nil, func(r *row) any { return &r.ProjectID }},
	{'u', unit.FieldBuildingID, nil, func(r *row) any { return &r.BuildingID }},
	{'u', unit.FieldFloor, []string{"floor"}, func(r *row) any { return &r.Floor }},
	{'u', unit.FieldNumber, []string{"number"}, func(r *row) any { return &r.Number }},
	{'u', unit.FieldBedrooms, []string{"bedrooms", "media"}, func(r *row) any { return &r.Bedrooms }},
	{'u', unit.FieldLivingRooms, []string{"livingRooms", "media"}, func(r *row) any { return &r.LivingRooms }},
	{'u', unit.FieldBathrooms, []string{"bathrooms", "media"}, func(r *row) any { return &r.Bathrooms }},
	{'u', unit.FieldGrossArea, []string{"grossArea", string(OrderArea)}, func(r *row) any { return &r.GrossArea }},
	{'u', unit.FieldNetArea, []string{"netArea"}, func(r *row) any { return &r.NetArea }},
	{'u', unit.FieldOrientation, []string{"orientation"}, func(r *row) any { return &r.Orientation }},
	{'u', unit.FieldDecoration, []string{"decoration"}, func(r *row) any { return &r.Decoration }},
	{'u', unit.FieldListPrice, []string{"listPrice", string(OrderPrice)}, func(r *row) any { return &r.ListPrice }},
	{'u', unit.FieldStatus, []string{"status", "standardStatus"}, func(r *row) any { return &r.Status }},
	{'u', unit.FieldHoldExpiresAt, []string{"status", "standardStatus"}, func(r *row) any { return &r.HoldExpiresAt }},
	{'p', project.FieldName, []string{"project.name"}, func(r *row) any { return &r.Name }},
	{'p', project.FieldCity, []string{"project.city"}, func(r *row) any { return &r.City }},
	{'p', project.FieldDistrict, []string{"project.district"}, func(r *row) any { return &r.District }},
	{'p', project.FieldAddress, []string{"project.address"}, func(r *row) any { return &r.Address }},
	{'p', project.FieldLatitude, []string{"project.latitude"}, func(r *row) any { return &r.Latitude }},
	{'p', project.FieldLongitude, []string{"project.longitude"}, func(r *row) any { return &r.Longitude }},
	{'p', project.FieldStatus, []string{"project.status"}, func(r *row) any { return &r.ProjectSt }},
	{'b', building.FieldName, []string{"building.name"}, func(r *row) any { return &r.BuildingName }},
	{'m', "", []string{"modifiedAt", string(OrderModified)}, func(r *row) any { return &r.Modified }},
}

// read runs the page's statement: the units the viewer may see that match
// preds, with the columns r asks for, first+1 of them after r.After in
// r.Order. The statement is ent's own unit query (SQLSelector: the privacy
// policy applied) marked rule.StoredReadsAgree: its conditions read status
// only through rule.StatusReads and its order is on no column a lapse
// changes, and listing() reads a lapsed hold as available; so the table
// as stored gives the same rows. A page of available units only is read
// as two ordered halves (rule.AvailableInOrder). Rows are scanned into
// their fields directly, without ent's reflective scan of every column.
func read(ctx context.Context, client *ent.Client, r Request, preds []predicate.Unit, first int) ([]row, error) {
	s, err := client.Unit.Query().Where(preds...).Where(rule.StoredReadsAgree()).SQLSelector(ctx)
	if err != nil {
		return nil, err
	}
	want := func(c column) bool {
		if c.fields == nil || r.Fields == nil {
			return true
		}
		for _, f := range c.fields {
			if r.Fields[f] || string(r.Order.Field) == f || (f == "media" && r.Media) {
				return true
			}
		}
		return false
	}
	var read []column
	joins := map[byte]bool{}
	for _, c := range columns {
		if want(c) {
			read = append(read, c)
			if c.table == 'm' {
				joins['p'], joins['b'] = true, true
			}
			joins[c.table] = true
		}
	}
	d := sql.Dialect(client.Dialect())
	p := d.Table(project.Table).As("lp")
	b := d.Table(building.Table).As("lb")
	modified := "MAX"
	if client.Dialect() == dialect.Postgres {
		modified = "GREATEST"
	}
	modifiedExpr := fmt.Sprintf("%s(%s, %s, %s)", modified, s.C(unit.FieldUpdatedAt), p.C(project.FieldUpdatedAt), b.C(building.FieldUpdatedAt))
	var key string
	switch r.Order.Field {
	case OrderPrice:
		key = s.C(unit.FieldListPrice)
	case OrderArea:
		key = s.C(unit.FieldGrossArea)
	case OrderModified:
		key = modifiedExpr
	}
	// The halves of AvailableInOrder are the statement without its joins,
	// which an order by modification time needs.
	split := r.Filter.availableOnly() && key != modifiedExpr
	join := func() {
		if joins['p'] {
			s.Join(p).On(s.C(unit.FieldProjectID), p.C(project.FieldID))
		}
		if joins['b'] {
			s.Join(b).On(s.C(unit.FieldBuildingID), b.C(building.FieldID))
		}
	}
	if !split {
		join()
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
	if r.After != nil {
		op := ">"
		if r.Order.Desc {
			op = "<"
		}
		id := string(r.After.ID)
		if key == "" {
			s.Where(sql.P(func(bld *sql.Builder) { bld.Ident(s.C(unit.FieldID)).WriteString(" " + op + " ").Arg(id) }))
		} else {
			v, _ := r.After.Value.(string)
			val, _ := cursorValue(r.Order.Field, v) // checked before the query
			s.Where(sql.P(func(bld *sql.Builder) {
				bld.WriteString("(").WriteString(key).WriteString(" " + op + " ").Arg(val).
					WriteString(" OR (").WriteString(key).WriteString(" = ").Arg(val).
					WriteString(" AND ").Ident(s.C(unit.FieldID)).WriteString(" " + op + " ").Arg(id).WriteString("))")
			}))
		}
	}
	if split {
		rule.AvailableInOrder()(s)
		join()
	}
	s.Select()
	for _, c := range read {
		switch c.table {
		case 'u':
			s.AppendSelect(s.C(c.name))
		case 'p':
			s.AppendSelect(p.C(c.name))
		case 'b':
			s.AppendSelect(b.C(c.name))
		case 'm':
			s.AppendSelectExpr(sql.Raw(modifiedExpr))
		}
	}
	query, args := s.Query()
	// Errors found while rendering (a privacy filter that could not be
	// built) are recorded on the selector, not returned by Query.
	if err := s.Err(); err != nil {
		return nil, err
	}
	rs, err := client.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []row
	dest := make([]any, len(read))
	for rs.Next() {
		out = append(out, row{})
		rw := &out[len(out)-1]
		for i, c := range read {
			dest[i] = c.dest(rw)
		}
		if err := rs.Scan(dest...); err != nil {
			return nil, err
		}
	}
	return out, rs.Err()
}

// availableOnly reports whether the filter keeps only units that read as
// available: its statuses, or its standard statuses, are AVAILABLE alone.
func (f Filter) availableOnly() bool {
	only := func(ss []unit.Status) bool {
		for _, s := range ss {
			if s != unit.StatusAVAILABLE {
				return false
			}
		}
		return len(ss) > 0
	}
	var std []unit.Status
	for _, s := range f.StandardStatus {
		std = append(std, statusesOf(s)...)
	}
	return only(f.Status) || only(std)
}

// listing turns a row into a listing, its status as read at now.
func (r row) listing(now time.Time) (*Listing, error) {
	var mod time.Time
	if r.Modified != nil {
		var err error
		if mod, err = parseTime(r.Modified); err != nil {
			return nil, err
		}
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
			Status: project.Status(r.ProjectSt)},
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
