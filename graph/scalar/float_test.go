package scalar

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"testing"

	"github.com/99designs/gqlgen/graphql"
)

// MarshalFloat writes what gqlgen's Float wrote, and no number JSON cannot
// hold.
func TestMarshalFloatWritesWhatGqlgenWrote(t *testing.T) {
	for _, f := range []float64{0, 1, -2.5, 89.12, 1e21, 1.5e-7, 123456789.125, math.MaxFloat64, math.SmallestNonzeroFloat64, -0.0001} {
		var got, want bytes.Buffer
		MarshalFloat(f).MarshalGQL(&got)
		if err := graphql.MarshalFloatContext(f).MarshalGQLContext(context.Background(), &want); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("%v: wrote %s, gqlgen %s", f, got.String(), want.String())
		}
	}
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if m := MarshalFloat(f); m != graphql.Null {
			t.Errorf("%v: %#v, want graphql.Null", f, m)
		}
	}
}

func TestUnmarshalFloatRefusesWhatJSONCannotHold(t *testing.T) {
	for _, v := range []any{"NaN", "Inf", "-Infinity", "+Inf"} {
		if f, err := UnmarshalFloat(v); err == nil {
			t.Errorf("%q read as %v", v, f)
		}
	}
	for v, want := range map[any]float64{json.Number("89.5"): 89.5, int64(3): 3, "1e3": 1000, 2.25: 2.25} {
		if f, err := UnmarshalFloat(v); err != nil || f != want {
			t.Errorf("%v: %v, %v; want %v", v, f, err, want)
		}
	}
	if _, err := UnmarshalFloat(true); err == nil {
		t.Error("a boolean read as a number")
	}
}
