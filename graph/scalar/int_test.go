package scalar

import (
	"bytes"
	"math"
	"testing"

	"github.com/99designs/gqlgen/graphql"
)

// MarshalInt and MarshalInt64 write what gqlgen's did, and a small Int
// costs no allocation.
func TestMarshalIntWritesWhatGqlgenWrote(t *testing.T) {
	for _, i := range []int64{0, 7, 99, 100, 255, 256, -1, -300, 123456789, math.MaxInt64, math.MinInt64} {
		var got, got64, want bytes.Buffer
		MarshalInt(int(i)).MarshalGQL(&got)
		MarshalInt64(i).MarshalGQL(&got64)
		graphql.MarshalInt64(i).MarshalGQL(&want)
		if got.String() != want.String() || got64.String() != want.String() {
			t.Errorf("%d: wrote %s and %s, gqlgen %s", i, got.String(), got64.String(), want.String())
		}
	}
	var w bytes.Buffer
	w.Grow(64)
	if n := testing.AllocsPerRun(100, func() { w.Reset(); MarshalInt(12).MarshalGQL(&w) }); n != 0 {
		t.Errorf("marshalling 12 allocated %v times, want none", n)
	}
}
