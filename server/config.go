package main

import (
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"estatecrm/aftersales"
	"estatecrm/api"
	"estatecrm/database"
	"estatecrm/outbox"
	"estatecrm/storage"
	"estatecrm/throttle"
	"estatecrm/webhook"
)

// Config is every setting of the server, from environment variables with
// flags taking precedence. It is built once in run and passed down.
type Config struct {
	Command         string
	Addr            string
	DatabaseURL     string
	LogLevel        slog.Level
	GraphiQL        bool
	Introspection   bool
	MigrateOnStart  bool
	SeedOnStart     bool
	RequestTimeout  time.Duration
	ShutdownTimeout time.Duration
	MaxBodyBytes    int64
	DBMaxConns      int
	// JWTKey signs access tokens; all processes of one deployment share it.
	JWTKey []byte
	// JWTKeyGenerated says the key was made up at start (embedded demo only).
	JWTKeyGenerated bool
	AccessTokenTTL  time.Duration
	RefreshTokenTTL time.Duration
	// Zone is the company's time zone: where "today" is for follow-ups.
	Zone *time.Location
	// PhotoDir keeps complaint photos and media when Blobs is not set;
	// every process of a deployment must see the same directory (a
	// shared volume).
	PhotoDir string
	// Blobs is where photos and media are kept, from BLOB_URL: an S3
	// bucket (no shared volume needed) or a directory; by default PhotoDir.
	Blobs storage.Config
	// UploadDir holds uploads of requests in flight; "" is the system's.
	UploadDir string
	// SLA is the complaint deadline policy.
	SLA aftersales.Policy
	// UserRateLimit bounds the requests of one logged-in user.
	UserRateLimit throttle.Rate
	// AnonymousRateLimit bounds the requests without credentials from one
	// client address.
	AnonymousRateLimit throttle.Rate
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client; none by default, so a client cannot choose its address.
	TrustedProxies throttle.Proxies
	// CostStore keeps the portal keys' query-cost buckets: "postgres" (the
	// default on PostgreSQL: one budget per key shared by every process) or
	// "memory" (the default on the embedded database: this process alone).
	CostStore string
	// PasswordHashConcurrency is how many login password checks run at
	// once (each holds 19 MiB); 0 is half the cores.
	PasswordHashConcurrency int
	// CORSOrigins are the browser origins that may call the API; none by default.
	CORSOrigins []string
	// WebhookHosts are the hosts webhook endpoints may point to; none by default.
	WebhookHosts webhook.Allowlist
	// WebhookPoll is the pause between two rounds of the webhook worker.
	WebhookPoll time.Duration
	// OutboxRetention is how long live events are kept for subscribers
	// that resume (after:).
	OutboxRetention time.Duration
	// NATSURL, when set, fans live events out through NATS JetStream, on
	// the stream NATSStream.
	NATSURL, NATSStream string
	// MetricsAddr is where Prometheus metrics are served: "" on the main
	// listener at /metrics, MetricsOff nowhere (and none are kept), an
	// address on a listener of their own.
	MetricsAddr string
	// Pprof serves Go's CPU and heap profiles (/debug/pprof/) on the
	// metrics listener, which must then be an address of its own: never on
	// the API's listener. Off by default (a profile costs CPU while it runs
	// and tells the code's insides); cmd/bench turns it on for -cpuprofile.
	Pprof bool
	// TracesEndpoint is the OTLP/HTTP URL spans are posted to; "" (the
	// default) turns tracing off. See tracesEndpoint.
	TracesEndpoint string
}

// The CostStore values.
const (
	CostPostgres = "postgres"
	CostMemory   = "memory"
)

// MetricsOff is the MetricsAddr that turns metrics off.
const MetricsOff = "off"

// Embedded reports whether the server runs on the embedded SQLite database.
func (c Config) Embedded() bool {
	return c.DatabaseURL == "" || strings.HasPrefix(c.DatabaseURL, "sqlite:") || strings.HasPrefix(c.DatabaseURL, "file:")
}

const usage = `usage: server [serve|migrate|seed|healthcheck] [flags]

  serve        run the API (default)
  migrate      apply the versioned PostgreSQL migrations (SQLite: create the schema)
  seed         fill an empty database with demo data (does nothing if already seeded)
  healthcheck  exit 0 if the server at -addr answers /healthz (for container health checks)
`

func loadConfig(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	cfg := Config{Command: "serve"}
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cfg.Command, args = args[0], args[1:]
	}
	switch cfg.Command {
	case "serve", "migrate", "seed", "healthcheck":
	default:
		return cfg, fmt.Errorf("unknown command %q\n%s", cfg.Command, usage)
	}
	env := envReader{getenv: getenv}
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage, "\nflags (each also read from the environment variable in capitals):\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&cfg.Addr, "addr", env.str("ADDR", "127.0.0.1:8080"), "listen address (ADDR)")
	fs.StringVar(&cfg.DatabaseURL, "database-url", env.str("DATABASE_URL", ""), "postgres://… for PostgreSQL, sqlite:PATH for a file; empty: the embedded data/estatecrm.db (DATABASE_URL)")
	level := fs.String("log-level", env.str("LOG_LEVEL", "info"), "debug, info, warn or error (LOG_LEVEL)")
	graphiql := fs.String("graphiql", env.str("GRAPHIQL", ""), "serve GraphiQL at / (GRAPHIQL; default: on only for the embedded database)")
	introspection := fs.String("introspection", env.str("INTROSPECTION", ""), "answer introspection queries (INTROSPECTION; default: on only for the embedded database)")
	migrate := fs.String("migrate", env.str("MIGRATE_ON_START", "false"), "apply PostgreSQL migrations at start (MIGRATE_ON_START)")
	seed := fs.String("seed", env.str("SEED", ""), "seed demo data at start when the database is empty (SEED; default: on only for the embedded database)")
	fs.DurationVar(&cfg.RequestTimeout, "request-timeout", env.duration("REQUEST_TIMEOUT", 15*time.Second), "longest a request may run (REQUEST_TIMEOUT)")
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", env.duration("SHUTDOWN_TIMEOUT", 20*time.Second), "how long in-flight requests get to finish on SIGTERM (SHUTDOWN_TIMEOUT)")
	fs.Int64Var(&cfg.MaxBodyBytes, "max-body-bytes", env.int64("MAX_BODY_BYTES", 1<<20), "largest request body outside uploads (MAX_BODY_BYTES)")
	fs.IntVar(&cfg.DBMaxConns, "db-max-conns", int(env.int64("DB_MAX_CONNS", int64(database.DefaultMaxConns()))), "database connection pool size (DB_MAX_CONNS; default: 4 per processor, at most 32)")
	fs.DurationVar(&cfg.AccessTokenTTL, "access-token-ttl", env.duration("ACCESS_TOKEN_TTL", 15*time.Minute), "lifetime of access tokens, at most 15m (ACCESS_TOKEN_TTL)")
	fs.DurationVar(&cfg.RefreshTokenTTL, "refresh-token-ttl", env.duration("REFRESH_TOKEN_TTL", 30*24*time.Hour), "lifetime of refresh tokens (REFRESH_TOKEN_TTL)")
	jwtKey := env.str("JWT_SECRET", "") // never a flag: flags show in process lists
	fs.StringVar(&cfg.PhotoDir, "photo-dir", env.str("PHOTO_DIR", "data/photos"), "directory of complaint photos and media when BLOB_URL is not set, shared by all processes (PHOTO_DIR)")
	blobURL := fs.String("blob-url", env.str("BLOB_URL", ""), "where photos and media are kept: s3://BUCKET?endpoint=HOST:PORT&region=…[&tls=false] (credentials AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) or file:///path; empty: the directory -photo-dir (BLOB_URL)")
	fs.StringVar(&cfg.UploadDir, "upload-dir", env.str("UPLOAD_DIR", ""), "directory of uploads in flight; empty: the system's temporary directory (UPLOAD_DIR)")
	sla := fs.String("complaint-sla", env.str("COMPLAINT_SLA", ""), "complaint deadlines overriding the defaults URGENT=2h/24h,NORMAL=24h/48h,LOW=48h/168h, e.g. URGENT=1h/12h (COMPLAINT_SLA)")
	zone := fs.String("timezone", env.str("COMPANY_TIMEZONE", "Asia/Shanghai"), "the company's time zone, where \"today\" is for follow-ups (COMPANY_TIMEZONE)")
	userRate := fs.String("user-rate-limit", env.str("USER_RATE_LIMIT", "12000"), "requests a minute of one logged-in user, in bursts of a tenth, or N/DURATION; 0: no limit (USER_RATE_LIMIT)")
	anonRate := fs.String("anonymous-rate-limit", env.str("ANONYMOUS_RATE_LIMIT", "600"), "requests a minute without credentials from one client address, in bursts of a tenth, or N/DURATION; 0: no limit (ANONYMOUS_RATE_LIMIT)")
	costStore := fs.String("cost-store", env.str("COST_STORE", ""), "where portal keys' query-cost budgets are kept: postgres (shared by every process) or memory (this process only); default: postgres on PostgreSQL, memory on the embedded database (COST_STORE)")
	proxies := fs.String("trusted-proxies", env.str("TRUSTED_PROXIES", ""), "comma-separated addresses or CIDR prefixes of reverse proxies whose X-Forwarded-For is believed; empty: none (TRUSTED_PROXIES)")
	fs.IntVar(&cfg.PasswordHashConcurrency, "password-hash-concurrency", int(env.int64("PASSWORD_HASH_CONCURRENCY", 0)), "login password checks at once, 19 MiB each; 0: half the cores (PASSWORD_HASH_CONCURRENCY)")
	fs.StringVar(&cfg.MetricsAddr, "metrics-addr", env.str("METRICS_ADDR", ""), "where Prometheus metrics are served: empty: /metrics on the main listener; off: not at all; an address like 127.0.0.1:9090: /metrics on a listener of its own (METRICS_ADDR)")
	pprof := fs.String("pprof", env.str("PPROF", "false"), "serve /debug/pprof/ (CPU and heap profiles) on the metrics listener; needs METRICS_ADDR set to an address (PPROF)")
	// CORS: browser apps on these origins may call the API; none by default.
	origins, originsErr := api.ParseOrigins(env.str("CORS_ORIGINS", ""))
	if cfg.CORSOrigins = origins; env.err == nil {
		env.err = originsErr
	}
	fs.Func("cors-origins", "browser origins that may call the API, comma-separated, like https://app.example.com; none by default (CORS_ORIGINS)",
		func(s string) (err error) { cfg.CORSOrigins, err = api.ParseOrigins(s); return err })
	webhookHosts := fs.String("webhook-allowed-hosts", env.str("WEBHOOK_ALLOWED_HOSTS", ""), "hosts webhook endpoints may point to, comma-separated; *.example.com for its subdomains; empty: none (WEBHOOK_ALLOWED_HOSTS)")
	fs.StringVar(&cfg.NATSURL, "nats-url", env.str("NATS_URL", ""), "NATS server to fan live events out through JetStream, e.g. nats://127.0.0.1:4222 (NATS_URL); empty: PostgreSQL's LISTEN/NOTIFY only")
	fs.StringVar(&cfg.NATSStream, "nats-stream", env.str("NATS_STREAM", "ESTATECRM_OUTBOX"), "the JetStream stream of live events, one per deployment (NATS_STREAM)")
	fs.DurationVar(&cfg.OutboxRetention, "outbox-retention", env.duration("OUTBOX_RETENTION", outbox.DefaultRetention), "how long live events are kept for subscribers that resume with after (OUTBOX_RETENTION)")
	fs.DurationVar(&cfg.WebhookPoll, "webhook-poll", env.duration("WEBHOOK_POLL", webhook.DefaultPoll), "pause between two rounds of the webhook delivery worker (WEBHOOK_POLL)")
	traces := fs.String("traces-endpoint", "", "OTLP/HTTP URL to send traces to, like http://127.0.0.1:4318 (/v1/traces is added to a URL without a path); empty: the standard OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_TRACES_EXPORTER, or no traces")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if err := env.err; err != nil {
		return cfg, err
	}
	cfg.WebhookHosts = webhook.ParseAllowlist(*webhookHosts)
	if cfg.OutboxRetention <= 0 {
		return cfg, fmt.Errorf("outbox retention %s: want a positive duration", cfg.OutboxRetention)
	}
	if cfg.WebhookPoll <= 0 {
		return cfg, fmt.Errorf("webhook poll %s: want a positive duration", cfg.WebhookPoll)
	}
	if err := cfg.LogLevel.UnmarshalText([]byte(*level)); err != nil {
		return cfg, fmt.Errorf("log level %q: want debug, info, warn or error", *level)
	}
	var err error
	if cfg.TracesEndpoint, err = tracesEndpoint(*traces, getenv); err != nil {
		return cfg, err
	}
	embedded := cfg.Embedded()
	if cfg.GraphiQL, err = boolOr(*graphiql, embedded, "graphiql"); err != nil {
		return cfg, err
	}
	if cfg.Introspection, err = boolOr(*introspection, embedded, "introspection"); err != nil {
		return cfg, err
	}
	if cfg.MigrateOnStart, err = boolOr(*migrate, false, "migrate"); err != nil {
		return cfg, err
	}
	if cfg.SeedOnStart, err = boolOr(*seed, embedded, "seed"); err != nil {
		return cfg, err
	}
	switch {
	case jwtKey != "":
		cfg.JWTKey = []byte(jwtKey)
	case embedded:
		cfg.JWTKey, cfg.JWTKeyGenerated = make([]byte, 32), true
		_, _ = rand.Read(cfg.JWTKey)
	default:
		return cfg, fmt.Errorf("JWT_SECRET must be set (at least 32 bytes, the same for every process) when running on PostgreSQL")
	}
	if len(cfg.JWTKey) < 32 {
		return cfg, fmt.Errorf("JWT_SECRET must be at least 32 bytes")
	}
	if cfg.Zone, err = time.LoadLocation(*zone); err != nil {
		return cfg, fmt.Errorf("timezone %q: not an IANA time zone like Asia/Shanghai", *zone)
	}
	cfg.Blobs = storage.Config{Dir: cfg.PhotoDir}
	if *blobURL != "" {
		if cfg.Blobs, err = storage.ParseURL(*blobURL, getenv); err != nil {
			return cfg, err
		}
	}
	if cfg.SLA, err = aftersales.ParsePolicy(*sla); err != nil {
		return cfg, err
	}
	if cfg.UserRateLimit, err = throttle.ParseRate(*userRate); err != nil {
		return cfg, fmt.Errorf("user-rate-limit: %w", err)
	}
	if cfg.AnonymousRateLimit, err = throttle.ParseRate(*anonRate); err != nil {
		return cfg, fmt.Errorf("anonymous-rate-limit: %w", err)
	}
	switch cfg.CostStore = *costStore; {
	case cfg.CostStore == "" && embedded:
		cfg.CostStore = CostMemory
	case cfg.CostStore == "":
		cfg.CostStore = CostPostgres
	case cfg.CostStore == CostPostgres && embedded:
		return cfg, fmt.Errorf("cost-store postgres needs DATABASE_URL to be a PostgreSQL database")
	case cfg.CostStore != CostPostgres && cfg.CostStore != CostMemory:
		return cfg, fmt.Errorf("cost-store %q: want postgres or memory", cfg.CostStore)
	}
	if cfg.TrustedProxies, err = throttle.ParseProxies(*proxies); err != nil {
		return cfg, err
	}
	if cfg.PasswordHashConcurrency < 0 {
		return cfg, fmt.Errorf("password-hash-concurrency must not be negative")
	}
	if err := checkMetricsAddr(cfg.MetricsAddr, cfg.Addr); err != nil {
		return cfg, err
	}
	if cfg.Pprof, err = boolOr(*pprof, false, "pprof"); err != nil {
		return cfg, err
	}
	if cfg.Pprof && (cfg.MetricsAddr == "" || cfg.MetricsAddr == MetricsOff) {
		return cfg, fmt.Errorf("pprof: profiles are served only on a metrics listener of their own: set METRICS_ADDR to an address like 127.0.0.1:9090")
	}
	if cfg.RefreshTokenTTL <= 0 {
		return cfg, fmt.Errorf("refresh-token-ttl must be positive")
	}
	if cfg.MaxBodyBytes <= 0 || cfg.DBMaxConns <= 0 || cfg.RequestTimeout <= 0 {
		return cfg, fmt.Errorf("max-body-bytes, db-max-conns and request-timeout must be positive")
	}
	return cfg, nil
}

// checkMetricsAddr refuses a metrics address that is neither empty, off, nor
// a host:port other than the API's own.
func checkMetricsAddr(metrics, addr string) error {
	if metrics == "" || metrics == MetricsOff {
		return nil
	}
	_, port, err := net.SplitHostPort(metrics)
	if err != nil {
		return fmt.Errorf("metrics-addr %q: want empty (the main listener), off, or an address like 127.0.0.1:9090", metrics)
	}
	if metrics == addr && port != "0" { // port 0: each listener gets a free port of its own
		return fmt.Errorf("metrics-addr is the API's address %s: leave it empty to serve /metrics there", addr)
	}
	return nil
}

func boolOr(s string, def bool, name string) (bool, error) {
	if s == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, fmt.Errorf("%s: %q is not true or false", name, s)
	}
	return b, nil
}

// envReader reads typed defaults from the environment, keeping the first error.
type envReader struct {
	getenv func(string) string
	err    error
}

func (e *envReader) str(key, def string) string {
	if v := e.getenv(key); v != "" {
		return v
	}
	return def
}

func (e *envReader) duration(key string, def time.Duration) time.Duration {
	v := e.getenv(key)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil && e.err == nil {
		e.err = fmt.Errorf("%s: %q is not a duration like 15s", key, v)
	}
	return d
}

func (e *envReader) int64(key string, def int64) int64 {
	v := e.getenv(key)
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil && e.err == nil {
		e.err = fmt.Errorf("%s: %q is not a number", key, v)
	}
	return n
}
