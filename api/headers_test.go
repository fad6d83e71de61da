package api_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"estatecrm/api"
	"estatecrm/api/apitest"
)

// Every answer of /query (tokens, personal data) is kept out of caches and
// carries the usual security headers; a photo keeps its own, private,
// caching.
func TestSecurityHeaders(t *testing.T) {
	env := apitest.New(t)
	h := newHomes(t, env)
	login := jsonRequest(`mutation { login(input: {login: "owner.h1", password: "wrong"}) { accessToken } }`)
	for name, req := range map[string]*http.Request{
		"login":  login,
		"query":  jsonRequest(`{ __typename }`),
		"health": httptest.NewRequest(http.MethodGet, "/healthz", nil),
	} {
		_, hdr := doWithHeader(t, env.Handler, req)
		for k, want := range map[string]string{
			"Cache-Control":           "no-store",
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "no-referrer",
			"X-Frame-Options":         "DENY",
			"Content-Security-Policy": "frame-ancestors 'none'",
		} {
			if got := hdr.Get(k); !strings.Contains(got, want) {
				t.Errorf("%s: %s is %q, want %q", name, k, got, want)
			}
		}
	}
	photos := upload(t, env, h.H1, h.Unit1, jpegBytes(t)).SubmitComplaint.Complaint.Photos
	res, _ := fetch(t, env, "/photos/"+photos[0].ID, tokenFor(t, env, h.H1))
	if res.StatusCode != http.StatusOK || res.Header.Get("Cache-Control") != "private, max-age=300" {
		t.Fatalf("a photo: %d, Cache-Control %q", res.StatusCode, res.Header.Get("Cache-Control"))
	}
	if res.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatal("a photo may be sniffed")
	}
}

// CORS: none by default; with CORS_ORIGINS, a listed origin gets the
// headers that let a browser app read answers and its preflight answered,
// any other origin nothing.
func TestCORSAllowlist(t *testing.T) {
	env := apitest.New(t)
	const app, evil = "https://app.example.com", "https://evil.example.net"
	withOrigin := func(req *http.Request, origin string) *http.Request {
		req.Header.Set("Origin", origin)
		return req
	}
	preflight := func(origin string) *http.Request {
		req := httptest.NewRequest(http.MethodOptions, "/query", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
		return req
	}
	origins, err := api.ParseOrigins(" https://APP.example.com/ , http://localhost:5173")
	if err != nil || len(origins) != 2 {
		t.Fatalf("ParseOrigins: %v %v", origins, err)
	}
	var log bytes.Buffer
	listed := handlerWith(t, env, api.Config{CORSOrigins: origins}, &log)

	for name, tc := range map[string]struct {
		h      http.Handler
		req    *http.Request
		allows string
	}{
		"default, an app's request":     {env.Handler, withOrigin(jsonRequest(`{ __typename }`), app), ""},
		"default, an app's preflight":   {env.Handler, preflight(app), ""},
		"listed, its request":           {listed, withOrigin(jsonRequest(`{ __typename }`), app), app},
		"listed, its preflight":         {listed, preflight(app), app},
		"listed, another's request":     {listed, withOrigin(jsonRequest(`{ __typename }`), evil), ""},
		"listed, another's preflight":   {listed, preflight(evil), ""},
		"listed, a request sans Origin": {listed, jsonRequest(`{ __typename }`), ""},
	} {
		res, hdr := doWithHeader(t, tc.h, tc.req)
		if got := hdr.Get("Access-Control-Allow-Origin"); got != tc.allows {
			t.Errorf("%s: Access-Control-Allow-Origin %q, want %q", name, got, tc.allows)
		}
		if tc.allows == "" {
			for k := range hdr {
				if strings.HasPrefix(k, "Access-Control-") {
					t.Errorf("%s: %s sent to an origin not listed", name, k)
				}
			}
			continue
		}
		if tc.req.Method == http.MethodOptions {
			if res.Status != http.StatusNoContent || !strings.Contains(hdr.Get("Access-Control-Allow-Methods"), "POST") ||
				!strings.Contains(hdr.Get("Access-Control-Allow-Headers"), "Authorization") {
				t.Errorf("%s: %d %v", name, res.Status, hdr)
			}
		} else if res.Status != http.StatusOK || !strings.Contains(hdr.Get("Vary"), "Origin") {
			t.Errorf("%s: %d, Vary %q", name, res.Status, hdr.Get("Vary"))
		}
	}
	for _, bad := range []string{"*", "app.example.com", "ftp://app.example.com", "https://app.example.com/path", "https://u@app.example.com"} {
		if _, err := api.ParseOrigins(bad); err == nil {
			t.Errorf("ParseOrigins(%q) accepted", bad)
		}
	}
}

// A browser app on a listed origin may open a subscription; one on another
// origin may not (browsers apply no CORS to WebSockets: the server checks
// Origin).
func TestSocketOrigins(t *testing.T) {
	env := apitest.New(t)
	var log bytes.Buffer
	origins, _ := api.ParseOrigins("https://app.example.com")
	srv := httptest.NewServer(handlerWith(t, env, api.Config{CORSOrigins: origins}, &log))
	t.Cleanup(srv.Close)
	for origin, ok := range map[string]bool{"https://app.example.com": true, "https://evil.example.net": false} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		conn, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/query", &websocket.DialOptions{
			Subprotocols: []string{"graphql-transport-ws"}, HTTPHeader: http.Header{"Origin": {origin}}})
		cancel()
		if conn != nil {
			conn.CloseNow()
		}
		if (err == nil) != ok {
			t.Errorf("origin %s: opened %v, want %v (%v)", origin, err == nil, ok, err)
		}
		if !ok && res != nil && res.StatusCode != http.StatusForbidden {
			t.Errorf("origin %s: status %d", origin, res.StatusCode)
		}
	}
}

// An answer goes out with its length (not chunked), however large: a phone
// reads a 100 KB sales grid into one buffer of the right size. Checked
// over a real HTTP connection, where net/http would otherwise chunk any
// answer above its 4 KB buffer.
func TestAnswersCarryTheirLength(t *testing.T) {
	env := apitest.New(t)
	p := env.Project(t, "滨江·云玺", 2, 20, 6) // 240 units: well above 4 KB
	srv := httptest.NewServer(env.Handler)
	defer srv.Close()
	tok, _, err := env.Signer.Issue(apitest.Admin)
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{
		"grid":   `{"query":"query($p: ID!) { salesGrid(projectId: $p) { buildings { floors { units { id number status listPrice } } } } }","variables":{"p":"` + string(p.ID) + `"}}`,
		"errors": `{"query":"{ node(id: \"nope\") { id } }"}`,
	} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/query", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.ContentLength != int64(len(b)) || len(res.TransferEncoding) > 0 {
			t.Errorf("%s: Content-Length %d, Transfer-Encoding %v, body %d bytes", name, res.ContentLength, res.TransferEncoding, len(b))
		}
		if name == "grid" && len(b) < 8<<10 {
			t.Errorf("grid: %d bytes; want an answer above net/http's buffer: %.300s", len(b), b)
		}
	}
}
