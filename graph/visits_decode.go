package graph

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"estatecrm/ent"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/visit"
	"estatecrm/graph/jsonread"
)

// decodeVisits reads the folded visits column, the JSON array of visits
// that the statement makes, each visit an array of the values of cols in
// order ([["PHONE_CALL", "2026-11-30T01:48:41+00:00"], …]), without
// encoding/json's reflection (a tenth of the server's CPU on a phone's
// customer search went to it). It reads only what it knows: the columns of
// visitColumns, with their JSON types; anything else (an unknown column, a
// value of another type, a visit of another length) reports plain false,
// and the caller decodes the column with decodeVisitsJSON.
//
// The visits are made in one slice, and their pointers in another, each of
// the size an upper bound gives (the visits start with '[', and a bracket
// in a string only adds to the count): one allocation each instead of one
// per visit and a slice grown by appends.
func decodeVisits(raw []byte, cols []string) (visits []*ent.Visit, plain bool) {
	d := &jsonread.Reader{B: raw}
	if !d.Next('[') {
		return nil, false
	}
	if d.Next(']') {
		return []*ent.Visit{}, d.End()
	}
	vals := make([]ent.Visit, 0, min(bytes.Count(raw, []byte{'['})-1, maxFoldedVisits))
	for {
		vals = append(vals, ent.Visit{})
		v := &vals[len(vals)-1] // written before the next append moves it
		if !d.Next('[') {
			return nil, false
		}
		for i, col := range cols {
			if i > 0 && !d.Next(',') {
				return nil, false
			}
			if !visitField(d, v, col) {
				return nil, false
			}
		}
		if !d.Next(']') {
			return nil, false
		}
		if d.Next(',') {
			continue
		}
		if d.Next(']') {
			visits = make([]*ent.Visit, len(vals))
			for i := range vals {
				visits[i] = &vals[i]
			}
			return visits, d.End()
		}
		return nil, false
	}
}

// decodeVisitsJSON reads the folded visits column as decodeVisits does, with
// encoding/json: each visit's values become the object of its columns, read
// as a Visit (whose JSON names are the column names).
func decodeVisitsJSON(raw []byte, cols []string) ([]*ent.Visit, error) {
	var rows [][]json.RawMessage
	if err := json.Unmarshal(raw, &rows); err != nil {
		return nil, err
	}
	visits := make([]*ent.Visit, len(rows))
	for i, row := range rows {
		if len(row) != len(cols) {
			return nil, fmt.Errorf("a visit of %d values for %d columns", len(row), len(cols))
		}
		obj := make(map[string]json.RawMessage, len(cols))
		for j, col := range cols {
			obj[col] = row[j]
		}
		b, err := json.Marshal(obj)
		if err != nil {
			return nil, err
		}
		visits[i] = &ent.Visit{}
		if err := json.Unmarshal(b, visits[i]); err != nil {
			return nil, err
		}
	}
	return visits, nil
}

// visitField reads the value of column key into v.
func visitField(d *jsonread.Reader, v *ent.Visit, key string) bool {
	switch key {
	case visit.FieldID, visit.FieldCustomerID, visit.FieldAgentID, visit.FieldProjectID:
		s, ok := d.String()
		id := pulid.ID(s)
		switch key {
		case visit.FieldID:
			v.ID = id
		case visit.FieldCustomerID:
			v.CustomerID = id
		case visit.FieldAgentID:
			v.AgentID = id
		default:
			v.ProjectID = id
		}
		return ok
	case visit.FieldCreatedAt, visit.FieldUpdatedAt, visit.FieldOccurredAt:
		t, ok := readTime(d)
		switch key {
		case visit.FieldCreatedAt:
			v.CreatedAt = t
		case visit.FieldUpdatedAt:
			v.UpdatedAt = t
		default:
			v.OccurredAt = t
		}
		return ok
	case visit.FieldNextFollowUpAt:
		if d.Null() {
			return true
		}
		t, ok := readTime(d)
		v.NextFollowUpAt = &t
		return ok
	case visit.FieldKind:
		b, ok := d.Raw()
		v.Kind = kindOf(b)
		return ok
	case visit.FieldGradeAfter:
		if d.Null() {
			return true
		}
		s, ok := d.String()
		g := visit.GradeAfter(s)
		v.GradeAfter = &g
		return ok
	case visit.FieldDurationMinutes:
		if d.Null() {
			return true
		}
		n, ok := d.Int()
		v.DurationMinutes = &n
		return ok
	case visit.FieldNotes:
		s, ok := d.String()
		v.Notes = s
		return ok
	case visit.FieldNextFollowUpAction:
		s, ok := d.String()
		v.NextFollowUpAction = s
		return ok
	}
	return false
}

// kinds are the kinds of visit, whose names kindOf returns without making
// a string of each visit's.
var kinds = []visit.Kind{visit.KindFIRST_VISIT, visit.KindREVISIT, visit.KindPHONE_CALL,
	visit.KindMESSAGE, visit.KindHOME_VISIT, visit.KindONLINE}

// kindOf returns the visit.Kind named b (one kinds misses, as it is: a
// kind added to the schema and not here costs an allocation, nothing else).
func kindOf(b []byte) visit.Kind {
	for _, k := range kinds {
		if string(b) == string(k) {
			return k
		}
	}
	return visit.Kind(b)
}

// readTime reads a timestamp as time.Time's UnmarshalJSON does.
func readTime(d *jsonread.Reader) (time.Time, bool) {
	b, ok := d.Raw()
	if !ok {
		return time.Time{}, false
	}
	if t, ok := readPGTime(b); ok {
		return t, true
	}
	var t time.Time
	err := t.UnmarshalText(b) // RFC 3339, read from the bytes
	return t, err == nil
}

// readPGTime reads a time as PostgreSQL writes one in JSON
// (2026-11-30T01:48:41.123456+00:00, or with Z) into the same time.Time
// as UnmarshalText: UnmarshalText took a third of the time spent decoding
// a lookup's visits. ok is false for anything else (another layout, a day
// past the 28th, which time.Date would carry into the next month where
// UnmarshalText refuses it), left to UnmarshalText.
func readPGTime(b []byte) (time.Time, bool) {
	num := func(i, n int) (int, bool) {
		v := 0
		for _, c := range b[i : i+n] {
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	if len(b) < 20 || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' {
		return time.Time{}, false
	}
	year, ok1 := num(0, 4)
	month, ok2 := num(5, 2)
	day, ok3 := num(8, 2)
	hour, ok4 := num(11, 2)
	minute, ok5 := num(14, 2)
	sec, ok6 := num(17, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 || day > daysIn(month, year) || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	rest, nsec := b[19:], 0
	if rest[0] == '.' {
		i := 1
		for ; i < len(rest) && rest[i] >= '0' && rest[i] <= '9'; i++ {
			if i <= 9 {
				nsec = nsec*10 + int(rest[i]-'0')
			}
		}
		if i == 1 || i > 10 {
			return time.Time{}, false
		}
		for range 10 - i {
			nsec *= 10
		}
		rest = rest[i:]
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	switch {
	case len(rest) == 1 && rest[0] == 'Z':
		return t, true
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		zh, okh := num(len(b)-5, 2)
		zm, okm := num(len(b)-2, 2)
		if !okh || !okm || zh > 23 || zm > 59 {
			return time.Time{}, false
		}
		offset := (zh*60 + zm) * 60
		if rest[0] == '-' {
			offset = -offset
		}
		t = t.Add(-time.Duration(offset) * time.Second)
		// As time.Parse: the local zone where its offset is the time's.
		if _, local := t.In(time.Local).Zone(); local == offset {
			return t.In(time.Local), true
		}
		return t.In(time.FixedZone("", offset)), true
	}
	return time.Time{}, false
}

// daysIn is the number of days of month in year.
func daysIn(month, year int) int {
	if month == 2 && year%4 == 0 && (year%100 != 0 || year%400 == 0) {
		return 29
	}
	return [...]int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[month-1]
}
