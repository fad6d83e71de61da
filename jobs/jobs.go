// Package jobs is the server's background work and its schedule. What a
// deployment needs done once, whatever the number of processes (lapsed
// holds returned to the available units, orphan photos and media removed
// from the shared store, the outbox pruned (its listing change log and its
// live events each with a retention of their own), webhooks delivered and
// their log pruned), is Deployment, which the server runs under a
// lease.Leader: one process at a time. What each process owns alone (its
// upload directory) is Process, which every process runs.
package jobs

import (
	"cmp"
	"context"
	"log/slog"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"estatecrm/aftersales"
	"estatecrm/api"
	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/lease"
	"estatecrm/listing"
	"estatecrm/media"
	"estatecrm/outbox"
	"estatecrm/sales"
	"estatecrm/storage"
	"estatecrm/tracing"
	"estatecrm/webhook"
)

// Default intervals.
const (
	// HoldEvery: a lapsed hold already reads as released everywhere; the
	// sweep is for filters in SQL and subscribers (see sales.SweepHolds).
	HoldEvery = 15 * time.Second
	// FileEvery: orphans are at least an hour old before they go.
	FileEvery = 10 * time.Minute
	// PruneEvery: the change log keeps 30 days; an hour late is nothing.
	PruneEvery = time.Hour
	// OutboxEvery: events are kept a day by default; ten minutes late is
	// nothing, and the table stays small.
	OutboxEvery = 10 * time.Minute
)

// Config is what the jobs work on, and how often.
type Config struct {
	Client *ent.Client
	// Photos is the store of complaint photos and media, shared by the
	// deployment's processes.
	Photos storage.Store
	// UploadDir is this process's directory of uploads in flight; "" is
	// the system's temporary directory.
	UploadDir string
	// WebhookPoll is how often webhook deliveries are looked for; 0 means
	// webhook.DefaultPoll.
	WebhookPoll time.Duration
	// WebhookWake starts a round of webhook deliveries at once (see
	// webhook.Worker.Wake); nil: only the poll.
	WebhookWake <-chan struct{}
	// OutboxRetention is how long live events are kept for subscribers that
	// resume; 0 means outbox.DefaultRetention. The listing change log, in
	// the same outbox, keeps listing.Retention and a day (outbox.Listings).
	OutboxRetention time.Duration
	Logger          *slog.Logger
	// Tracer gives each run of a job a trace of its own (package tracing);
	// nil means tracing is off.
	Tracer trace.TracerProvider
	// Intervals; 0 means the default above.
	HoldEvery, FileEvery, PruneEvery time.Duration
}

func (c Config) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.Default()
}

// Start starts the background work: the deployment's (Deployment) whenever
// leader leads, this process's own (Process) at once. The channel is closed
// once both have stopped, after ctx ends (the lease handed back).
func Start(ctx context.Context, leader *lease.Leader, cfg Config) <-chan struct{} {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); leader.Run(ctx, func(ctx context.Context) { Deployment(ctx, cfg) }) }()
	go func() { defer wg.Done(); Process(ctx, cfg) }()
	go func() { wg.Wait(); close(done) }()
	return done
}

// Deployment runs the deployment's shared work until ctx ends, and returns
// once all of it has stopped (so that a lease is handed over only then).
// Every job is also safe if two processes run it at once for a moment (see
// package lease): this is about doing it once, not about correctness.
func Deployment(ctx context.Context, cfg Config) {
	log := cfg.logger()
	var wg sync.WaitGroup
	run := func(f func()) {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	run(func() {
		every(ctx, or(cfg.HoldEvery, HoldEvery), func() {
			traced(ctx, cfg.Tracer, "sweep holds", func(ctx context.Context) error {
				n, err := sales.SweepHolds(ctx, cfg.Client, time.Now())
				if err != nil {
					warn(ctx, log, "sweeping lapsed holds", err)
				} else if n > 0 {
					log.Info("lapsed holds released", "units", n)
				}
				return err
			})
		})
	})
	run(func() {
		every(ctx, or(cfg.PruneEvery, PruneEvery), func() {
			traced(ctx, cfg.Tracer, "prune listing changes", func(ctx context.Context) error {
				n, err := listing.Prune(auth.SystemContext(ctx), cfg.Client, time.Now())
				if err != nil {
					warn(ctx, log, "pruning the listing change log", err)
				} else if n > 0 {
					log.Info("listing changes pruned", "lines", n)
				}
				return err
			})
		})
	})
	run(func() {
		every(ctx, OutboxEvery, func() {
			traced(ctx, cfg.Tracer, "prune outbox", func(ctx context.Context) error {
				n, err := outbox.Prune(auth.SystemContext(ctx), cfg.Client, time.Now(), or(cfg.OutboxRetention, outbox.DefaultRetention))
				if err != nil {
					warn(ctx, log, "pruning the outbox", err)
				} else if n > 0 {
					log.Info("outbox pruned", "events", n)
				}
				return err
			})
		})
	})
	if cfg.Photos != nil {
		run(func() {
			every(ctx, or(cfg.FileEvery, FileEvery), func() {
				traced(ctx, cfg.Tracer, "sweep files", func(ctx context.Context) error { // both sweeps, one trace
					n, err := aftersales.SweepOrphanPhotos(ctx, cfg.Client, cfg.Photos, time.Now().Add(-aftersales.OrphanAge))
					if err != nil {
						warn(ctx, log, "sweeping orphan photos", err)
					} else if n > 0 {
						log.Info("orphan photos removed", "photos", n)
					}
					m, merr := media.SweepOrphans(ctx, cfg.Client, cfg.Photos, time.Now().Add(-media.OrphanAge))
					if merr != nil {
						warn(ctx, log, "sweeping orphan media", merr)
					} else if m > 0 {
						log.Info("orphan media removed", "files", m)
					}
					return cmp.Or(err, merr)
				})
			})
		})
	}
	// Deliveries go in order per endpoint under a lease per endpoint's row
	// (webhook.Worker), which stays: it is what makes a moment of two
	// leaders harmless. The worker prunes its log hourly.
	run(func() {
		(&webhook.Worker{Client: cfg.Client, Poll: cfg.WebhookPoll, Logger: log, Tracer: cfg.Tracer, Wake: cfg.WebhookWake}).Run(ctx)
	})
	wg.Wait()
}

// Process runs the work of this process alone until ctx ends: uploads its
// requests left behind when they died (the directory is the process's own,
// not the deployment's).
func Process(ctx context.Context, cfg Config) {
	every(ctx, or(cfg.FileEvery, FileEvery), func() {
		if n, err := api.SweepUploads(cfg.UploadDir, time.Now().Add(-aftersales.OrphanAge)); err != nil {
			warn(ctx, cfg.logger(), "sweeping stale uploads", err)
		} else if n > 0 {
			cfg.logger().Info("stale uploads removed", "files", n)
		}
	})
}

// every calls f at once and then each d until ctx ends. At once: the
// process running it may have just taken over from one that stopped, and
// with an hourly job a deployment restarted more often than hourly would
// otherwise never run it.
func every(ctx context.Context, d time.Duration, f func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		f()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// traced runs one run of a job as the root span of a trace of its own
// (nothing when tracing is off).
func traced(ctx context.Context, tp trace.TracerProvider, name string, f func(context.Context) error) {
	ctx, span := tracing.Root(ctx, tp, name)
	tracing.End(span, f(ctx))
}

func or(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// warn logs a job's failure, unless the job failed because it was told to
// stop (shutdown, or the lease lost).
func warn(ctx context.Context, log *slog.Logger, what string, err error) {
	if ctx.Err() == nil {
		log.Warn(what, "err", err.Error())
	}
}
