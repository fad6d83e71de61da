package guard

import (
	"mime"
	"testing"
)

// MediaType answers as mime.ParseMediaType does, for the values it knows
// without parsing and for any other.
func TestMediaTypeAnswersAsParseMediaType(t *testing.T) {
	for _, v := range []string{
		"application/json", "application/json; charset=utf-8", "application/json;charset=utf-8",
		"application/graphql-response+json", "Application/JSON", "application/json; charset=latin1",
		"multipart/form-data; boundary=x", "text/plain", "", "application/json;", ";", "a/b; c",
	} {
		want, _, err := mime.ParseMediaType(v)
		got, ok := MediaType(v)
		if ok != (err == nil) || (ok && got != want) {
			t.Errorf("%q: got %q %v, ParseMediaType %q %v", v, got, ok, want, err)
		}
	}
	if n := testing.AllocsPerRun(100, func() { MediaType("application/json; charset=utf-8") }); n != 0 {
		t.Errorf("the common value allocated %v times", n)
	}
}
