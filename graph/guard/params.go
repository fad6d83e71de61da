package guard

import (
	"bytes"
	"encoding/json"
	"slices"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"

	"estatecrm/graph/jsonread"
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
	d := &jsonread.Reader{B: b}
	if !d.Next('{') {
		return false
	}
	var seen [4]bool // a key twice: encoding/json merges two objects
	if !d.Next('}') {
		for {
			key, ok := plainKey(d)
			if !ok || !d.Next(':') {
				return false
			}
			k := slices.Index(paramKeys, string(key))
			if k < 0 || seen[k] {
				return false
			}
			seen[k] = true
			switch string(key) {
			case "query":
				if p.Query, ok = d.String(); !ok {
					return false
				}
			case "operationName":
				if d.Null() {
					p.OperationName = ""
				} else if p.OperationName, ok = d.String(); !ok {
					return false
				}
			case "variables":
				if p.Variables, ok = object(d); !ok {
					return false
				}
			case "extensions":
				if p.Extensions, ok = object(d); !ok {
					return false
				}
			}
			if d.Next(',') {
				continue
			}
			if d.Next('}') {
				break
			}
			return false
		}
	}
	return d.End()
}

// paramKeys are the keys plainParams reads.
var paramKeys = []string{"query", "operationName", "variables", "extensions"}

// plainKey reads a key without escapes, in valid UTF-8 (encoding/json
// matches keys otherwise too), and returns its bytes.
func plainKey(d *jsonread.Reader) ([]byte, bool) {
	tok, escaped, ok := d.Token()
	if !ok || escaped || !utf8.Valid(tok) {
		return nil, false
	}
	return tok[1 : len(tok)-1], true
}

// object reads null (nil) or a JSON object, numbers as json.Number, as
// decode reads the variables and extensions.
func object(d *jsonread.Reader) (map[string]any, bool) {
	if d.Null() {
		return nil, true
	}
	d.Space()
	if d.I >= len(d.B) || d.B[d.I] != '{' {
		return nil, false
	}
	if m, ok := flatObject(d); ok {
		return m, true
	}
	end, ok := d.Skip()
	if !ok {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(d.B[d.I:end]))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || dec.InputOffset() != int64(end-d.I) {
		return nil, false
	}
	d.I = end
	return m, true
}

// flatObject reads an object at d.I whose values are strings, numbers,
// booleans and nulls (a phone's variables: {"d": "1234"}) as encoding/json
// would into map[string]any with UseNumber; false, with nothing read, for
// anything else (a key twice: encoding/json keeps the last; an object or
// array inside), which object gives to encoding/json.
func flatObject(d *jsonread.Reader) (map[string]any, bool) {
	start := d.I
	fail := func() (map[string]any, bool) { d.I = start; return nil, false }
	if !d.Next('{') {
		return fail()
	}
	m := map[string]any{}
	if d.Next('}') {
		return m, true
	}
	for {
		key, ok := d.String()
		if !ok || !d.Next(':') {
			return fail()
		}
		if _, twice := m[key]; twice {
			return fail()
		}
		d.Space()
		if d.I >= len(d.B) {
			return fail()
		}
		switch c := d.B[d.I]; {
		case c == '"':
			if m[key], ok = d.String(); !ok {
				return fail()
			}
		case c == '-' || (c >= '0' && c <= '9'):
			n := d.Number()
			if n == "" {
				return fail()
			}
			m[key] = json.Number(n)
		case d.Literal("true"):
			m[key] = true
		case d.Literal("false"):
			m[key] = false
		case d.Null():
			m[key] = nil
		default:
			return fail()
		}
		if d.Next(',') {
			continue
		}
		if d.Next('}') {
			return m, true
		}
		return fail()
	}
}
