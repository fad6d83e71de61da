package graph

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"syscall"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"estatecrm/apperr"
	"estatecrm/ent"
	"estatecrm/ent/privacy"
)

// ErrorPresenter gives every error an extensions.code (SPEC.md §3.6) and a
// message safe to show: application errors keep theirs, ent errors are
// mapped, and anything unexpected is logged once and shown as "internal error"
// so that no SQL, stack or private data reaches a client.
func ErrorPresenter(logger *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		gqlErr := graphql.DefaultErrorPresenter(ctx, err)
		code, msg, field := classify(err, gqlErr)
		if code == apperr.Internal && ctx.Err() != nil {
			// The request ran out of time (or its client left) and the
			// driver said so in its own words: SQLite's "interrupted", or a
			// statement PostgreSQL cancelled at lib/pq's request. Not a bug.
			code, msg, field = apperr.Unavailable, msgTooLong, ""
		}
		var reason string
		if e, ok := apperr.As(err); ok {
			reason = e.Reason
		}
		// An argument that failed to decode is bad input whatever its
		// decoder's words: a cursor cut short says io.ErrUnexpectedEOF, as a
		// dropped connection does (Unreachable), and no argument's decoding
		// touches the database.
		if arg, ok := badArgument(ctx, err, gqlErr.Path); ok && (code == apperr.Internal || code == apperr.Unavailable) {
			code, msg, field = apperr.BadUserInput, "malformed "+arg, arg
		}
		if code == apperr.Internal || code == apperr.Unavailable {
			logger.ErrorContext(ctx, "internal error", "err", err.Error(), "path", gqlErr.Path.String())
		}
		out := &gqlerror.Error{Message: msg, Path: gqlErr.Path, Locations: gqlErr.Locations,
			Extensions: map[string]any{"code": string(code)}}
		if field == "" && code == apperr.BadUserInput && len(gqlErr.Path) > 1 {
			// An argument that failed to decode carries its name last in the path.
			if name, ok := gqlErr.Path[len(gqlErr.Path)-1].(ast.PathName); ok {
				field = string(name)
			}
		}
		if field != "" {
			out.Extensions["field"] = field
		}
		if reason != "" {
			out.Extensions["reason"] = reason
		}
		return out
	}
}

// badArgument reports whether err is an argument of the current field that
// failed to decode (a cursor that is not one): gqlgen puts the argument's
// name last in the path, where a resolver's error ends with the field.
func badArgument(ctx context.Context, err error, path ast.Path) (string, bool) {
	fc := graphql.GetFieldContext(ctx)
	if _, ok := apperr.As(err); ok || len(path) < 2 || fc == nil || fc.Field.Field == nil {
		return "", false
	}
	name, ok := path[len(path)-1].(ast.PathName)
	if !ok || string(name) == fc.Field.Alias {
		return "", false
	}
	for _, a := range fc.Field.Arguments {
		if a.Name == string(name) {
			return a.Name, true
		}
	}
	return "", false
}

func classify(err error, gqlErr *gqlerror.Error) (code apperr.Code, msg, field string) {
	if e, ok := apperr.As(err); ok {
		return e.Code, e.Message, e.Field
	}
	var verr *ent.ValidationError
	switch {
	case errors.As(err, &verr):
		msg := "invalid value"
		// The validator's own words, without ent's wrapping of them.
		if inner := errors.Unwrap(verr); inner != nil {
			for errors.Unwrap(inner) != nil {
				inner = errors.Unwrap(inner)
			}
			msg += ": " + inner.Error()
		}
		return apperr.BadUserInput, msg, lowerCamel(verr.Name)
	case ent.IsNotFound(err):
		return apperr.NotFound, "not found", ""
	case errors.Is(err, ent.ErrInvalidID):
		return apperr.BadUserInput, "not a valid ID", "id"
	case ent.IsConstraintError(err):
		return apperr.Conflict, "conflicts with an existing record", ""
	case errors.Is(err, privacy.Deny):
		return apperr.Forbidden, "not allowed", ""
	case TimedOut(err):
		return apperr.Unavailable, msgTooLong, ""
	case Unreachable(err):
		return apperr.Unavailable, "the database is unreachable; nothing was changed, try again", ""
	}
	switch c, _ := gqlErr.Extensions["code"].(string); c {
	case errcode.ValidationFailed, errcode.ParseFailed:
		return apperr.BadUserInput, gqlErr.Message, ""
	case string(apperr.NotFound): // entgql's node-not-found, one per missing entry of nodes(ids:)
		return apperr.NotFound, "not found", ""
	}
	if strings.HasPrefix(gqlErr.Message, "cannot create transaction") || strings.HasPrefix(gqlErr.Message, "cannot commit transaction") {
		return apperr.Unavailable, "the database could not complete the request; nothing was changed, try again", ""
	}
	if errors.Unwrap(err) == nil && len(gqlErr.Path) == 0 {
		// A request-level error from the GraphQL handler itself (no operation,
		// undecodable variables): safe to show, minus any echo of the body.
		m, _, _ := strings.Cut(gqlErr.Message, " body:")
		return apperr.BadUserInput, m, ""
	}
	return apperr.Internal, "internal error", ""
}

// msgTooLong is the message of a request that ran out of time.
const msgTooLong = "the request took too long"

// TimedOut reports whether err says the request ran out of time: its
// deadline passed or it was cancelled, or PostgreSQL cancelled the
// statement (57014 query_canceled: lib/pq asks for that when the context
// ends, and statement_timeout ends a statement so too). A dashboard that
// times out under load must answer UNAVAILABLE, which a client retries,
// not INTERNAL, which says there is a bug.
func TimedOut(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	var state interface{ SQLState() string }
	return errors.As(err, &state) && state.SQLState() == "57014"
}

// Unreachable reports whether err says the database cannot be reached or
// dropped the connection (refused, reset, closed, shut down, the backend
// terminated, SQLite busy past its timeout): a condition that passes, so
// the client should retry, unlike a bug.
func Unreachable(err error) bool {
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return true
	}
	// PostgreSQL (lib/pq, pgx): class 08 is a connection exception; 57P01-03
	// are the server shutting down, terminating the backend, or starting up;
	// 53300 is too many connections.
	var state interface{ SQLState() string }
	if errors.As(err, &state) {
		c := state.SQLState()
		return strings.HasPrefix(c, "08") || c == "57P01" || c == "57P02" || c == "57P03" || c == "53300"
	}
	var lite *sqlite.Error
	if errors.As(err, &lite) {
		c := lite.Code() & 0xff // the primary code of an extended one
		return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
	}
	return false
}

// lowerCamel turns an ent field name (list_price) into its GraphQL name (listPrice).
func lowerCamel(s string) string {
	parts := strings.Split(s, "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}
