// Package api assembles the HTTP server: the GraphQL endpoint with its
// transports and limits, GraphiQL, health and readiness, and the middleware
// every request passes through.
package api

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/99designs/gqlgen/graphql/playground"
	coderws "github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"estatecrm/aftersales"
	"estatecrm/auth"
	"estatecrm/clock"
	"estatecrm/cost"
	"estatecrm/ent"
	"estatecrm/graph"
	"estatecrm/graph/guard"
	"estatecrm/idempotency"
	"estatecrm/live"
	"estatecrm/media"
	"estatecrm/metrics"
	"estatecrm/people"
	"estatecrm/storage"
	"estatecrm/webhook"
)

// Config is what the HTTP layer needs to know.
type Config struct {
	// GraphiQL serves the GraphiQL page at /.
	GraphiQL bool
	// Introspection answers __schema queries.
	Introspection bool
	// RequestTimeout bounds the work of one request.
	RequestTimeout time.Duration
	// MaxBodyBytes caps a request body (uploads have their own limits).
	MaxBodyBytes int64
	// UploadDir holds uploads of requests in flight; "" is the system's.
	UploadDir string
	// Limits are the request budgets per user and per client address.
	Limits RequestLimits
	// SocketRecheck is how often an open WebSocket checks that its
	// credentials were not revoked; 0 means the Revocations TTL.
	SocketRecheck time.Duration
	// SocketInitTimeout is how long a new WebSocket may take to send
	// connection_init before it is closed; 0 means DefaultSocketInitTimeout.
	SocketInitTimeout time.Duration
	// CORSOrigins are the browser origins that may call the API (see
	// ParseOrigins); none by default.
	CORSOrigins []string
	// ServeMetrics serves Deps.Metrics at GET /metrics on this handler
	// (otherwise the server serves it on a listener of its own, or not at all).
	ServeMetrics bool
	// GridCacheBytes bounds the sales-grid answers kept for reuse (see
	// gridCache); 0 means DefaultGridCacheBytes, a negative value keeps none.
	// Answers are kept only when Deps.Hub is installed on Deps.Client.
	GridCacheBytes int
	// WebhookHosts are the hosts webhook endpoints may point to; none by default.
	WebhookHosts webhook.Allowlist
}

// DefaultSocketInitTimeout is how long a new WebSocket may take to send
// connection_init (graphql-transport-ws) unless Config says otherwise.
const DefaultSocketInitTimeout = 10 * time.Second

// Deps are the services the handler uses.
type Deps struct {
	Client *ent.Client
	// DB is pinged by /readyz.
	DB       *sql.DB
	Logger   *slog.Logger
	Signer   *auth.Signer
	Sessions *auth.Sessions
	APIKeys  *auth.APIKeys
	// Revoked tells whether a token's user and session or a key are still
	// good; nil means a Revocations over Client with the default TTL and Now.
	Revoked *auth.Revocations
	// Now is the clock of the domain rules; nil means time.Now.
	Now func() time.Time
	// Zone is the company's time zone, where "today" is; nil means Asia/Shanghai.
	Zone *time.Location
	// Hub carries unit status changes to subscriptions (installed on Client).
	Hub *live.Hub
	// Photos keeps complaint photos, and the catalogue's media (package
	// media) under keys of their own.
	Photos storage.Store
	// SLA is the complaint deadline policy; nil means the default.
	SLA aftersales.Policy
	// Costs keeps the portal keys' query-cost buckets (see package cost);
	// nil means a cost.Memory of this process alone.
	Costs cost.Store
	// Metrics receives the API's figures (see package metrics); nil means
	// none are kept.
	Metrics *prometheus.Registry
	// Sockets are the open WebSockets, which the server closes when it
	// shuts down (Sockets.Shutdown); nil means a set of the handler's own.
	Sockets *Sockets
	// Tracer makes the spans of requests (see traceRequests and package
	// tracing); nil means tracing is off, at no cost.
	Tracer trace.TracerProvider
}

// New returns the handler of the whole API.
func New(cfg Config, deps Deps) http.Handler {
	mux := http.NewServeMux()
	if deps.Revoked == nil {
		deps.Revoked = auth.NewRevocations(deps.Client, 0, deps.Now)
	}
	if deps.Sockets == nil {
		deps.Sockets = NewSockets()
	}
	links := photoLinks{key: deps.Signer.Derive("photo-links"), now: deps.Now}
	if links.now == nil {
		links.now = time.Now
	}
	var m *metrics.API
	if deps.Metrics != nil {
		m = metrics.NewAPI(deps.Metrics)
		if cfg.ServeMetrics {
			mux.Handle("GET /metrics", metrics.Handler(deps.Metrics))
		}
	}
	mux.Handle("/query", graphQL(cfg, deps, links, m))
	mux.Handle("GET /photos/{id}", authenticate(deps.Signer, deps.APIKeys, deps.Revoked, servePhotos(deps.Client, deps.Photos, links)))
	mux.Handle("GET /media/{id}/{hash}", authenticate(deps.Signer, deps.APIKeys, deps.Revoked, serveMedia(deps.Client, deps.Photos)))
	mux.Handle("GET /exports/customers/{id}", authenticate(deps.Signer, deps.APIKeys, deps.Revoked, serveExport(deps.Client, links.now)))
	if cfg.GraphiQL {
		mux.Handle("GET /{$}", playground.Handler("estatecrm", "/query"))
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	mux.HandleFunc("GET /readyz", readyz(deps.DB))
	return instrument(m, requestID(traceRequests(deps.Tracer, logRequests(deps.Logger, recoverPanics(deps.Logger, secureHeaders(cfg.CORSOrigins, cfg.GraphiQL, withClock(links.now, mux)))))))
}

// withClock gives every request the domain's clock (deps.Now), once: the
// privacy rules and hooks that depend on time read it from the context
// (clock.Now), the resolvers get the same one through graph.Deps.Now.
func withClock(now func() time.Time, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(clock.NewContext(r.Context(), now)))
	})
}

func graphQL(cfg Config, deps Deps, links photoLinks, m *metrics.API) http.Handler {
	srv := handler.New(graph.NewSchema(graph.Deps{
		Client: deps.Client, Sessions: deps.Sessions, Now: deps.Now, Zone: deps.Zone, Hub: deps.Hub,
		Desk:     &aftersales.Desk{SLA: deps.SLA, Photos: deps.Photos, Hub: deps.Hub},
		PhotoURL: links.url, Logger: deps.Logger, WebhookHosts: cfg.WebhookHosts,
		Media: &media.Library{Store: deps.Photos},
	}))
	srv.AddTransport(transport.Options{})
	// GraphQL over HTTP's status codes: guard.Execute.
	srv.AddTransport(guard.GET{}) // queries only: a mutation over GET is refused with a code
	srv.AddTransport(guard.POST{})
	srv.AddTransport(newUploads(cfg.UploadDir, deps.Logger))
	recheck := cfg.SocketRecheck
	if recheck <= 0 {
		recheck = deps.Revoked.TTL()
	}
	initTimeout := cfg.SocketInitTimeout
	if initTimeout <= 0 {
		initTimeout = DefaultSocketInitTimeout
	}
	srv.AddTransport(transport.Websocket{
		KeepAlivePingInterval: 10 * time.Second,
		// A client that connects and never says who it is would hold its
		// connection (and a goroutine) for ever: closed with 1002.
		InitTimeout:    initTimeout,
		InitFunc:       socketAuth{deps.Signer, deps.APIKeys, deps.Revoked, recheck}.init,
		Implementation: closeCodes{transport.CoderWebsocketImplementation{AcceptOptions: coderws.AcceptOptions{OriginPatterns: socketOrigins(cfg.CORSOrigins)}}},
	})
	// The walkers' verdicts on the operations of the documents cached.
	memo := guard.NewMemo()
	srv.SetQueryCache(graph.NewQueryCache(1000, memo)) // which also keeps each document's collected fields
	srv.SetErrorPresenter(graph.ErrorPresenter(deps.Logger))
	srv.SetRecoverFunc(recoverResolver(deps.Logger))
	if m != nil {
		use(srv, operationMetrics{m}) // first: it times and sees what all the others do
	}
	if deps.Tracer != nil {
		use(srv, graph.Tracing{}) // early: its response sees every refusal's code
	}
	// Limits first: it must measure an operation before PageSize walks it,
	// and answer before the transactioner sees a request without operation.
	limits := guard.DefaultLimits()
	limits.Memo = memo
	guard.Install(srv, limits)
	use(srv, guard.Text{Memo: memo}) // a NUL in any string input: refused before anything runs
	if cfg.Introspection {
		use(srv, extension.Introspection{})
	} else {
		use(srv, guard.NoIntrospection{Memo: memo}) // FORBIDDEN before anything runs, not INTERNAL
	}
	use(srv, guard.PageSize{Max: guard.MaxPageSize, Memo: memo})
	// Portal keys pay for what they ask by cost (users are limited by
	// requests, in limitRequests): after the refusals for shape, which
	// cost nothing, and before anything opens a transaction or claims an
	// idempotency key, so that a refused operation runs nothing.
	costs := deps.Costs
	if costs == nil {
		costs = cost.NewMemory()
	}
	use(srv, &cost.Limiter{Store: costs})
	// Idempotency keys wrap the mutation transaction: Replay claims the key
	// outside it, Record keeps the answer inside it.
	keys := idempotency.New(deps.Client, deps.Now)
	use(srv, idempotency.Replay{Keys: keys, Unkept: people.Unkept})
	use(srv, graph.NewTransactioner(deps.Client))
	use(srv, idempotency.Record{Keys: keys})
	use(srv, operationName{})
	use(srv, graph.PayloadViewer{}) // activateOwner's payload is the new homeowner's (mutations naming it only)
	if deps.Hub != nil && cfg.GridCacheBytes >= 0 {
		size := cfg.GridCacheBytes
		if size == 0 {
			size = DefaultGridCacheBytes
		}
		use(srv, newGridCache(deps.Client, deps.Hub, size))
	}
	limited := limitRequests(cfg.Limits, links.now, srv)
	return withCloseCode(deps.Sockets, withTimeout(cfg.RequestTimeout, limitBody(cfg.MaxBodyBytes, authenticate(deps.Signer, deps.APIKeys, deps.Revoked, limited))))
}

func readyz(db *sql.DB) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "application/json")
		if err := db.PingContext(ctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"status":"unavailable","reason":"database unreachable"}` + "\n"))
			return
		}
		_, _ = w.Write([]byte(`{"status":"ready"}` + "\n"))
	}
}

// use adds an extension to srv. None may be a graphql.FieldInterceptor:
// the executor that graph/gen writes marshals the plain fields of objects
// (a struct field, a marshaller that cannot fail) without gqlgen's field
// middleware, so an interceptor of every field would silently miss most of
// them. guard.Install's extensions are checked by TestNoFieldInterceptor.
func use(srv *handler.Server, e graphql.HandlerExtension) {
	if _, ok := e.(graphql.FieldInterceptor); ok {
		panic(fmt.Sprintf("api: %s intercepts fields, which the generated executor's plain fields skip (see graph/gen)", e.ExtensionName()))
	}
	srv.Use(e)
}
