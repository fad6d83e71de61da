// Package statement records the statements that the ent client sends under
// a context, and can keep them from running: graph's page cache learns a
// page's statement from what ent built for it (and from a second build with
// stand-in values, which is not run). The client's driver (tracing.Driver,
// through which every statement of the ent client passes) reports each
// statement here before it runs it.
package statement

import (
	"context"
	"errors"
	"sync"
)

// ErrDry is the error of a statement sent under a dry log: it was recorded,
// not run.
var ErrDry = errors.New("statement: recorded, not run")

// Statement is a statement's text and arguments as the driver got them.
type Statement struct {
	Text string
	Args []any
}

// Log is the statements sent under a context, in the order sent.
type Log struct {
	dry  bool
	mu   sync.Mutex
	list []Statement
}

type key struct{}

// Record returns ctx under which every statement is recorded in the log
// returned, and run.
func Record(ctx context.Context) (context.Context, *Log) { return with(ctx, false) }

// Dry returns ctx under which every statement is recorded in the log
// returned and not run: it fails with ErrDry.
func Dry(ctx context.Context) (context.Context, *Log) { return with(ctx, true) }

func with(ctx context.Context, dry bool) (context.Context, *Log) {
	l := &Log{dry: dry}
	return context.WithValue(ctx, key{}, l), l
}

// IsDry reports whether ctx keeps its statements from running.
func IsDry(ctx context.Context) bool {
	l, _ := ctx.Value(key{}).(*Log)
	return l != nil && l.dry
}

// Sent is called by the driver with each statement before it runs it: under
// a log it records the statement, and under a dry one it returns ErrDry,
// which the driver returns instead of running it. args is the driver's
// (a []any from ent).
func Sent(ctx context.Context, text string, args any) error {
	l, _ := ctx.Value(key{}).(*Log)
	if l == nil {
		return nil
	}
	list, _ := args.([]any)
	l.mu.Lock()
	l.list = append(l.list, Statement{Text: text, Args: append([]any(nil), list...)})
	l.mu.Unlock()
	if l.dry {
		return ErrDry
	}
	return nil
}

// Statements returns the statements recorded so far.
func (l *Log) Statements() []Statement {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Statement(nil), l.list...)
}
