package money

import "testing"

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
