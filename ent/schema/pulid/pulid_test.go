package pulid

import (
	"bytes"
	"strconv"
	"testing"
)

// An ID is written as strconv.Quote writes it (the ones that need escaping
// too), and a plain one into a bytes.Buffer (gqlgen's) without allocating.
func TestMarshalGQL(t *testing.T) {
	for _, id := range []ID{"", "PJ01JD0Z4M7Q4X8K6J9V3T2R1N0", MustNew("UN"), `a"b`, `a\b`, "tab\there", "é", "\x7f"} {
		var buf bytes.Buffer
		id.MarshalGQL(&buf)
		if want := strconv.Quote(string(id)); buf.String() != want {
			t.Errorf("%q marshals as %s, want %s", string(id), buf.String(), want)
		}
	}
	var buf bytes.Buffer
	buf.Grow(64)
	id := ID("PJ01JD0Z4M7Q4X8K6J9V3T2R1N0")
	if n := testing.AllocsPerRun(100, func() { buf.Reset(); id.MarshalGQL(&buf) }); n != 0 {
		t.Errorf("%v allocations per ID written into a bytes.Buffer", n)
	}
}
