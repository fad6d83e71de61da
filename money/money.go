// Package money holds amounts of CNY as integer fen (分). Money is never a
// float: on the wire it is a decimal string with two places ("1234567.89").
package money

import (
	"bytes"
	"io"
	"strconv"
	"strings"

	"estatecrm/apperr"
)

// Fen is an amount of CNY in fen, 1/100 of a yuan.
type Fen int64

// Yuan returns the amount of whole yuan as fen.
func Yuan(y int64) Fen { return Fen(y * 100) }

// ErrInvalid is returned for a string that is not a decimal amount.
var ErrInvalid = apperr.Input("", `a money amount is a decimal string with at most two decimal places, like "1234.50"`)

// String formats the amount as a decimal with two places.
func (f Fen) String() string { return string(f.append(make([]byte, 0, 24))) }

// append appends the amount as String writes it.
func (f Fen) append(b []byte) []byte {
	v := uint64(f)
	if f < 0 {
		b = append(b, '-')
		v = -v // the magnitude, also of the smallest Fen
	}
	b = strconv.AppendUint(b, v/100, 10)
	b = append(b, '.', byte('0'+v%100/10), byte('0'+v%10))
	return b
}

// Parse reads a decimal string ("12", "12.3", "-12.34") as fen. Nothing
// else is taken, not even surrounding spaces: " 100" is more likely a
// pasted fragment than an amount someone meant.
func Parse(s string) (Fen, error) {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || len(frac) > 2 || (hasDot && frac == "") || !digits(whole) || !digits(frac) {
		return 0, ErrInvalid
	}
	for len(frac) < 2 {
		frac += "0"
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w > (1<<62)/100 {
		return 0, ErrInvalid
	}
	fr, _ := strconv.ParseInt(frac, 10, 64)
	v := w*100 + fr
	if neg {
		v = -v
	}
	return Fen(v), nil
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// MarshalGQL writes the amount as a quoted decimal string.
//
// A grid marshals hundreds of prices: into gqlgen's buffer (a
// *bytes.Buffer) the amount is written in place, without allocating.
func (f Fen) MarshalGQL(w io.Writer) {
	if buf, ok := w.(*bytes.Buffer); ok {
		_, _ = buf.Write(f.quote(buf.AvailableBuffer()))
		return
	}
	_, _ = w.Write(f.quote(nil))
}

// quote appends the amount as a JSON string: digits need no escaping.
func (f Fen) quote(b []byte) []byte {
	return append(f.append(append(b, '"')), '"')
}

// UnmarshalGQL reads a decimal string. Numbers are refused on purpose:
// a JSON number may already have been through a float.
func (f *Fen) UnmarshalGQL(v any) error {
	s, ok := v.(string)
	if !ok {
		return ErrInvalid
	}
	p, err := Parse(s)
	if err != nil {
		return err
	}
	*f = p
	return nil
}
