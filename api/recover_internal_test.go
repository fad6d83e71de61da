package api

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A panic anywhere in a request's handling is answered INTERNAL, shows the
// client nothing of its cause, is logged once, and the handler goes on
// serving.
func TestPanicIsAnsweredInternal(t *testing.T) {
	var log bytes.Buffer
	calls := 0
	h := recoverPanics(slog.New(slog.NewJSONHandler(&log, nil)), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls == 1 {
			var m map[string]int
			m["secret-table"]++ // a nil map: the runtime panics
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/query", nil))
	var out struct {
		Errors []struct {
			Message    string
			Extensions struct{ Code string }
		}
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || len(out.Errors) != 1 {
		t.Fatalf("not one GraphQL error: %s", rec.Body)
	}
	if rec.Code != http.StatusInternalServerError || out.Errors[0].Extensions.Code != "INTERNAL" || strings.Contains(rec.Body.String(), "nil map") {
		t.Fatalf("got %d %s", rec.Code, rec.Body)
	}
	if n := strings.Count(log.String(), `"level":"ERROR"`); n != 1 {
		t.Fatalf("logged %d errors, want 1: %s", n, log.String())
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/query", nil))
	if rec.Code != http.StatusNoContent {
		t.Fatalf("after a panic the next request got %d", rec.Code)
	}
}
