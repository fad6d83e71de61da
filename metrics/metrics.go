// Package metrics is what the server reports to Prometheus: the Go runtime,
// the process and the database pool (NewRegistry), and the API's own figures
// (API): latency per GraphQL operation, errors by code, requests in flight,
// open WebSockets and subscriptions.
//
// Everything lives in a registry the server makes and passes down, never in
// the client library's global one, so two servers in one test process do not
// share counters.
package metrics

import (
	"database/sql"
	"maps"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"estatecrm/apperr"
)

// MaxOperations is how many distinct (operation name, type) pairs get series
// of their own. Operation names are chosen by clients: past this many, a new
// one is reported as Other, so a client inventing names cannot grow the
// series (and Prometheus' memory) without bound. The app's own operations are
// a few dozen.
const MaxOperations = 200

// maxNameLen is the longest operation name kept as a label; a name is part
// of the request, and a label of a kilobyte is no use on a dashboard.
const maxNameLen = 80

// The operation labels that are not names a client sent. Parentheses cannot
// appear in a GraphQL name, so no operation can be confused with them.
const (
	// Anonymous is the operation label of an operation without a name.
	Anonymous = "(anonymous)"
	// Other is the operation label of names past MaxOperations or too long.
	Other = "(other)"
)

// NewRegistry returns a registry holding the Go runtime and process
// collectors and, when db is not nil, the database pool's figures (open, in
// use, idle connections, waits and time waited) as go_sql_* with
// db_name="estatecrm".
func NewRegistry(db *sql.DB) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	if db != nil {
		reg.MustRegister(collectors.NewDBStatsCollector(db, "estatecrm"))
	}
	return reg
}

// Handler serves reg in the Prometheus text format. A few scrapes at once
// are enough: more are refused rather than piling up collections.
func Handler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		Registry:            reg, // promhttp's own errors are counted there too
		MaxRequestsInFlight: 4,
		Timeout:             10 * time.Second,
	})
}

// API holds the figures of the HTTP and GraphQL layer. Its methods are safe
// for concurrent use, take no lock and allocate nothing once an operation's
// series exists.
type API struct {
	// InFlight is the HTTP requests being served, WebSockets aside.
	InFlight prometheus.Gauge
	// Sockets is the open WebSocket connections.
	Sockets prometheus.Gauge
	// Subscriptions is the GraphQL subscriptions running.
	Subscriptions prometheus.Gauge

	latency *prometheus.HistogramVec
	// errors has one counter per known code, made up front and only read
	// afterwards; any other code counts as otherError.
	errors     map[string]prometheus.Counter
	otherError prometheus.Counter

	// fixed are the series of Anonymous and Other, made up front and only
	// read afterwards; they do not count against MaxOperations.
	fixed map[opKey]prometheus.Observer

	// ops are the series of named operations. Readers take the map without
	// a lock; the few writers (at most MaxOperations, ever) copy it under mu
	// and swap it in.
	mu  sync.Mutex
	ops atomic.Pointer[map[opKey]prometheus.Observer]
}

type opKey struct{ name, kind string }

// codes are the extensions.code values of SPEC.md §3.6.
var codes = []apperr.Code{
	apperr.Unauthenticated, apperr.Forbidden, apperr.NotFound, apperr.BadUserInput,
	apperr.Conflict, apperr.RateLimited, apperr.Unavailable, apperr.Internal,
}

// NewAPI registers the API's figures on reg.
func NewAPI(reg prometheus.Registerer) *API {
	a := &API{
		InFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "estatecrm", Subsystem: "http", Name: "requests_in_flight",
			Help: "HTTP requests being served, WebSocket connections aside.",
		}),
		Sockets: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "estatecrm", Subsystem: "websocket", Name: "connections",
			Help: "Open WebSocket connections.",
		}),
		Subscriptions: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "estatecrm", Subsystem: "graphql", Name: "subscriptions_active",
			Help: "GraphQL subscriptions running.",
		}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "estatecrm", Subsystem: "graphql", Name: "operation_duration_seconds",
			Help: "Time from receiving a GraphQL query or mutation to its answer being ready, by operation name " +
				"(" + Anonymous + " without one, " + Other + " past the cap on distinct names) and type.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"operation", "type"}),
		errors: make(map[string]prometheus.Counter, len(codes)),
		fixed:  make(map[opKey]prometheus.Observer),
	}
	a.ops.Store(&map[opKey]prometheus.Observer{})
	for _, name := range []string{Anonymous, Other} {
		for _, kind := range []string{"query", "mutation"} {
			a.fixed[opKey{name, kind}] = a.latency.WithLabelValues(name, kind)
		}
	}
	errs := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "estatecrm", Subsystem: "graphql", Name: "errors_total",
		Help: "Errors answered, by extensions.code (OTHER for a code outside SPEC.md §3.6).",
	}, []string{"code"})
	for _, c := range codes {
		a.errors[string(c)] = errs.WithLabelValues(string(c)) // every code shows, at 0 until it happens
	}
	a.otherError = errs.WithLabelValues("OTHER")
	reg.MustRegister(a.InFlight, a.Sockets, a.Subscriptions, a.latency, errs)
	return a
}

// Error counts one error answered with code.
func (a *API) Error(code string) {
	if c, ok := a.errors[code]; ok {
		c.Inc()
		return
	}
	a.otherError.Inc()
}

// Observe records that the operation name of type kind (query, mutation)
// took d. name is "" for an anonymous operation.
func (a *API) Observe(name, kind string, d time.Duration) {
	a.series(name, kind).Observe(d.Seconds())
}

// series returns the histogram of the operation, making it the first time
// while fewer than MaxOperations exist.
func (a *API) series(name, kind string) prometheus.Observer {
	switch {
	case name == "":
		return a.fixedSeries(Anonymous, kind)
	case len(name) > maxNameLen:
		return a.fixedSeries(Other, kind)
	}
	key := opKey{name, kind}
	ops := *a.ops.Load()
	if o, ok := ops[key]; ok {
		return o
	}
	if len(ops) >= MaxOperations { // a flood of invented names takes no lock
		return a.fixedSeries(Other, kind)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	ops = *a.ops.Load()
	if o, ok := ops[key]; ok {
		return o
	}
	if len(ops) >= MaxOperations {
		return a.fixedSeries(Other, kind)
	}
	// The name may be a slice of a large request body: keep a copy of its own.
	key.name = strings.Clone(name)
	o := a.latency.WithLabelValues(key.name, kind)
	next := make(map[opKey]prometheus.Observer, len(ops)+1)
	maps.Copy(next, ops)
	next[key] = o
	a.ops.Store(&next)
	return o
}

// fixedSeries returns the series of Anonymous or Other for kind. The kinds
// are the GraphQL operation types, so there are few; the two that are timed
// are ready made.
func (a *API) fixedSeries(name, kind string) prometheus.Observer {
	if o, ok := a.fixed[opKey{name, kind}]; ok {
		return o
	}
	return a.latency.WithLabelValues(name, kind)
}
