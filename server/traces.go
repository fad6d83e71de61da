package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// defaultTracesEndpoint is OpenTelemetry's default OTLP/HTTP endpoint, used
// when OTEL_TRACES_EXPORTER=otlp names none.
const defaultTracesEndpoint = "http://localhost:4318/v1/traces"

// tracesEndpoint decides where traces go, "" for nowhere (the default):
// the -traces-endpoint flag, else the standard OpenTelemetry variables.
// OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none turn tracing off;
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is the URL spans are posted to,
// OTEL_EXPORTER_OTLP_ENDPOINT the base it is under (+ /v1/traces), and
// OTEL_TRACES_EXPORTER=otlp alone means localhost:4318. Only OTLP over HTTP
// is built in: a gRPC protocol is refused rather than sent to the wrong
// port.
func tracesEndpoint(flag string, getenv func(string) string) (string, error) {
	if flag != "" {
		return checkTracesURL(flag, "traces-endpoint", true)
	}
	if on, err := strconv.ParseBool(getenv("OTEL_SDK_DISABLED")); err == nil && on {
		return "", nil
	}
	exporter := strings.TrimSpace(strings.ToLower(getenv("OTEL_TRACES_EXPORTER")))
	switch exporter {
	case "none":
		return "", nil
	case "", "otlp":
	default:
		return "", fmt.Errorf("OTEL_TRACES_EXPORTER %q: want otlp or none", exporter)
	}
	protocol := getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") // the traces' own setting wins
	if protocol == "" {
		protocol = getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	switch protocol {
	case "", "http/protobuf", "http/json":
	case "grpc":
		return "", fmt.Errorf("OTLP protocol grpc: only OTLP over HTTP is built in; use http/protobuf (the collector's port 4318)")
	default:
		return "", fmt.Errorf("OTLP protocol %q: want http/protobuf or http/json", protocol)
	}
	if u := getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"); u != "" {
		return checkTracesURL(u, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", true)
	}
	if u := getenv("OTEL_EXPORTER_OTLP_ENDPOINT"); u != "" {
		return checkTracesURL(u, "OTEL_EXPORTER_OTLP_ENDPOINT", false)
	}
	if exporter == "otlp" {
		return defaultTracesEndpoint, nil
	}
	return "", nil
}

// checkTracesURL checks an http(s) URL and returns where spans go: a
// signal's own URL as it is (with no path, /v1/traces), a base URL with
// /v1/traces after its path.
func checkTracesURL(raw, name string, own bool) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%s: want an http:// or https:// URL such as http://127.0.0.1:4318", name)
	}
	if !own || u.Path == "" || u.Path == "/" {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/traces"
	}
	return u.String(), nil
}

// redactedURL is u for a log line or the banner, without a password.
func redactedURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	return u.Redacted()
}

// tracerProvider returns the provider whose spans are batched to endpoint
// over OTLP/HTTP, or nil when endpoint is "" (tracing off: nothing is
// built, and the handler and the jobs make no span). The exporter reads
// the other standard variables itself (OTEL_EXPORTER_OTLP_HEADERS,
// _TIMEOUT, _COMPRESSION, _CERTIFICATE…), the provider the sampler
// (OTEL_TRACES_SAMPLER, by default parent-based always-on: a request with a
// sampled traceparent is traced, one without is sampled by the server) and
// the batching (OTEL_BSP_*); the resource is service.name estatecrm unless
// OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES say otherwise. An export
// that fails is logged, at most once a batch.
func tracerProvider(ctx context.Context, endpoint string, logger *slog.Logger) (*sdktrace.TracerProvider, error) {
	if endpoint == "" {
		return nil, nil
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(endpoint))
	if err != nil {
		return nil, fmt.Errorf("traces exporter: %w", err)
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName("estatecrm")),
		resource.WithFromEnv(), // after: OTEL_SERVICE_NAME wins
		resource.WithTelemetrySDK(),
		resource.WithHost(),
		resource.WithProcessPID(),
	)
	if err != nil {
		return nil, fmt.Errorf("traces resource: %w", err)
	}
	// The SDK reports its own failures (an unreachable collector) through
	// this process-wide handler; the default would write unstructured
	// lines to stderr beside the JSON log.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		logger.Warn("traces", "err", err.Error())
	}))
	return sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res)), nil
}

// flushTraces sends the spans still batched, for at most 5 seconds, once
// the server has stopped.
func flushTraces(tp *sdktrace.TracerProvider, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tp.Shutdown(ctx); err != nil {
		logger.Warn("traces not all sent at shutdown", "err", err.Error())
	}
}
