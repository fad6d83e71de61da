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
	var t time.Time
	err := t.UnmarshalText(b) // RFC 3339, read from the bytes
	return t, err == nil
}
