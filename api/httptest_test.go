package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"estatecrm/api/apitest"
)

// jsonRequest is a POST /query of query as JSON, without credentials.
func jsonRequest(query string) *http.Request {
	b, _ := json.Marshal(map[string]any{"query": query})
	req := httptest.NewRequest(http.MethodPost, "/query", strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	return req
}

// doWith serves req with h and decodes the answer as apitest does.
func doWith(t *testing.T, h http.Handler, req *http.Request) *apitest.Response {
	t.Helper()
	res, _ := doWithHeader(t, h, req)
	return res
}

// doWithHeader is doWith that also returns the response's header.
func doWithHeader(t *testing.T, h http.Handler, req *http.Request) (*apitest.Response, http.Header) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	r := rec.Result()
	b, _ := io.ReadAll(r.Body)
	out := &apitest.Response{Status: r.StatusCode, Body: b}
	if req.URL.Path == "/query" && len(b) > 0 && b[0] == '{' {
		var gql struct {
			Data   json.RawMessage `json:"data"`
			Errors []apitest.Error `json:"errors"`
		}
		if err := json.Unmarshal(b, &gql); err != nil {
			t.Fatalf("response is not JSON: %s", b)
		}
		out.Data, out.Errors = gql.Data, gql.Errors
	}
	return out, r.Header
}
