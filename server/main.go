// Command server runs the estatecrm API. With no configuration it starts on
// an embedded SQLite file full of demo data; DATABASE_URL=postgres://… runs it
// on PostgreSQL. See README.md.
package main

import (
	"context"

	"entgo.io/ent/dialect"
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

	"estatecrm/aftersales"
	"estatecrm/api"
	"estatecrm/auth"
	"estatecrm/cost"
	"estatecrm/database"
	"estatecrm/ent"
	"estatecrm/listing"
	"estatecrm/live"
	"estatecrm/media"
	"estatecrm/outbox"
	"estatecrm/sales"
	"estatecrm/seed"
	"estatecrm/storage"
	"estatecrm/webhook"
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
	go pruneOutbox(ctx, client, cfg.OutboxRetention, logger)
	go sweepHolds(ctx, client, logger)
	go pruneListingChanges(ctx, client, logger)
	// Webhooks: every process runs a worker; each endpoint is sent to by
	// one at a time (a lease on its row, see webhook.Worker).
	go (&webhook.Worker{Client: client, Poll: cfg.WebhookPoll, Logger: logger, Wake: hub.ListingsChanged()}).Run(ctx)
	signer, err := auth.NewSigner(cfg.JWTKey, cfg.AccessTokenTTL, nil)
	if err != nil {
		return err
	}
	photos, err := storage.NewDir(cfg.PhotoDir)
	if err != nil {
		return fmt.Errorf("photo directory: %w", err)
	}
	if cfg.UploadDir != "" {
		if err := os.MkdirAll(cfg.UploadDir, 0o700); err != nil {
			return fmt.Errorf("upload directory: %w", err)
		}
	}
	go sweepFiles(ctx, client, photos, cfg.UploadDir, logger)
	sessions := auth.NewSessions(client, signer, cfg.RefreshTokenTTL, nil,
		auth.WithPasswordChecker(auth.NewHashGate(cfg.PasswordHashConcurrency)))
	reg := metricsRegistry(cfg, db.SQL)
	var costs cost.Store = cost.NewMemory()
	if cfg.CostStore == CostPostgres {
		costs = cost.NewPostgres(db.SQL)
	}
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
	logger.Info("listening", "addr", ln.Addr().String(), "embedded", cfg.Embedded(), "metrics", metricsURL)

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
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
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

// sweepHolds returns lapsed holds to the available units every 15 seconds,
// until ctx ends (see sales.SweepHolds; correctness never waits for it).
func sweepHolds(ctx context.Context, client *ent.Client, logger *slog.Logger) {
	t := time.NewTicker(15 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := sales.SweepHolds(ctx, client, time.Now()); err != nil {
				logger.Warn("sweeping lapsed holds", "err", err.Error())
			} else if n > 0 {
				logger.Info("lapsed holds released", "units", n)
			}
		}
	}
}

// pruneListingChanges drops, every hour, the lines of the listings' change
// log older than listing.Retention and a day, until ctx ends.
func pruneListingChanges(ctx context.Context, client *ent.Client, logger *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := listing.Prune(auth.SystemContext(ctx), client, time.Now()); err != nil {
				logger.Warn("pruning the listing change log", "err", err.Error())
			} else if n > 0 {
				logger.Info("listing changes pruned", "lines", n)
			}
		}
	}
}

// pruneOutbox removes, every ten minutes, the live events older than keep.
// Every process may run it: a DELETE of what another just deleted deletes
// nothing.
func pruneOutbox(ctx context.Context, client *ent.Client, keep time.Duration, logger *slog.Logger) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := outbox.Prune(auth.SystemContext(ctx), client, time.Now(), keep); err != nil {
				logger.Warn("pruning the outbox", "err", err.Error())
			} else if n > 0 {
				logger.Info("outbox pruned", "events", n)
			}
		}
	}
}

// sweepFiles removes, every ten minutes, what a process that died mid-upload
// left behind: stored photos no complaint holds, media files no item
// holds, and uploads in flight.
func sweepFiles(ctx context.Context, client *ent.Client, photos *storage.Dir, uploads string, logger *slog.Logger) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			before := time.Now().Add(-aftersales.OrphanAge)
			if n, err := aftersales.SweepOrphanPhotos(ctx, client, photos, before); err != nil {
				logger.Warn("sweeping orphan photos", "err", err.Error())
			} else if n > 0 {
				logger.Info("orphan photos removed", "photos", n)
			}
			if n, err := media.SweepOrphans(ctx, client, photos, time.Now().Add(-media.OrphanAge)); err != nil {
				logger.Warn("sweeping orphan media", "err", err.Error())
			} else if n > 0 {
				logger.Info("orphan media removed", "files", n)
			}
			if n, err := api.SweepUploads(uploads, before); err != nil {
				logger.Warn("sweeping stale uploads", "err", err.Error())
			} else if n > 0 {
				logger.Info("stale uploads removed", "files", n)
			}
		}
	}
}
