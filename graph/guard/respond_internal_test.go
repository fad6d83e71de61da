package guard

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// writeResponse writes what json.Encoder wrote, byte for byte, for every
// shape of answer, without re-encoding the data.
func TestWriteResponseAsEncoder(t *testing.T) {
	yes := true
	data := json.RawMessage(`{"units":[{"id":"UN1","listPrice":"12.00"},null],"note":"a \"b\" <c>"}`)
	for _, resp := range []*graphql.Response{
		{Data: data},
		{},
		{Errors: gqlerror.List{{Message: "no <b>", Path: ast.Path{ast.PathName("units"), ast.PathIndex(1)}, Extensions: map[string]any{"code": "NOT_FOUND"}}}, Data: data},
		{Errors: gqlerror.List{{Message: "refused"}}},
		{Data: data, Extensions: map[string]any{"cost": map[string]int{"requested": 3}}},
		{Data: data, Extensions: map[string]any{"cost": Cost{Requested: 17, Limit: 5000}}},
		{Data: data, Extensions: map[string]any{"cost": Cost{Requested: 2}}},
		{Extensions: map[string]any{"cost": Cost{Requested: 1, Limit: 5000}}},
		{Data: data, Extensions: map[string]any{"cost": Cost{Requested: 3, Limit: 5000}, "x": 1}},
		{Data: data, Extensions: map[string]any{}},
		{Data: data, Label: "l", Path: ast.Path{ast.PathName("a")}, HasNext: &yes, Extensions: map[string]any{"x": 1}},
		{Errors: gqlerror.List{{Message: "e"}}, Data: json.RawMessage("null"), Label: "l"},
	} {
		var want, got bytes.Buffer
		if err := json.NewEncoder(&want).Encode(resp); err != nil {
			t.Fatal(err)
		}
		if err := writeResponse(&got, resp); err != nil {
			t.Fatal(err)
		}
		if w := bytes.ReplaceAll(want.Bytes(), []byte(`\u003cc\u003e`), []byte(`<c>`)); !bytes.Equal(got.Bytes(), w) {
			t.Errorf("wrote\n%s\nwant\n%s", got.Bytes(), w)
		}
	}
}
