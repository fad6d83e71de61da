package main

import (
	"database/sql"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"estatecrm/metrics"
)

// metricsRegistry returns the registry of the process's metrics, or nil
// when METRICS_ADDR is off (then nothing is counted at all).
func metricsRegistry(cfg Config, db *sql.DB) *prometheus.Registry {
	if cfg.MetricsAddr == MetricsOff {
		return nil
	}
	return metrics.NewRegistry(db)
}

// metricsServer listens on METRICS_ADDR and returns the server of /metrics
// (and of /debug/pprof/ with PPROF) there, or nil when metrics are served on
// the main listener or not at all.
// A listener of its own can be bound to an address only the monitoring
// network reaches, since /metrics tells operation names and volumes.
func metricsServer(cfg Config, reg *prometheus.Registry, logger *slog.Logger) (*http.Server, net.Listener, error) {
	if reg == nil || cfg.MetricsAddr == "" {
		return nil, nil, nil
	}
	ln, err := net.Listen("tcp", cfg.MetricsAddr)
	if err != nil {
		return nil, nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics.Handler(reg))
	if cfg.Pprof {
		// Registered on this mux only: net/http/pprof also registers on
		// http.DefaultServeMux, which nothing here serves.
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	return &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}, ln, nil
}
