package scalar

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"
)

// MarshalTime writes the quoted RFC 3339 text in UTC, into a buffer or any
// writer, and into a buffer with room without an allocation.
func TestMarshalTimeWritesQuotedRFC3339(t *testing.T) {
	shanghai := time.FixedZone("CST", 8*3600)
	for _, tm := range []time.Time{
		time.Date(2026, 11, 30, 8, 30, 0, 0, time.UTC),
		time.Date(2026, 11, 30, 16, 30, 0, 120_000_000, shanghai),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
	} {
		want := strconv.Quote(tm.UTC().Format(time.RFC3339Nano))
		var buf bytes.Buffer
		MarshalTime(tm).MarshalGQL(&buf)
		var other strings.Builder // no AvailableBuffer
		MarshalTime(tm).MarshalGQL(&other)
		if buf.String() != want || other.String() != want {
			t.Errorf("%v: wrote %s and %s, want %s", tm, buf.String(), other.String(), want)
		}
	}
	var w bytes.Buffer
	w.Grow(64)
	m := MarshalTime(time.Now())
	if n := testing.AllocsPerRun(100, func() { w.Reset(); m.MarshalGQL(&w) }); n != 0 {
		t.Errorf("marshalling a time allocated %v times, want none", n)
	}
}
