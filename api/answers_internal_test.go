package api

import (
	"encoding/json"
	"strings"
	"testing"
)

// A page's key writes its arguments so that the same arguments write the
// same text, whatever the order of a map's keys or whether a number came
// as a literal or a variable, and different ones differ.
func TestArgumentsKeyTheSameArgumentsAlike(t *testing.T) {
	text := func(v any) string {
		var k strings.Builder
		if !writeArgument(&k, v) {
			t.Fatalf("%#v not written", v)
		}
		return k.String()
	}
	a := map[string]any{"first": int64(20), "where": map[string]any{"projectID": "PJ1", "listPriceGTE": "300.01", "status": "AVAILABLE"}}
	b := map[string]any{"where": map[string]any{"status": "AVAILABLE", "listPriceGTE": "300.01", "projectID": "PJ1"}, "first": json.Number("20")}
	if text(a) != text(b) {
		t.Errorf("the same arguments write %s and %s", text(a), text(b))
	}
	for _, other := range []any{
		map[string]any{"first": int64(20), "where": map[string]any{"projectID": "PJ1", "listPriceGTE": "300.02", "status": "AVAILABLE"}},
		map[string]any{"first": int64(21), "where": map[string]any{"projectID": "PJ1", "listPriceGTE": "300.01", "status": "AVAILABLE"}},
		map[string]any{"first": int64(20), "where": map[string]any{"projectID": "PJ1", "listPriceGTE": "300.01", "status": "AVAILABLE", "published": true}},
		map[string]any{"first": int64(20), "where": map[string]any{"projectID": `PJ1","status":"AVAILABLE`, "listPriceGTE": "300.01"}},
		map[string]any{"first": int64(20), "orderBy": []any{map[string]any{"field": "LIST_PRICE"}}, "where": map[string]any{"projectID": "PJ1", "listPriceGTE": "300.01", "status": "AVAILABLE"}},
	} {
		if text(other) == text(a) {
			t.Errorf("%v writes the same text as %v: %s", other, a, text(a))
		}
	}
	var k strings.Builder
	if writeArgument(&k, map[string]any{"x": struct{}{}}) {
		t.Error("a value of an unknown type written")
	}
}
