package guard

import (
	"reflect"
	"testing"

	"github.com/99designs/gqlgen/graphql"
)

// bodies are requests of the usual shape and of every other: decodeParams
// must read each exactly as decode does, or refuse it as decode does.
var bodies = []string{
	`{"query":"query($d: String!) { customers(first: 10, where: {phoneLast4: $d}) { edges { node { id } } } }","variables":{"d":"1234"}}`,
	` { "query" : "{ __typename }" , "operationName" : null , "variables" : null , "extensions" : null } `,
	`{"query":"query A { a } query B { b }","operationName":"B","variables":{},"extensions":{"persistedQuery":{"version":1,"sha256Hash":"abc"}}}`,
	`{"query":"{ a(x: \"q\\n\") }\n","variables":{"n":12345678901234567890,"f":1.5e3,"s":"a \"}\" b","l":[1,{"x":null}],"t":true}}`,
	`{"query":"mutation { logVisit(input: {notes: \"看房 \\u00e9 \\ud83d\\ude00\"}) { id } }"}`,
	`{}`, `{"variables":{"d":"1"}}`, `{"query":""}`,
	// Not the usual shape: decode's to read or refuse.
	`{"Query":"{ a }"}`, `{"query":"{ a }","headers":{"X":["y"]}}`, `{"query":"{ a }","other":1}`,
	`{"query":"{ a }","variables":{"a":1},"variables":{"b":2}}`, `{"query":"{ a }","query":"{ b }"}`,
	`{"qu\u0065ry":"{ a }"}`, `{"query":null}`, `{"query":5}`, `{"query":"{ a }","variables":[1]}`,
	`{"query":"{ a }","variables":"x"}`, `{"query":"{ a }","operationName":7}`,
	"{\"query\":\"\xff{ a }\"}", "{\"query\":\"{ a }\x01\"}",
	`{"query":"{ a }","variables":{"d":"1"}`, `{"query":"{ a }"} x`, "{\"query\":\"{ a }\"}\u00a0", "{\"query\":\"{ a }\"}\r\n\t ", `{"query":"{ a }"}{}`, `[]`, ``, `null`,
	`{"query":"{ a }","variables":{"d":}}`, `{"query":"{ a }","variables":{"d":"1"}}}`, `{"query":"{ a }",}`,
	`{"query":"{ a }","variables":{"d":"\"}"}}`, `{"query":"{ a }","extensions":{"a":{"b":[{"c":"]}"}]}}}`,
	// Flat variables, read by hand, and their near misses.
	`{"query":"{ a }","variables":{"a":0,"b":-0.5,"c":1E+2,"d":-12e-3,"e":true,"f":false,"g":null,"h":"","\u0069":"x"}}`,
	`{"query":"{ a }","variables":{"a":01}}`, `{"query":"{ a }","variables":{"a":1.}}`, `{"query":"{ a }","variables":{"a":-}}`,
	`{"query":"{ a }","variables":{"a":1e}}`, `{"query":"{ a }","variables":{"a":.5}}`, `{"query":"{ a }","variables":{"a":+1}}`,
	`{"query":"{ a }","variables":{"a":tru}}`, `{"query":"{ a }","variables":{"a":nul}}`, `{"query":"{ a }","variables":{"a":1,"a":2}}`,
	`{"query":"{ a }","variables":{"a":1,}}`, `{"query":"{ a }","variables":{"a" 1}}`, "{\"query\":\"{ a }\",\"variables\":{\"a\":\"\xc3\"}}",
}

func sameAsDecode(t *testing.T, body string) {
	t.Helper()
	var want, got graphql.RawParams
	wantErr := decode([]byte(body), &want)
	gotErr := decodeParams([]byte(body), &got)
	if (wantErr == nil) != (gotErr == nil) {
		t.Fatalf("%q: decodeParams says %v, decode %v", body, gotErr, wantErr)
	}
	if wantErr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\nread   %#v\nwanted %#v", body, got, want)
	}
}

func TestDecodeParamsReadsAsDecode(t *testing.T) {
	for _, b := range bodies {
		sameAsDecode(t, b)
	}
	// The usual body is read by hand, not handed to decode.
	var p graphql.RawParams
	if !plainParams([]byte(bodies[0]), &p) || p.Variables["d"] != "1234" {
		t.Fatalf("the usual body was not read by hand: %#v", p)
	}
}

func FuzzDecodeParams(f *testing.F) {
	for _, b := range bodies {
		f.Add(b)
	}
	f.Fuzz(sameAsDecode)
}

// The phone's customer search as its body comes: decode against
// decodeParams (go test ./graph/guard -bench DecodeParams -benchmem).
func BenchmarkDecodeParams(b *testing.B) {
	body := []byte(bodies[0])
	for name, read := range map[string]func([]byte, *graphql.RawParams) error{
		"encoding-json": func(b []byte, p *graphql.RawParams) error { return decode(b, p) },
		"by-hand":       decodeParams,
	} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var p graphql.RawParams
				if err := read(body, &p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
