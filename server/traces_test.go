package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

func TestTracesConfig(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, nil, ""}, // off by default
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, nil, "http://collector:4318/v1/traces"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://otel.example.com/base/"}, nil, "https://otel.example.com/base/v1/traces"},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/custom", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://other:4318"}, nil, "http://collector:4318/custom"},
		{map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, nil, "http://localhost:4318/v1/traces"},
		{map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, nil, ""},
		{map[string]string{"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, nil, ""},
		{map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, nil, "http://collector:4318/v1/traces"},
		{map[string]string{"OTEL_TRACES_EXPORTER": "none"}, []string{"-traces-endpoint", "http://127.0.0.1:4318"}, "http://127.0.0.1:4318/v1/traces"}, // the flag wins
	} {
		cfg, err := loadConfig(tc.args, env(tc.env), io.Discard)
		if err != nil || cfg.TracesEndpoint != tc.want {
			t.Errorf("%v %v: TracesEndpoint %q, %v; want %q", tc.env, tc.args, cfg.TracesEndpoint, err, tc.want)
		}
	}
	for _, bad := range []map[string]string{
		{"OTEL_TRACES_EXPORTER": "zipkin"},
		{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317"},
		{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"},
	} {
		if _, err := loadConfig(nil, env(bad), io.Discard); err == nil || !strings.Contains(err.Error(), "OTLP") && !strings.Contains(err.Error(), "OTEL_") {
			t.Errorf("%v: want an error naming the setting, got %v", bad, err)
		}
	}
}

// receiver is an OTLP/HTTP collector in the test: it keeps what it is sent.
type receiver struct {
	mu     sync.Mutex
	bodies [][]byte
	spans  []*tracepb.ResourceSpans
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var req coltracepb.ExportTraceServiceRequest
	if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" || proto.Unmarshal(body, &req) != nil {
		http.Error(w, "not an OTLP/HTTP protobuf export", http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	rc.bodies = append(rc.bodies, body)
	rc.spans = append(rc.spans, req.ResourceSpans...)
	rc.mu.Unlock()
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

// With OTEL_EXPORTER_OTLP_ENDPOINT set, the server sends its spans over
// OTLP/HTTP, all of them by the time it has stopped: the request's, the
// resolver's and the statement's, under service.name estatecrm, and not
// one byte of the login and password the request carried.
func TestServeExportsTracesOverOTLP(t *testing.T) {
	rc := &receiver{}
	collector := httptest.NewServer(rc)
	defer collector.Close()
	dir := t.TempDir()
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chdir(wd) })

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	vars := map[string]string{"SEED": "false", "OTEL_EXPORTER_OTLP_ENDPOINT": collector.URL}
	go func() { done <- run(ctx, []string{"-addr", "127.0.0.1:0"}, env(vars), &stdout, &stderr) }()
	base := waitForURL(t, &stdout, done)
	if !strings.Contains(stdout.String(), "traces:   OTLP to "+collector.URL+"/v1/traces") {
		t.Errorf("the banner does not say where traces go:\n%s", stdout.String())
	}
	const login, password = "wang.wei.13912345678", "s3cret-Passw0rd!"
	answer := post(t, base, "", `{"query":"mutation Login($l: String!, $p: String!) { login(input: {login: $l, password: $p}) { accessToken } }","variables":{"l":"`+login+`","p":"`+password+`"}}`)
	if !strings.Contains(string(answer), "UNAUTHENTICATED") {
		t.Fatalf("login of nobody: %s", answer)
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

	rc.mu.Lock()
	defer rc.mu.Unlock()
	var request, resolver, statement bool
	for _, rs := range rc.spans {
		service := ""
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.Key == "service.name" {
				service = kv.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				if service != "estatecrm" {
					t.Errorf("span %q of service %q", s.Name, service)
				}
				switch {
				case s.Name == "mutation Login" && s.Kind == tracepb.Span_SPAN_KIND_SERVER:
					request = true
					for _, kv := range s.Attributes {
						if kv.Key == "error.type" && kv.GetValue().GetStringValue() != "UNAUTHENTICATED" {
							t.Errorf("request span's error.type %v", kv.GetValue())
						}
					}
				case s.Name == "Mutation.login":
					resolver = true
				case s.Name == "SELECT users" && s.Kind == tracepb.Span_SPAN_KIND_CLIENT:
					statement = true
				}
			}
		}
	}
	if !request || !resolver || !statement {
		t.Fatalf("exported: request span %v, resolver span %v, statement span %v (of %d batches); stderr:\n%s",
			request, resolver, statement, len(rc.bodies), stderr.String())
	}
	for _, b := range rc.bodies {
		for _, secret := range []string{login, password, "13912345678"} {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("an exported batch holds %q", secret)
			}
		}
	}
}
