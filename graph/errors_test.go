package graph

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"syscall"
	"testing"

	"github.com/lib/pq"

	"estatecrm/apperr"
	"estatecrm/ent"
)

// A database that cannot be reached is a condition that passes (the client
// retries: UNAVAILABLE), however the driver words it; a bug is not.
func TestUnreachableDatabaseErrors(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: &net.AddrError{Err: "connect: connection refused"}}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"connection refused", fmt.Errorf("querying: %w", refused), true},
		{"ECONNREFUSED", fmt.Errorf("dial: %w", syscall.ECONNREFUSED), true},
		{"connection reset", fmt.Errorf("read: %w", syscall.ECONNRESET), true},
		{"bad connection", fmt.Errorf("ent: %w", driver.ErrBadConn), true},
		{"connection closed", sql.ErrConnDone, true},
		{"unexpected EOF", io.ErrUnexpectedEOF, true},
		{"backend terminated", fmt.Errorf("insert: %w", &pq.Error{Code: "57P01"}), true},
		{"server shutting down", &pq.Error{Code: "57P02"}, true},
		{"server starting up", &pq.Error{Code: "57P03"}, true},
		{"connection failure", &pq.Error{Code: "08006"}, true},
		{"too many connections", &pq.Error{Code: "53300"}, true},
		{"unique violation", &pq.Error{Code: "23505"}, false},
		{"syntax error", &pq.Error{Code: "42601"}, false},
		{"not found", &ent.NotFoundError{}, false},
		{"a bug", errors.New("nil map"), false},
		{"cancelled", context.Canceled, false},
	} {
		if got := Unreachable(tc.err); got != tc.want {
			t.Errorf("%s: Unreachable = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// A request that ran out of time is UNAVAILABLE (retry later), never
// INTERNAL: the deadline itself, PostgreSQL's cancellation of the statement
// (57014, what lib/pq reports when the context ends mid-statement), and any
// driver error once the request's context has ended (SQLite's
// "interrupted"). The bench's dashboards under load answered INTERNAL
// "internal error" for the 57014 ones before.
func TestTimedOutRequestsAreUnavailable(t *testing.T) {
	present := ErrorPresenter(slog.New(slog.NewTextHandler(io.Discard, nil)))
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		err  error
		want apperr.Code
	}{
		{"deadline", context.Background(), fmt.Errorf("salesFunnel: %w", context.DeadlineExceeded), apperr.Unavailable},
		{"cancelled", context.Background(), fmt.Errorf("salesFunnel: %w", context.Canceled), apperr.Unavailable},
		{"statement cancelled", context.Background(), fmt.Errorf("salesFunnel: %w", &pq.Error{Code: "57014", Message: "canceling statement due to user request"}), apperr.Unavailable},
		{"driver error after the deadline", ended, fmt.Errorf("salesFunnel: %w", errors.New("interrupted (9)")), apperr.Unavailable},
		{"a bug", context.Background(), fmt.Errorf("salesFunnel: %w", errors.New("nil map")), apperr.Internal},
		{"syntax error", context.Background(), fmt.Errorf("salesFunnel: %w", &pq.Error{Code: "42601"}), apperr.Internal},
	} {
		got := present(tc.ctx, tc.err)
		if code := got.Extensions["code"]; code != string(tc.want) {
			t.Errorf("%s: code %v, want %s", tc.name, code, tc.want)
		}
		if tc.want == apperr.Unavailable && got.Message != msgTooLong {
			t.Errorf("%s: message %q, want %q", tc.name, got.Message, msgTooLong)
		}
	}
}
