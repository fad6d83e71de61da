package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"estatecrm/seed"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestStartRefusesABadDatabaseURL(t *testing.T) {
	for _, tc := range []struct{ name, url, want string }{
		{"malformed", "mysql://x", "DATABASE_URL must start with"},
		{"unreachable", "postgres://u:topsecret@127.0.0.1:1/db?sslmode=disable&connect_timeout=2", "unreachable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), nil, env(map[string]string{"DATABASE_URL": tc.url, "JWT_SECRET": testSecret}), &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error mentioning %q, got %v", tc.want, err)
			}
			if strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), "topsecret") {
				t.Fatalf("the reason must be one line without the password: %q", err)
			}
		})
	}
}

const testSecret = "0123456789abcdef0123456789abcdef"

func TestConfig(t *testing.T) {
	cfg, err := loadConfig(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Embedded() || !cfg.GraphiQL || !cfg.Introspection || !cfg.SeedOnStart || cfg.MaxBodyBytes != 1<<20 {
		t.Fatalf("embedded defaults: %+v", cfg)
	}
	if !cfg.JWTKeyGenerated || len(cfg.JWTKey) != 32 {
		t.Fatalf("the embedded demo makes up a JWT key: %+v", cfg)
	}
	if _, err := loadConfig(nil, env(map[string]string{"DATABASE_URL": "postgres://db/x"}), io.Discard); err == nil || !strings.Contains(err.Error(), "JWT_SECRET") {
		t.Fatalf("PostgreSQL without JWT_SECRET must be refused, got %v", err)
	}
	if _, err := loadConfig(nil, env(map[string]string{"JWT_SECRET": "short"}), io.Discard); err == nil {
		t.Fatal("a JWT_SECRET under 32 bytes was accepted")
	}
	cfg, err = loadConfig([]string{"migrate", "-log-level", "debug"}, env(map[string]string{"DATABASE_URL": "postgres://db/x", "JWT_SECRET": testSecret}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Command != "migrate" || cfg.Embedded() || cfg.GraphiQL || cfg.Introspection || cfg.SeedOnStart {
		t.Fatalf("PostgreSQL defaults: GraphiQL, introspection and seeding must be off: %+v", cfg)
	}
	if _, err := loadConfig(nil, env(map[string]string{"REQUEST_TIMEOUT": "soon"}), io.Discard); err == nil {
		t.Fatal("a malformed REQUEST_TIMEOUT was accepted")
	}
	if _, err := loadConfig([]string{"launch"}, env(nil), io.Discard); err == nil {
		t.Fatal("an unknown command was accepted")
	}
}

// syncBuffer lets the test read what the server prints while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// The newcomer's path: start with no configuration, get demo data and logins,
// query it, stop with SIGTERM (a cancelled context) and exit cleanly.
func TestServeEmbeddedWithDemoDataAndShutDown(t *testing.T) {
	dir := t.TempDir()
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chdir(wd) })

	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0"}, env(nil), &stdout, &stderr)
	}()
	base := waitForURL(t, &stdout, done)

	login := post(t, base, "", `{"query":"mutation { login(input: {login: \"admin\", password: \"`+seed.DemoPassword+`\"}) { accessToken user { role } } }"}`)
	m := regexp.MustCompile(`"accessToken":"([^"]+)"`).FindSubmatch(login)
	if m == nil || !strings.Contains(string(login), `"role":"ADMIN"`) {
		t.Fatalf("the demo admin cannot log in: %s", login)
	}
	body := post(t, base, string(m[1]), `{"query":"{ projects(first: 10) { totalCount } units(first: 1) { totalCount } }"}`)
	if !regexp.MustCompile(`"projects":\{"totalCount":2\},"units":\{"totalCount":[5-6]\d\d\}`).Match(body) {
		t.Fatalf("demo data missing: %s", body)
	}
	for _, want := range []string{"GraphiQL", "admin", "manager", "agent", "owner"} {
		if !strings.Contains(stdout.String(), want) {
			t.Fatalf("start-up output lacks %q:\n%s", want, stdout.String())
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "estatecrm.db")); err != nil {
		t.Fatalf("no embedded database file: %v", err)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("shutdown: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not stop")
	}
	if !strings.Contains(stderr.String(), `"msg":"stopped"`) {
		t.Fatalf("no clean stop logged: %s", stderr.String())
	}
}

func post(t *testing.T, base, token, body string) []byte {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/query", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return b
}

func waitForURL(t *testing.T, stdout *syncBuffer, done <-chan error) string {
	t.Helper()
	re := regexp.MustCompile(`listening on (http://\S+)`)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("the server stopped early: %v", err)
		default:
		}
		sc := bufio.NewScanner(strings.NewReader(stdout.String()))
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				return m[1]
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the server never said where it listens")
	return ""
}
