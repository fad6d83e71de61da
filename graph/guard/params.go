package guard

import (
	"bytes"
	"encoding/json"
	"slices"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"
)

// decodeParams reads a POSTed GraphQL request (one JSON object with query,
// operationName, variables and extensions) into p, as decode does. The
// usual body (those keys, spelt so, strings and objects where they belong)
// is read by hand: encoding/json's reflection over the whole body was 3% of
// the server's processor time on a phone's customer search (7 µs and 17
// allocations a request). Only the variables and extensions, objects of any
// shape, go through encoding/json, each on its own bytes. Anything else (an
// escape in a key, another key, a value of another type, bytes that are not
// UTF-8) is decode's to read or refuse, so that the answer is always its.
func decodeParams(b []byte, p *graphql.RawParams) error {
	if plainParams(b, p) {
		return nil
	}
	*p = graphql.RawParams{}
	return decode(b, p)
}

// plainParams reads b into p when it is a request of the usual shape, and
// reports whether it was.
func plainParams(b []byte, p *graphql.RawParams) bool {
	d := reader{b: b}
	if !d.next('{') {
		return false
	}
	var seen [4]bool // a key twice: encoding/json merges two objects
	if !d.next('}') {
		for {
			key, ok := d.plainString()
			if !ok || !d.next(':') {
				return false
			}
			k := slices.Index(paramKeys, string(key))
			if k < 0 || seen[k] {
				return false
			}
			seen[k] = true
			switch string(key) {
			case "query":
				if p.Query, ok = d.stringValue(); !ok {
					return false
				}
			case "operationName":
				if d.null() {
					p.OperationName = ""
				} else if p.OperationName, ok = d.stringValue(); !ok {
					return false
				}
			case "variables":
				if p.Variables, ok = d.object(); !ok {
					return false
				}
			case "extensions":
				if p.Extensions, ok = d.object(); !ok {
					return false
				}
			}
			if d.next(',') {
				continue
			}
			if d.next('}') {
				break
			}
			return false
		}
	}
	d.space()
	return d.i == len(d.b)
}

// paramKeys are the keys plainParams reads.
var paramKeys = []string{"query", "operationName", "variables", "extensions"}

// reader reads JSON tokens from b at i.
type reader struct {
	b []byte
	i int
}

func (d *reader) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// next consumes c if it is the next token.
func (d *reader) next(c byte) bool {
	d.space()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

func (d *reader) null() bool {
	d.space()
	if bytes.HasPrefix(d.b[d.i:], []byte("null")) {
		d.i += 4
		return true
	}
	return false
}

// token returns the string token at i, quotes included, and whether it has
// escapes; false if there is none or it has a control character.
func (d *reader) token() (tok []byte, escaped, ok bool) {
	d.space()
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return nil, false, false
	}
	for j := d.i + 1; j < len(d.b); j++ {
		switch c := d.b[j]; {
		case c == '\\':
			escaped = true
			j++
		case c < 0x20:
			return nil, false, false
		case c == '"':
			tok = d.b[d.i : j+1]
			d.i = j + 1
			return tok, escaped, true
		}
	}
	return nil, false, false
}

// plainString reads a string without escapes, in valid UTF-8 (encoding/json
// would replace bytes that are not), and returns its bytes.
func (d *reader) plainString() ([]byte, bool) {
	tok, escaped, ok := d.token()
	if !ok || escaped || !utf8.Valid(tok) {
		return nil, false
	}
	return tok[1 : len(tok)-1], true
}

// stringValue reads a string; one with escapes is unquoted by encoding/json,
// so that every escape reads as it would there.
func (d *reader) stringValue() (string, bool) {
	start := d.i
	tok, escaped, ok := d.token()
	if !ok {
		return "", false
	}
	if !escaped {
		if !utf8.Valid(tok) {
			return "", false
		}
		return string(tok[1 : len(tok)-1]), true
	}
	var s string
	if err := json.Unmarshal(tok, &s); err != nil {
		d.i = start
		return "", false
	}
	return s, true
}

// object reads null (nil) or a JSON object, numbers as json.Number, as
// decode reads the variables and extensions.
func (d *reader) object() (map[string]any, bool) {
	if d.null() {
		return nil, true
	}
	d.space()
	if d.i >= len(d.b) || d.b[d.i] != '{' {
		return nil, false
	}
	if m, ok := d.flatObject(); ok {
		return m, true
	}
	end, ok := d.end(d.i)
	if !ok {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(d.b[d.i:end]))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || dec.InputOffset() != int64(end-d.i) {
		return nil, false
	}
	d.i = end
	return m, true
}

// end returns the index just past the object or array that starts at i:
// its brackets counted outside strings. Whether what lies between is JSON
// is the decoder's to say.
func (d *reader) end(i int) (int, bool) {
	depth, inString := 0, false
	for ; i < len(d.b); i++ {
		c := d.b[i]
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
			if depth == 0 {
				return i + 1, true
			}
		}
	}
	return 0, false
}

// flatObject reads an object at i whose values are strings, numbers,
// booleans and nulls (a phone's variables: {"d": "1234"}) as encoding/json
// would into map[string]any with UseNumber; false, with nothing read, for
// anything else (a key twice: encoding/json keeps the last; an object or
// array inside), which object gives to encoding/json.
func (d *reader) flatObject() (map[string]any, bool) {
	start := d.i
	fail := func() (map[string]any, bool) { d.i = start; return nil, false }
	if !d.next('{') {
		return fail()
	}
	m := map[string]any{}
	if d.next('}') {
		return m, true
	}
	for {
		key, ok := d.stringValue()
		if !ok || !d.next(':') {
			return fail()
		}
		if _, twice := m[key]; twice {
			return fail()
		}
		d.space()
		if d.i >= len(d.b) {
			return fail()
		}
		switch c := d.b[d.i]; {
		case c == '"':
			if m[key], ok = d.stringValue(); !ok {
				return fail()
			}
		case c == '-' || (c >= '0' && c <= '9'):
			n := d.number()
			if n == "" {
				return fail()
			}
			m[key] = json.Number(n)
		case d.literal("true"):
			m[key] = true
		case d.literal("false"):
			m[key] = false
		case d.null():
			m[key] = nil
		default:
			return fail()
		}
		if d.next(',') {
			continue
		}
		if d.next('}') {
			return m, true
		}
		return fail()
	}
}

// literal consumes word if it is next.
func (d *reader) literal(word string) bool {
	if bytes.HasPrefix(d.b[d.i:], []byte(word)) {
		d.i += len(word)
		return true
	}
	return false
}

// number reads a JSON number (-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?)
// and returns its text, or "" with nothing read.
func (d *reader) number() string {
	b, i := d.b, d.i
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
	n := string(b[d.i:i])
	d.i = i
	return n
}
