package database

import "context"

// A statement's context reaches database/sql without its cancellation, and
// lib/pq with it.
//
// database/sql starts a goroutine for every result set whose context can be
// cancelled (Rows.awaitDone, to close the rows when the context ends), on top
// of lib/pq's own goroutine that watches the same context to send
// PostgreSQL a cancel request. Two goroutines per statement, each with its
// context and stack, for one cancellation: on the customer-by-phone request
// database/sql's alone was 3-4% of the server's processor time (issue 10).
// lib/pq's watch is the one that matters: it cancels the statement on the
// server and drops the connection, and a cancelled statement ends its
// result set with an error (57014) either way. So the statement's context
// goes to database/sql detached (context.WithoutCancel: no goroutine), and
// carries the caller's context as a value that pgConn hands back to lib/pq,
// which still cancels the statement when the request's deadline passes or
// its client goes.
//
// Only statements that hold a ticket (fifoDriver) are detached: the ticket
// is taken with the caller's context, and with no more tickets than
// connections a statement that holds one rarely waits in database/sql's
// pool, where a detached context could not end the wait. Transactions keep
// their context: database/sql watches a transaction's context whatever its
// statements' contexts say, so detaching them would save nothing.

// callerKey is the key of the caller's context in a detached one.
type callerKey struct{}

// detach returns ctx without its cancellation, carrying ctx for caller.
func detach(ctx context.Context) context.Context {
	if ctx.Done() == nil {
		return ctx
	}
	return context.WithValue(context.WithoutCancel(ctx), callerKey{}, ctx)
}

// caller returns the context that detach took the cancellation from, or ctx
// itself when it was not detached.
func caller(ctx context.Context) context.Context {
	if c, ok := ctx.Value(callerKey{}).(context.Context); ok {
		return c
	}
	return ctx
}
