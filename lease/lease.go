// Package lease makes a deployment's background work (sweeps, webhook
// delivery, pruning) run in one server process at a time, and in another
// within seconds when that one dies.
//
// On PostgreSQL the process that runs it holds a session advisory lock on a
// connection it keeps for that alone. PostgreSQL frees the lock when the
// session ends, so a process killed with SIGKILL frees it as soon as its
// socket closes (at once on one host, where the kernel closes it), a
// restarted database frees everyone's, and the holder's own connection
// carries TCP keepalives of a few seconds so that a host that vanished
// frees it in about ten seconds rather than after TCP's two hours. Nothing
// to migrate and no clock to trust: a lease row with an expiry would need
// the processes' clocks to agree and would hand over only once it lapsed.
// The lock needs a session of its own: through a pooler in transaction mode
// (PgBouncer) point the server at a session-mode pool or at PostgreSQL.
//
// Without a database to share (the embedded SQLite, one process) the work
// simply runs.
//
// Leading is for efficiency, not correctness: every job run under it is
// also safe when two run at once (a hold sweep is a conditional UPDATE,
// webhook deliveries take a lease per endpoint, pruning deletes what is
// old), because a leader that lost its connection learns so only at its
// next check and may overlap a new leader by that long.
package lease

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"hash/fnv"
	"log/slog"
	"sync/atomic"
	"time"
)

// Defaults of a Leader.
const (
	// DefaultRetry is how often a process that does not lead tries to.
	DefaultRetry = time.Second
	// DefaultCheck is how often the leader checks that its connection, and
	// so its lock, is still there.
	DefaultCheck = time.Second
)

// Leader runs work while this process holds the deployment's lock of a name.
type Leader struct {
	db  *sql.DB // nil: nobody to share the work with
	key int64
	// Retry is the pause between two attempts to take the lock; 0 means
	// DefaultRetry.
	Retry time.Duration
	// Check is the pause between two checks of the held lock; 0 means
	// DefaultCheck. A check that takes longer than Check counts as lost.
	Check time.Duration
	// Logger tells when this process starts and stops leading; nil means
	// slog.Default().
	Logger *slog.Logger

	leading atomic.Bool
}

// New returns the leader of the lock named name on db, a PostgreSQL pool
// (the connection that holds the lock is taken from it while the lock is
// held); a nil db (SQLite) always leads. Every process of a deployment uses
// the same name.
func New(db *sql.DB, name string) *Leader {
	h := fnv.New64a()
	h.Write([]byte("estatecrm/lease:" + name))
	return &Leader{db: db, key: int64(h.Sum64())}
}

// Leading reports whether this process runs the work now.
func (l *Leader) Leading() bool { return l.leading.Load() }

func (l *Leader) retry() time.Duration {
	if l.Retry > 0 {
		return l.Retry
	}
	return DefaultRetry
}

func (l *Leader) check() time.Duration {
	if l.Check > 0 {
		return l.Check
	}
	return DefaultCheck
}

func (l *Leader) logger() *slog.Logger {
	if l.Logger != nil {
		return l.Logger
	}
	return slog.Default()
}

// Run calls work each time this process takes the lock, with a context
// that ends when the lock is lost (or ctx ends), until ctx ends. The lock is
// given back only once work has returned, so work must return soon after
// its context ends. Run returns when ctx has ended and work has returned,
// having given the lock back (at once, so that another process takes over
// without waiting for a check).
func (l *Leader) Run(ctx context.Context, work func(context.Context)) {
	if l.db == nil {
		l.leading.Store(true)
		defer l.leading.Store(false)
		work(ctx)
		return
	}
	for ctx.Err() == nil {
		if conn := l.acquire(ctx); conn != nil {
			l.lead(ctx, conn, work)
		}
		select {
		case <-ctx.Done():
		case <-time.After(l.retry()):
		}
	}
}

// acquire returns the connection holding the lock, or nil when another
// session holds it or the database cannot be reached.
func (l *Leader) acquire(ctx context.Context) *sql.Conn {
	ctx, cancel := context.WithTimeout(ctx, l.check()+l.retry())
	defer cancel()
	conn, err := l.db.Conn(ctx)
	if err != nil {
		return nil
	}
	var got bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, l.key).Scan(&got); err != nil {
		discard(conn)
		return nil
	}
	if !got {
		conn.Close() // holds nothing: back to the pool
		return nil
	}
	// A host that vanishes without closing its socket frees the lock
	// after about 5 + 3×1 s of silence (settings of this session only;
	// ignored over a Unix socket, where no host can vanish).
	for _, q := range []string{
		`SELECT set_config('tcp_keepalives_idle', '5', false)`,
		`SELECT set_config('tcp_keepalives_interval', '1', false)`,
		`SELECT set_config('tcp_keepalives_count', '3', false)`,
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			discard(conn) // frees the lock with the session
			return nil
		}
	}
	return conn
}

// lead runs work until the lock is lost or ctx ends, then gives the lock
// back (or drops the connection, which frees it).
func (l *Leader) lead(ctx context.Context, conn *sql.Conn, work func(context.Context)) {
	wctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	l.leading.Store(true)
	l.logger().Info("leading the background work", "lock", l.key)
	go func() {
		defer close(done)
		work(wctx)
	}()
	t := time.NewTicker(l.check())
	defer t.Stop()
	lost := false
	for !lost && ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-done: // work ended by itself: let it start afresh
			lost = true
		case <-t.C:
			// A check cut short by the end of ctx is no loss.
			lost = !l.alive(ctx, conn) && ctx.Err() == nil
			if lost {
				l.logger().Warn("lost the lock of the background work: stopping it", "lock", l.key)
			}
		}
	}
	stop()
	<-done
	l.leading.Store(false)
	if lost {
		go discard(conn) // it may hang on a dead connection: not here
		return
	}
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.check())
	defer cancel()
	if _, err := conn.ExecContext(uctx, `SELECT pg_advisory_unlock($1)`, l.key); err != nil {
		go discard(conn)
		return
	}
	conn.Close()
	l.logger().Info("stopped leading the background work", "lock", l.key)
}

// alive reports whether the lock's connection answers within a check.
func (l *Leader) alive(ctx context.Context, conn *sql.Conn) bool {
	ctx, cancel := context.WithTimeout(ctx, l.check())
	defer cancel()
	answered := make(chan error, 1)
	go func() { answered <- conn.PingContext(ctx) }()
	select {
	case err := <-answered:
		return err == nil
	case <-time.After(l.check() + 100*time.Millisecond): // the driver did not give up in time
		return false
	}
}

// discard closes the connection instead of returning it to the pool: its
// session ends, and any lock it held with it.
func discard(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	_ = conn.Close()
}
