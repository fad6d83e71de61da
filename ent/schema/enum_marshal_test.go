package schema_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"estatecrm/ent/unit"
	"estatecrm/ent/visit"
)

// An enum is answered as its quoted name (ent/template/enum.tmpl), without
// an allocation into a buffer with room; a value that is no GraphQL name
// (none of ours, but the column could hold one) is still valid JSON.
func TestEnumsMarshalAsQuotedNames(t *testing.T) {
	for _, tc := range []struct {
		write func(*bytes.Buffer)
		want  string
	}{
		{func(w *bytes.Buffer) { visit.KindPHONE_CALL.MarshalGQL(w) }, `"PHONE_CALL"`},
		{func(w *bytes.Buffer) { unit.StatusAVAILABLE.MarshalGQL(w) }, `"AVAILABLE"`},
		{func(w *bytes.Buffer) { visit.Kind(`a"b\c`).MarshalGQL(w) }, `"a\"b\\c"`},
	} {
		var w bytes.Buffer
		tc.write(&w)
		if w.String() != tc.want || !json.Valid(w.Bytes()) {
			t.Errorf("wrote %s, want %s", w.String(), tc.want)
		}
	}
	var w bytes.Buffer
	w.Grow(64)
	if n := testing.AllocsPerRun(100, func() { w.Reset(); visit.KindREVISIT.MarshalGQL(&w) }); n != 0 {
		t.Errorf("marshalling a kind allocated %v times, want none", n)
	}
}
