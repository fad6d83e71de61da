package graph

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"estatecrm/ent"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/visit"
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
	d := scanner{b: raw}
	if !d.next('[') {
		return nil, false
	}
	if d.next(']') {
		return []*ent.Visit{}, d.end()
	}
	vals := make([]ent.Visit, 0, min(bytes.Count(raw, []byte{'['})-1, maxFoldedVisits))
	for {
		vals = append(vals, ent.Visit{})
		v := &vals[len(vals)-1] // written before the next append moves it
		if !d.next('[') {
			return nil, false
		}
		for i, col := range cols {
			if i > 0 && !d.next(',') {
				return nil, false
			}
			if !d.visitField(v, col) {
				return nil, false
			}
		}
		if !d.next(']') {
			return nil, false
		}
		if d.next(',') {
			continue
		}
		if d.next(']') {
			visits = make([]*ent.Visit, len(vals))
			for i := range vals {
				visits[i] = &vals[i]
			}
			return visits, d.end()
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
func (d *scanner) visitField(v *ent.Visit, key string) bool {
	switch key {
	case visit.FieldID, visit.FieldCustomerID, visit.FieldAgentID, visit.FieldProjectID:
		s, ok := d.str()
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
		t, ok := d.time()
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
		if d.null() {
			return true
		}
		t, ok := d.time()
		v.NextFollowUpAt = &t
		return ok
	case visit.FieldKind:
		b, ok := d.raw()
		v.Kind = kindOf(b)
		return ok
	case visit.FieldGradeAfter:
		if d.null() {
			return true
		}
		s, ok := d.str()
		g := visit.GradeAfter(s)
		v.GradeAfter = &g
		return ok
	case visit.FieldDurationMinutes:
		if d.null() {
			return true
		}
		n, ok := d.int()
		v.DurationMinutes = &n
		return ok
	case visit.FieldNotes:
		s, ok := d.str()
		v.Notes = s
		return ok
	case visit.FieldNextFollowUpAction:
		s, ok := d.str()
		v.NextFollowUpAction = s
		return ok
	}
	return false
}

// scanner reads JSON tokens from b at i.
type scanner struct {
	b []byte
	i int
}

func (d *scanner) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// next consumes c if it is the next token.
func (d *scanner) next(c byte) bool {
	d.space()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// end reports whether nothing but space is left.
func (d *scanner) end() bool {
	d.space()
	return d.i == len(d.b)
}

func (d *scanner) null() bool {
	d.space()
	if len(d.b)-d.i >= 4 && string(d.b[d.i:d.i+4]) == "null" {
		d.i += 4
		return true
	}
	return false
}

// str reads a string (raw).
func (d *scanner) str() (string, bool) {
	b, ok := d.raw()
	return string(b), ok
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

// raw reads a string and returns its bytes: those of b when it has no
// escapes; one with escapes is unquoted by encoding/json, so that every
// escape reads as it would there.
func (d *scanner) raw() ([]byte, bool) {
	d.space()
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return nil, false
	}
	start, escaped := d.i, false
	for j := start + 1; j < len(d.b); j++ {
		switch c := d.b[j]; {
		case c == '\\':
			escaped = true
			j++
		case c < 0x20:
			return nil, false
		case c == '"':
			d.i = j + 1
			if !escaped {
				return d.b[start+1 : j], true
			}
			var s string
			err := json.Unmarshal(d.b[start:j+1], &s)
			return []byte(s), err == nil
		}
	}
	return nil, false
}

// time reads a timestamp as time.Time's UnmarshalJSON does.
func (d *scanner) time() (time.Time, bool) {
	b, ok := d.raw()
	if !ok {
		return time.Time{}, false
	}
	var t time.Time
	err := t.UnmarshalText(b) // RFC 3339, read from the bytes
	return t, err == nil
}

// int reads an integer (no fraction, no exponent).
func (d *scanner) int() (int, bool) {
	d.space()
	j := d.i
	if j < len(d.b) && d.b[j] == '-' {
		j++
	}
	for j < len(d.b) && d.b[j] >= '0' && d.b[j] <= '9' {
		j++
	}
	n, err := strconv.Atoi(string(d.b[d.i:j]))
	if err != nil {
		return 0, false
	}
	d.i = j
	return n, true
}
