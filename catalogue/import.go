package catalogue

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"

	"estatecrm/apperr"
	"estatecrm/ent"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/unit"
	"estatecrm/money"
	"estatecrm/rule"
)

// UnitImport is the input of ImportUnits: a CSV file of units of a project,
// one unit a row after a header row naming the columns (see Columns).
type UnitImport struct {
	ProjectID pulid.ID
	File      *graphql.Upload
	// DryRun checks every row and imports nothing.
	DryRun *bool
}

// ImportReport says what ImportUnits found and did.
type ImportReport struct {
	DryRun bool
	// Rows is how many data rows the file has.
	Rows int
	// Imported is how many units were created: every row, or none when a
	// row is bad or on a dry run.
	Imported int
	// Errors lists every bad row by line and column (at most
	// MaxReportedErrors, the last one saying how many more there were).
	Errors []*RowError
}

// RowError is what is wrong with one cell (or one line) of an import.
type RowError struct {
	// Line is the file's line, the header being line 1.
	Line int
	// Column is the header's name of the column at fault; nil for the
	// whole line.
	Column  *string
	Message string
}

// Limits of an import.
const (
	MaxImportRows     = 10_000
	MaxReportedErrors = 1_000
)

// Columns are the columns of an import, by the names the header may give
// them (case and spaces ignored; Chinese names as a sales-control sheet
// has them). decoration may be left out (BARE).
var Columns = map[string][]string{
	"building":    {"building", "楼栋"},
	"floor":       {"floor", "楼层"},
	"number":      {"number", "房号"},
	"bedrooms":    {"bedrooms", "室"},
	"livingRooms": {"living_rooms", "livingrooms", "厅"},
	"bathrooms":   {"bathrooms", "卫"},
	"grossArea":   {"gross_area", "grossarea", "建筑面积"},
	"netArea":     {"net_area", "netarea", "套内面积"},
	"orientation": {"orientation", "朝向"},
	"decoration":  {"decoration", "装修"},
	"listPrice":   {"list_price", "listprice", "总价"},
}

var optionalColumns = map[string]bool{"decoration": true}

// Orientation and decoration as a sheet writes them in Chinese.
var (
	orientationNames = map[string]unit.Orientation{
		"南": unit.OrientationSOUTH, "北": unit.OrientationNORTH, "东": unit.OrientationEAST, "西": unit.OrientationWEST,
		"东南": unit.OrientationSOUTHEAST, "西南": unit.OrientationSOUTHWEST, "东北": unit.OrientationNORTHEAST,
		"西北": unit.OrientationNORTHWEST, "南北": unit.OrientationNORTH_SOUTH, "东西": unit.OrientationEAST_WEST,
	}
	decorationNames = map[string]unit.Decoration{"毛坯": unit.DecorationBARE, "精装": unit.DecorationFURNISHED}
)

// ImportUnits enters a project's units from a CSV file (an admin's, or the
// project's manager's act). Every row is checked (the building by name in
// the project, the floor within it, the number new in it and in the file,
// the layout, areas and price) and every bad one reported by line and
// column; if any row is bad, or on a dry run, nothing is imported. The rows
// are written in the caller's transaction: all of them or none.
//
// A dry run also makes the writes, and undoes them before returning
// (a savepoint inside the request's transaction), so that it refuses
// whoever may not import exactly as the import would.
func ImportUnits(ctx context.Context, client *ent.Client, in UnitImport) (*ImportReport, error) {
	p, err := client.Project.Get(ctx, in.ProjectID)
	if err != nil {
		return nil, err
	}
	if in.File == nil || in.File.File == nil {
		return nil, apperr.Input("input.file", "send the CSV file")
	}
	buildings, err := buildingsOf(ctx, client, p.ID)
	if err != nil {
		return nil, err
	}
	ids := make([]pulid.ID, 0, len(buildings))
	read := make([]*ent.Building, 0, len(buildings))
	for _, b := range buildings {
		ids = append(ids, b.ID)
		read = append(read, b)
	}
	ctx = rule.WithBuildingsRead(ctx, read...)
	taken, err := takenNumbers(ctx, client, ids)
	if err != nil {
		return nil, err
	}
	rep := &ImportReport{DryRun: in.DryRun != nil && *in.DryRun}
	units, err := parseUnits(in.File.File, buildings, taken, rep)
	if err != nil {
		return nil, err
	}
	if len(rep.Errors) > 0 {
		return rep, nil
	}
	if rep.DryRun {
		err = undone(ctx, client, func(c *ent.Client) error {
			_, err := AddUnits(ctx, c, p.ID, units)
			return err
		})
		return rep, err
	}
	if _, err := AddUnits(ctx, client, p.ID, units); err != nil {
		return nil, err
	}
	rep.Imported = len(units)
	return rep, nil
}

// parseUnits reads the file into units, adding every problem to rep.
func parseUnits(r io.Reader, buildings map[string]*ent.Building, taken map[numberKey]bool, rep *ImportReport) ([]NewUnit, error) {
	br := bufio.NewReader(r)
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte("\xef\xbb\xbf")) { // Excel's UTF-8 mark
		_, _ = br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	fail := func(line int, column, format string, args ...any) {
		switch n := len(rep.Errors); {
		case n < MaxReportedErrors:
			e := &RowError{Line: line, Message: fmt.Sprintf(format, args...)}
			if column != "" {
				e.Column = &column
			}
			rep.Errors = append(rep.Errors, e)
		case n == MaxReportedErrors:
			rep.Errors = append(rep.Errors, &RowError{Line: line, Message: "more errors follow; fix these first"})
		}
	}
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			fail(1, "", "the file is empty: it needs a header row and a row per unit")
		} else {
			fail(1, "", "not a CSV file: %s", csvReason(err))
		}
		return nil, nil
	}
	// where[k] is the index of column k; names[k] how the header wrote it.
	where, names := map[string]int{}, map[string]string{}
	for i, h := range header {
		h = strings.TrimSpace(h)
		key := columnKey(h)
		_, dup := names[key]
		switch {
		case key == "":
			fail(1, h, "unknown column %q", h)
		case dup:
			fail(1, h, "the column %s is given twice", h)
		default:
			where[key], names[key] = i, h
		}
	}
	for key := range Columns {
		if _, ok := names[key]; !ok && !optionalColumns[key] {
			fail(1, Columns[key][0], "the column %s is missing", Columns[key][0])
		}
	}
	if len(rep.Errors) > 0 {
		return nil, nil
	}
	var units []NewUnit
	seen := map[numberKey]int{} // the line of each number in the file
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) { // the upload itself could not be read
				return nil, apperr.Input("input.file", "the file could not be read")
			}
			rep.Rows++
			fail(pe.StartLine, "", "unreadable: %s", csvReason(err))
			continue
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		rep.Rows++
		if rep.Rows > MaxImportRows {
			return nil, apperr.Input("input.file", "at most %d units in one file", MaxImportRows)
		}
		if len(rec) != len(header) {
			fail(line, "", "%d fields where the header has %d", len(rec), len(header))
			continue
		}
		cell := func(key string) string {
			i, ok := where[key]
			if !ok {
				return ""
			}
			return strings.TrimSpace(rec[i])
		}
		bad := false
		col := func(key, format string, args ...any) {
			bad = true
			fail(line, names[key], format, args...)
		}
		u := NewUnit{Decoration: unit.DecorationBARE}
		for _, key := range []string{"building", "floor", "number", "bedrooms", "livingRooms", "bathrooms",
			"grossArea", "netArea", "orientation", "decoration", "listPrice"} {
			v := cell(key)
			if !utf8.ValidString(v) {
				col(key, "not UTF-8 text: save the file as CSV UTF-8")
				continue
			}
			if v == "" && !optionalColumns[key] {
				col(key, "is empty")
				continue
			}
			switch key {
			case "building":
				b, ok := buildings[v]
				if !ok {
					col(key, "no building %q in this project", v)
					continue
				}
				u.BuildingID = b.ID
			case "floor", "bedrooms", "livingRooms", "bathrooms":
				n, err := strconv.Atoi(v)
				if err != nil {
					col(key, "%q is not a whole number", v)
					continue
				}
				*map[string]*int{"floor": &u.Floor, "bedrooms": &u.Bedrooms, "livingRooms": &u.LivingRooms, "bathrooms": &u.Bathrooms}[key] = n
			case "number":
				u.Number = v
			case "grossArea", "netArea":
				f, err := strconv.ParseFloat(v, 64)
				if err != nil || f != f {
					col(key, "%q is not a number of m²", v)
					continue
				}
				*map[string]*float64{"grossArea": &u.GrossArea, "netArea": &u.NetArea}[key] = f
			case "orientation":
				o, ok := orientationNames[v]
				if !ok {
					o = unit.Orientation(strings.ToUpper(v))
				}
				if unit.OrientationValidator(o) != nil {
					col(key, "%q is no orientation: SOUTH, NORTH_SOUTH… or 南, 南北…", v)
					continue
				}
				u.Orientation = o
			case "decoration":
				if v == "" {
					continue
				}
				d, ok := decorationNames[v]
				if !ok {
					d = unit.Decoration(strings.ToUpper(v))
				}
				if unit.DecorationValidator(d) != nil {
					col(key, "%q is no decoration: BARE, FURNISHED, 毛坯 or 精装", v)
					continue
				}
				u.Decoration = d
			case "listPrice":
				p, err := money.Parse(v)
				if err != nil {
					col(key, "%q is not an amount of yuan like 3250000.00", v)
					continue
				}
				u.ListPrice = p
			}
		}
		if bad {
			continue
		}
		if key, msg := checkUnit(&u); key != "" {
			col(key, "%s", msg)
			continue
		}
		b := buildingByID(buildings, u.BuildingID)
		if u.Floor > b.Floors {
			col("floor", "building %s has %d floors", b.Name, b.Floors)
			continue
		}
		k := numberKey{u.BuildingID, u.Number}
		if taken[k] {
			col("number", "unit %s already exists in building %s", u.Number, b.Name)
			continue
		}
		if first, dup := seen[k]; dup {
			col("number", "unit %s of building %s is also on line %d", u.Number, b.Name, first)
			continue
		}
		seen[k] = line
		units = append(units, u)
	}
	if rep.Rows == 0 && len(rep.Errors) == 0 {
		fail(2, "", "no units: the file has a header row only")
	}
	return units, nil
}

// columnKey is the column a header names, or "".
func columnKey(h string) string {
	h = strings.ToLower(strings.ReplaceAll(h, " ", ""))
	for key, names := range Columns {
		for _, n := range names {
			if h == n {
				return key
			}
		}
	}
	return ""
}

func buildingByID(bs map[string]*ent.Building, id pulid.ID) *ent.Building {
	for _, b := range bs {
		if b.ID == id {
			return b
		}
	}
	return nil
}

// csvReason is encoding/csv's reason without its position (the report
// gives the line).
func csvReason(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return "the file could not be read"
}

// undone runs fn on a client whose writes are undone afterwards: inside
// the caller's transaction, up to a savepoint; otherwise in a transaction
// of its own that is rolled back.
func undone(ctx context.Context, client *ent.Client, fn func(*ent.Client) error) error {
	tx, err := client.Tx(ctx)
	switch {
	case err == nil:
		defer func() { _ = tx.Rollback() }()
		return fn(tx.Client())
	case !errors.Is(err, ent.ErrTxStarted):
		return err
	}
	if _, err := client.ExecContext(ctx, "SAVEPOINT catalogue_dry_run"); err != nil {
		return err
	}
	ferr := fn(client)
	if _, err := client.ExecContext(ctx, "ROLLBACK TO SAVEPOINT catalogue_dry_run"); err != nil {
		return errors.Join(ferr, err)
	}
	if _, err := client.ExecContext(ctx, "RELEASE SAVEPOINT catalogue_dry_run"); err != nil {
		return errors.Join(ferr, err)
	}
	return ferr
}
