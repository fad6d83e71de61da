package jsonread

import (
	"encoding/json"
	"testing"
)

// Number reads exactly what JSON calls a number, as encoding/json writes
// it into a json.Number, and nothing of what it does not.
func TestNumberReadsJSONNumbers(t *testing.T) {
	for _, s := range []string{"0", "-0", "12", "-12.50", "1e5", "1E+5", "2.5e-3", "12345678901234567890"} {
		d := Reader{B: []byte(s)}
		var n json.Number
		if err := json.Unmarshal([]byte(s), &n); err != nil {
			t.Fatal(err)
		}
		if got := d.Number(); got != n.String() || !d.End() {
			t.Errorf("%s: read %q", s, got)
		}
	}
	for _, s := range []string{"", "-", "01", "1.", ".5", "+1", "1e", "1e+", "-a", "x"} {
		d := Reader{B: []byte(s)}
		if got := d.Number(); got != "" && d.End() {
			t.Errorf("%q read whole as %q", s, got)
		}
	}
}

// Skip finds the end of an object or array, whatever brackets its strings
// hold, and reads nothing.
func TestSkipPassesStringsByAndReadsNothing(t *testing.T) {
	for s, end := range map[string]int{
		`{}`: 2, ` [1, [2]] x`: 9, `{"a": "}]\"{"} ,`: 14, `{"a": [{"b": "\\"}]}`: 20,
	} {
		d := Reader{B: []byte(s)}
		got, ok := d.Skip()
		if !ok || got != end || d.I != 0 {
			t.Errorf("%q: %d, %v, at %d; want %d", s, got, ok, d.I, end)
		}
	}
	for _, s := range []string{`{`, `{"a": "}`, `}`, `[1}`[:2]} {
		d := Reader{B: []byte(s)}
		if _, ok := d.Skip(); ok {
			t.Errorf("%q: skipped", s)
		}
	}
}

// Raw gives a string's bytes, unquotes escapes as encoding/json does, and
// leaves bytes that are not UTF-8, control characters and other tokens
// unread.
func TestRawReadsStringsAsEncodingJSON(t *testing.T) {
	for _, s := range []string{`""`, `"看房"`, `"a \"b\" \\ \u00e9 \ud83d\ude00 \/"`} {
		var want string
		if err := json.Unmarshal([]byte(s), &want); err != nil {
			t.Fatal(err)
		}
		d := Reader{B: []byte(s)}
		if got, ok := d.String(); !ok || got != want || !d.End() {
			t.Errorf("%s: read %q, %v", s, got, ok)
		}
	}
	for _, s := range []string{"\"\xff\"", "\"a\x01\"", `"open`, `5`, `null`, `"\x"`} {
		d := Reader{B: []byte(s)}
		if _, ok := d.Raw(); ok || d.I != 0 {
			t.Errorf("%q: read, now at %d", s, d.I)
		}
	}
}
