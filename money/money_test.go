package money

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
)

func TestParseAndFormat(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Fen
		out  string
	}{
		{"0", 0, "0.00"},
		{"12", 1200, "12.00"},
		{"12.3", 1230, "12.30"},
		{"1234567.89", 123456789, "1234567.89"},
		{"-0.05", -5, "-0.05"},
	} {
		got, err := Parse(tc.in)
		if err != nil || got != tc.want {
			t.Fatalf("Parse(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
		if got.String() != tc.out {
			t.Fatalf("%d.String() = %q; want %q", got, got.String(), tc.out)
		}
	}
	for _, bad := range []string{"", ".5", "1.", "1.234", "1e3", "abc", "1,000", "--1", "99999999999999999999",
		" 100", "100 ", "\t100", "100\n", "- 1", "+1", "１００"} {
		if _, err := Parse(bad); err == nil {
			t.Fatalf("Parse(%q) accepted a malformed amount", bad)
		}
	}
}

func TestUnmarshalRefusesNumbers(t *testing.T) {
	var f Fen
	if err := f.UnmarshalGQL(12.5); err == nil {
		t.Fatal("a float was accepted as money")
	}
	if err := f.UnmarshalGQL("12.50"); err != nil || f != 1250 {
		t.Fatalf("got %d, %v", f, err)
	}
}

// The amount is written as fmt would print it, into any writer, and into a
// bytes.Buffer (gqlgen's) without allocating.
func TestMarshalGQL(t *testing.T) {
	for _, f := range []Fen{0, 1, 9, 10, 99, 100, 105, 123456789, -1, -5, -99, -100, -123456789, math.MaxInt64, math.MinInt64 + 1} {
		sign, v := "", int64(f)
		if v < 0 {
			sign, v = "-", -v
		}
		want := fmt.Sprintf("%s%d.%02d", sign, v/100, v%100)
		if f.String() != want {
			t.Errorf("%d.String() = %q, want %q", int64(f), f.String(), want)
		}
		var buf bytes.Buffer
		f.MarshalGQL(&buf)
		var w strings.Builder
		f.MarshalGQL(&w)
		if buf.String() != strconv.Quote(want) || w.String() != buf.String() {
			t.Errorf("%d marshals as %s and %s, want %q", int64(f), buf.String(), w.String(), want)
		}
	}
	if got := Fen(math.MinInt64).String(); got != "-92233720368547758.08" {
		t.Errorf("the smallest Fen is %q", got)
	}
	var buf bytes.Buffer
	buf.Grow(64)
	if n := testing.AllocsPerRun(100, func() { buf.Reset(); Fen(-123456789).MarshalGQL(&buf) }); n != 0 {
		t.Errorf("%v allocations per amount written into a bytes.Buffer", n)
	}
}
