package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestMetricsAddrConfig(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string // "" when refused
	}{
		{nil, nil, ""},
		{map[string]string{"METRICS_ADDR": "off"}, nil, MetricsOff},
		{map[string]string{"METRICS_ADDR": "127.0.0.1:9090"}, nil, "127.0.0.1:9090"},
		{map[string]string{"METRICS_ADDR": "off"}, []string{"-metrics-addr", ":9090"}, ":9090"},
	} {
		cfg, err := loadConfig(tc.args, env(tc.env), io.Discard)
		if err != nil || cfg.MetricsAddr != tc.want {
			t.Errorf("%v %v: MetricsAddr %q, %v; want %q", tc.env, tc.args, cfg.MetricsAddr, err, tc.want)
		}
	}
	for _, bad := range []map[string]string{
		{"METRICS_ADDR": "9090"},
		{"METRICS_ADDR": "yes"},
		{"METRICS_ADDR": "127.0.0.1:8080", "ADDR": "127.0.0.1:8080"},
	} {
		if _, err := loadConfig(nil, env(bad), io.Discard); err == nil || !strings.Contains(err.Error(), "metrics-addr") {
			t.Errorf("%v: want an error about metrics-addr, got %v", bad, err)
		}
	}
	// Profiles: off by default, and only on a metrics listener of their own.
	if cfg, err := loadConfig(nil, env(map[string]string{"METRICS_ADDR": "127.0.0.1:9090"}), io.Discard); err != nil || cfg.Pprof {
		t.Errorf("pprof is on by default (%v)", err)
	}
	if cfg, err := loadConfig(nil, env(map[string]string{"METRICS_ADDR": "127.0.0.1:9090", "PPROF": "true"}), io.Discard); err != nil || !cfg.Pprof {
		t.Errorf("PPROF=true with METRICS_ADDR: pprof %v, %v", cfg.Pprof, err)
	}
	for _, bad := range []map[string]string{{"PPROF": "true"}, {"PPROF": "true", "METRICS_ADDR": "off"}, {"PPROF": "maybe", "METRICS_ADDR": "127.0.0.1:9090"}} {
		if _, err := loadConfig(nil, env(bad), io.Discard); err == nil || !strings.Contains(err.Error(), "pprof") {
			t.Errorf("%v: want an error about pprof, got %v", bad, err)
		}
	}
}

// METRICS_ADDR moves /metrics to a listener of its own, keeps it on the
// API's listener by default, and turns it off.
func TestServeMetrics(t *testing.T) {
	dir := t.TempDir()
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chdir(wd) })
	for _, tc := range []struct {
		name      string
		vars      map[string]string
		own, main bool // served on a listener of its own, on the API's
		pprof     bool // profiles served on the listener of its own
	}{
		{"own listener", map[string]string{"METRICS_ADDR": "127.0.0.1:0"}, true, false, false},
		{"own listener with pprof", map[string]string{"METRICS_ADDR": "127.0.0.1:0", "PPROF": "true"}, true, false, true},
		{"default", nil, false, true, false},
		{"off", map[string]string{"METRICS_ADDR": "off"}, false, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			var stdout, stderr syncBuffer
			done := make(chan error, 1)
			go func() { done <- run(ctx, []string{"-addr", "127.0.0.1:0"}, env(tc.vars), &stdout, &stderr) }()
			t.Cleanup(func() {
				cancel()
				select {
				case err := <-done:
					if err != nil {
						t.Errorf("shutdown: %v", err)
					}
				case <-time.After(30 * time.Second):
					t.Error("the server did not stop")
				}
			})
			base := waitForURL(t, &stdout, done)
			m := regexp.MustCompile(`metrics:\s+(http://\S+)`).FindStringSubmatch(stdout.String())
			if (m != nil) != (tc.own || tc.main) {
				t.Fatalf("the banner should name where metrics are served only when they are:\n%s", stdout.String())
			}
			post(t, base, "", `{"query":"query Probe { __typename }"}`)
			// Profiles never on the API's listener; on the metrics
			// listener only with PPROF.
			if status, _ := get(t, base+"/debug/pprof/"); status != http.StatusNotFound {
				t.Fatalf("GET /debug/pprof/ on the API's listener: %d", status)
			}
			if tc.own {
				pprofURL := strings.TrimSuffix(m[1], "/metrics") + "/debug/pprof/"
				if status, _ := get(t, pprofURL); (status == http.StatusOK) != tc.pprof {
					t.Fatalf("GET %s: %d, want it served: %v", pprofURL, status, tc.pprof)
				}
				if strings.Contains(stdout.String(), pprofURL) != tc.pprof {
					t.Fatalf("the banner should name %s only when profiles are served:\n%s", pprofURL, stdout.String())
				}
			}
			status, body := get(t, base+"/metrics")
			if tc.main != (status == http.StatusOK) {
				t.Fatalf("GET /metrics on the API's listener: %d", status)
			}
			if !tc.own && !tc.main {
				return
			}
			if want := base + "/metrics"; tc.main && m[1] != want {
				t.Fatalf("the banner says metrics are at %s, want %s", m[1], want)
			}
			if tc.own {
				if status, body = get(t, m[1]); status != http.StatusOK {
					t.Fatalf("GET %s: %d", m[1], status)
				}
			}
			for _, want := range []string{
				`estatecrm_graphql_operation_duration_seconds_count{operation="Probe",type="query"} 1`,
				`go_sql_open_connections{db_name="estatecrm"}`, "go_goroutines", "process_resident_memory_bytes",
			} {
				if !strings.Contains(body, want) {
					t.Errorf("/metrics lacks %s", want)
				}
			}
		})
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}
