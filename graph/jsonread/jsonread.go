// Package jsonread reads JSON tokens by hand, for the few hot places where
// encoding/json's reflection costs more than the rest of the work: a
// POSTed GraphQL request (graph/guard) and the visits folded into a
// customers' statement (graph). Its readers accept less than JSON allows
// and say so: a caller that gets false hands the bytes to encoding/json,
// whose reading is the one that counts.
package jsonread

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// Reader reads tokens from B at I.
type Reader struct {
	B []byte
	I int
}

// Space skips white space.
func (d *Reader) Space() {
	for d.I < len(d.B) {
		switch d.B[d.I] {
		case ' ', '\t', '\n', '\r':
			d.I++
		default:
			return
		}
	}
}

// Next consumes c if it is the next token.
func (d *Reader) Next(c byte) bool {
	d.Space()
	if d.I < len(d.B) && d.B[d.I] == c {
		d.I++
		return true
	}
	return false
}

// End reports whether nothing but space is left.
func (d *Reader) End() bool {
	d.Space()
	return d.I == len(d.B)
}

// Literal consumes word (null, true, false) if it is next.
func (d *Reader) Literal(word string) bool {
	d.Space()
	if bytes.HasPrefix(d.B[d.I:], []byte(word)) {
		d.I += len(word)
		return true
	}
	return false
}

// Null consumes null if it is next.
func (d *Reader) Null() bool { return d.Literal("null") }

// Token reads the string token at I, quotes included, and reports whether
// it has escapes; false, with nothing read, if there is none or it has a
// control character.
func (d *Reader) Token() (tok []byte, escaped, ok bool) {
	d.Space()
	if d.I >= len(d.B) || d.B[d.I] != '"' {
		return nil, false, false
	}
	for j := d.I + 1; j < len(d.B); j++ {
		switch c := d.B[j]; {
		case c == '\\':
			escaped = true
			j++
		case c < 0x20:
			return nil, false, false
		case c == '"':
			tok = d.B[d.I : j+1]
			d.I = j + 1
			return tok, escaped, true
		}
	}
	return nil, false, false
}

// Raw reads a string and returns its bytes: those of B when it has no
// escapes; one with escapes is unquoted by encoding/json, so that every
// escape reads as it would there. Bytes that are not UTF-8 read false
// (encoding/json would replace them).
func (d *Reader) Raw() ([]byte, bool) {
	start := d.I
	tok, escaped, ok := d.Token()
	if !ok {
		return nil, false
	}
	if !escaped {
		if !utf8.Valid(tok) {
			d.I = start
			return nil, false
		}
		return tok[1 : len(tok)-1], true
	}
	var s string
	if err := json.Unmarshal(tok, &s); err != nil {
		d.I = start
		return nil, false
	}
	return []byte(s), true
}

// String is Raw as a string.
func (d *Reader) String() (string, bool) {
	b, ok := d.Raw()
	return string(b), ok
}

// Number reads a JSON number (-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?)
// and returns its text, or "" with nothing read.
func (d *Reader) Number() string {
	d.Space()
	b, i := d.B, d.I
	digits := func() bool {
		j := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > j
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return ""
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return ""
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return ""
		}
	}
	n := string(b[d.I:i])
	d.I = i
	return n
}

// Int reads an integer (no fraction, no exponent) that fits an int.
func (d *Reader) Int() (int, bool) {
	d.Space()
	j := d.I
	if j < len(d.B) && d.B[j] == '-' {
		j++
	}
	for j < len(d.B) && d.B[j] >= '0' && d.B[j] <= '9' {
		j++
	}
	n, err := strconv.Atoi(string(d.B[d.I:j]))
	if err != nil {
		return 0, false
	}
	d.I = j
	return n, true
}

// Skip returns the index just past the object or array that starts at I
// (its brackets counted outside strings), reading nothing; false if it does
// not close. Whether what lies between is JSON is encoding/json's to say.
func (d *Reader) Skip() (int, bool) {
	depth, inString := 0, false
	for i := d.I; i < len(d.B); i++ {
		if depth == 0 && !inString && (d.B[i] == ' ' || d.B[i] == '\t' || d.B[i] == '\n' || d.B[i] == '\r') {
			continue // space before it
		}
		c := d.B[i]
		switch {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
			if depth <= 0 {
				return i + 1, depth == 0
			}
		}
	}
	return 0, false
}
