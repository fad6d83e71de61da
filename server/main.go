// Command server runs the estatecrm API. With no configuration it starts on
// an embedded SQLite file full of demo data; DATABASE_URL=postgres://… runs it
// on PostgreSQL. See README.md.
package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // COMPANY_TIMEZONE works in an image without a zone database

	"entgo.io/ent/dialect"

	"go.opentelemetry.io/otel/trace"

	"estatecrm/api"
	"estatecrm/auth"
	"estatecrm/cost"
	"estatecrm/database"
	"estatecrm/ent"
	"estatecrm/jobs"
	"estatecrm/lease"
	"estatecrm/live"
	"estatecrm/seed"
	"estatecrm/storage"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "estatecrm:", err)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	if cfg.Command == "healthcheck" {
		return healthcheck(ctx, cfg.Addr)
	}
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	db, err := database.Open(ctx, cfg.DatabaseURL, database.Pool{MaxOpen: cfg.DBMaxConns, MaxIdle: cfg.DBMaxConns})
	if err != nil {
		return err
	}
	defer db.Close()
	client := db.Client()
	sys := auth.SystemContext(ctx)

	switch cfg.Command {
	case "migrate":
		n, err := db.MigrateUp(sys)
		if err != nil {
			return err
		}
		switch {
		case n < 0:
			fmt.Fprintln(stdout, "SQLite schema created from the ent schema")
		case n == 0:
			fmt.Fprintln(stdout, "database schema was already up to date: no migration to apply")
		default:
			fmt.Fprintf(stdout, "applied %d migrations: database schema is up to date\n", n)
		}
		return nil
	case "seed":
		if err := prepare(sys, cfg, db); err != nil {
			return err
		}
		res, err := seed.Run(sys, client, time.Now())
		if err != nil {
			return err
		}
		printSeed(stdout, res)
		return nil
	}

	if err := prepare(sys, cfg, db); err != nil {
		return err
	}
	var logins []seed.Login
	if cfg.SeedOnStart {
		res, err := seed.Run(sys, client, time.Now())
		switch {
		case errors.Is(err, seed.ErrNotEmpty):
			logger.Warn("not seeding: the database holds data that is not the demo data")
		case err != nil:
			return err
		default:
			logins = res.Logins
		}
	}
	return serve(ctx, cfg, db, client, logger, stdout, logins)
}

// prepare brings the schema up to date where that is automatic (the embedded
// SQLite, or PostgreSQL with -migrate) and otherwise checks it is.
func prepare(ctx context.Context, cfg Config, db *database.DB) error {
	if cfg.Embedded() || cfg.MigrateOnStart {
		return db.Migrate(ctx)
	}
	return checkMigrated(ctx, db)
}

// checkMigrated refuses to serve a PostgreSQL database with migrations not yet applied.
func checkMigrated(ctx context.Context, db *database.DB) error {
	status, err := db.MigrationStatus(ctx)
	if err != nil {
		return err
	}
	for _, s := range status {
		if s.State != "applied" {
			return fmt.Errorf("the database has migrations not yet applied: run `server migrate` or start with -migrate")
		}
	}
	return nil
}

func serve(ctx context.Context, cfg Config, db *database.DB, client *ent.Client, logger *slog.Logger, stdout io.Writer, logins []seed.Login) error {
	// Checked first: a wrong BLOB_URL stops the server before anything runs.
	photos, err := storage.New(ctx, cfg.Blobs)
	if err != nil {
		return fmt.Errorf("photo storage: %w", err)
	}
	hub := live.NewHub()
	hub.Logger = logger
	hub.Install(client)
	if db.Dialect == dialect.Postgres { // other processes' events wake this one's hub
		if err := hub.Listen(ctx, db.URL); err != nil {
			return fmt.Errorf("listen for live events: %w", err)
		}
	}
	if err := hub.Start(ctx, client); err != nil {
		return fmt.Errorf("start live events: %w", err)
	}
	if cfg.NATSURL != "" {
		n := live.NATS{URL: cfg.NATSURL, Stream: cfg.NATSStream, MaxAge: cfg.OutboxRetention}
		if db.Dialect == dialect.Postgres {
			n.Lock = db.SQL // one relay per deployment
		}
		if err := hub.UseNATS(ctx, n); err != nil {
			return fmt.Errorf("live events through NATS: %w", err)
		}
	}
	tp, err := tracerProvider(ctx, cfg.TracesEndpoint, logger)
	if err != nil {
		return err
	}
	var tracer trace.TracerProvider // nil: off (a nil *sdktrace.TracerProvider would not be a nil interface)
	if tp != nil {
		tracer = tp
		defer flushTraces(tp, logger)
	}
	signer, err := auth.NewSigner(cfg.JWTKey, cfg.AccessTokenTTL, nil)
	if err != nil {
		return err
	}
	if cfg.UploadDir != "" {
		if err := os.MkdirAll(cfg.UploadDir, 0o700); err != nil {
			return fmt.Errorf("upload directory: %w", err)
		}
	}
	background := startBackground(ctx, cfg, db, client, hub, photos, logger, tracer)
	sessions := auth.NewSessions(client, signer, cfg.RefreshTokenTTL, nil,
		auth.WithPasswordChecker(auth.NewHashGate(cfg.PasswordHashConcurrency)))
	reg := metricsRegistry(cfg, db.SQL)
	var costs cost.Store = cost.NewMemory()
	var leases *cost.Leasing
	if cfg.CostStore == CostPostgres {
		// Leased per process: most portal requests send no statement for
		// their cost (cost/lease.go).
		leases = cost.NewLeasing(cost.NewPostgres(db.SQL), 0)
		costs = leases
	}
	sockets := api.NewSockets()
	handler := api.New(api.Config{
		ServeMetrics:   reg != nil && cfg.MetricsAddr == "",
		GraphiQL:       cfg.GraphiQL,
		Introspection:  cfg.Introspection,
		RequestTimeout: cfg.RequestTimeout,
		MaxBodyBytes:   cfg.MaxBodyBytes,
		UploadDir:      cfg.UploadDir,
		Limits:         api.RequestLimits{PerUser: cfg.UserRateLimit, PerAddress: cfg.AnonymousRateLimit, Proxies: cfg.TrustedProxies},
		CORSOrigins:    cfg.CORSOrigins,
		WebhookHosts:   cfg.WebhookHosts,
	}, api.Deps{
		Client:   client,
		DB:       db.SQL,
		Logger:   logger,
		Signer:   signer,
		Sessions: sessions,
		APIKeys:  auth.NewAPIKeys(client, nil),
		Zone:     cfg.Zone,
		Hub:      hub,
		Photos:   photos,
		SLA:      cfg.SLA,
		Costs:    costs,
		Metrics:  reg,
		Sockets:  sockets,
		Tracer:   tracer,
	})
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute, // 9 photos of 10 MB from a phone
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	msrv, mln, err := metricsServer(cfg, reg, logger)
	if err != nil {
		ln.Close()
		return fmt.Errorf("metrics listener: %w", err)
	}
	metricsURL := ""
	switch {
	case msrv != nil:
		metricsURL = "http://" + mln.Addr().String() + "/metrics"
	case reg != nil:
		metricsURL = "http://" + ln.Addr().String() + "/metrics"
	}
	printBanner(stdout, cfg, ln.Addr().String(), metricsURL, logins)
	logger.Info("listening", "addr", ln.Addr().String(), "embedded", cfg.Embedded(), "metrics", metricsURL, "blobs", cfg.Blobs.String(), "traces", redactedURL(cfg.TracesEndpoint))

	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	if msrv != nil {
		go func() { errc <- msrv.Serve(mln) }()
		defer msrv.Close() // scrapes are short: no draining
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down: waiting for in-flight requests", "timeout", cfg.ShutdownTimeout.String())
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	// WebSockets are told to reconnect (1012) while requests drain: the
	// server does not wait for hijacked connections, and exiting with them
	// open would leave their clients a dropped connection.
	closed := make(chan error, 1)
	go func() { closed <- sockets.Shutdown(shutdownCtx) }()
	// The portal keys' leased points go back to their shared buckets once
	// no request can spend them; after a drain that ran out of time too (a
	// request still running then pays the shared bucket), with a moment of
	// its own, or they would stay out until the buckets restore them.
	giveBackLeases := func(ctx context.Context) {
		if leases == nil {
			return
		}
		if err := leases.Close(ctx); err != nil {
			logger.Warn("shutdown: query-cost leases not given back", "err", err.Error())
		}
	}
	if err := srv.Shutdown(shutdownCtx); err != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		giveBackLeases(ctx)
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-closed; err != nil {
		logger.Warn("shutdown: WebSockets still open at the deadline", "err", err.Error())
	}
	giveBackLeases(shutdownCtx)
	select { // the lease goes back once the work has stopped: another process takes over at once
	case <-background:
	case <-shutdownCtx.Done():
	}
	logger.Info("stopped")
	return nil
}

func printBanner(w io.Writer, cfg Config, addr, metricsURL string, logins []seed.Login) {
	base := "http://" + addr
	fmt.Fprintf(w, "estatecrm is listening on %s\n  GraphQL:  POST %s/query\n", base, base)
	if cfg.GraphiQL {
		fmt.Fprintf(w, "  GraphiQL: %s/\n", base)
	}
	if metricsURL != "" {
		fmt.Fprintf(w, "  metrics:  %s\n", metricsURL)
	}
	if cfg.Pprof {
		fmt.Fprintf(w, "  pprof:    %s/debug/pprof/\n", strings.TrimSuffix(metricsURL, "/metrics"))
	}
	if cfg.TracesEndpoint != "" {
		fmt.Fprintf(w, "  traces:   OTLP to %s\n", redactedURL(cfg.TracesEndpoint))
	}
	if cfg.Embedded() {
		fmt.Fprintf(w, "  database: embedded SQLite (%s)\n", database.DefaultSQLitePath)
	}
	if cfg.JWTKeyGenerated {
		fmt.Fprintln(w, "  tokens:   signed with a key made up at start (set JWT_SECRET to keep sessions across restarts)")
	}
	printLogins(w, logins)
}

func printSeed(w io.Writer, res *seed.Result) {
	if res.Created {
		fmt.Fprintln(w, "demo data created")
	} else {
		fmt.Fprintln(w, "demo data already present: nothing created")
	}
	printLogins(w, res.Logins)
}

func printLogins(w io.Writer, logins []seed.Login) {
	if len(logins) == 0 {
		return
	}
	fmt.Fprintf(w, "  sign in: mutation { login(input: {login: \"agent.hz1\", password: %q}) { accessToken } }\n", seed.DemoPassword)
	fmt.Fprintln(w, "           then send the header  Authorization: Bearer <accessToken>")
	fmt.Fprintf(w, "  demo logins (password %q):\n", seed.DemoPassword)
	for _, l := range logins {
		fmt.Fprintf(w, "    %-8s %-12s %s %s\n", l.Role, l.Login, l.Name, l.Note)
	}
	fmt.Fprintf(w, "  demo listing portal: send the header  X-API-Key: %s\n", seed.DemoAPIKey)
}

// healthcheck asks a running server for /healthz: a container image without
// a shell or curl can still have a HEALTHCHECK.
func healthcheck(ctx context.Context, addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/healthz", nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("unhealthy: %w", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("unhealthy: /healthz answered %d", res.StatusCode)
	}
	return nil
}

// startBackground starts the background work (jobs.Start): the
// deployment's in whichever process holds the lease, this process's own
// here. The channel is closed once all of it has stopped, after ctx ends.
func startBackground(ctx context.Context, cfg Config, db *database.DB, client *ent.Client, hub *live.Hub, photos storage.Store, logger *slog.Logger, tracer trace.TracerProvider) <-chan struct{} {
	var shared *sql.DB // SQLite: one process, which leads
	if db.Dialect == dialect.Postgres {
		shared = db.SQL
	}
	leader := lease.New(shared, "background")
	leader.Logger = logger
	return jobs.Start(ctx, leader, jobs.Config{Client: client, Photos: photos, UploadDir: cfg.UploadDir, WebhookPoll: cfg.WebhookPoll, WebhookWake: hub.ListingsChanged(),
		OutboxRetention: cfg.OutboxRetention, Logger: logger, Tracer: tracer})
}
