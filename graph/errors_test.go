package graph

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/lib/pq"

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
