// Package clock carries the domain's one clock in the context. The server
// sets it once per request from its configured source (api.Deps.Now), so
// that every rule that depends on time — a lapsed hold, the public pool, an
// SLA state — reads the same, injectable time; tests move it with the clock
// they give the server.
package clock

import (
	"context"
	"time"
)

type key struct{}

// NewContext returns ctx carrying now as its clock.
func NewContext(ctx context.Context, now func() time.Time) context.Context {
	if now == nil {
		return ctx
	}
	return context.WithValue(ctx, key{}, now)
}

// Now is the time of ctx's clock in UTC, or the system's time when ctx
// carries none (the seed, the command line, background jobs).
func Now(ctx context.Context) time.Time {
	if now, ok := ctx.Value(key{}).(func() time.Time); ok {
		return now().UTC()
	}
	return time.Now().UTC()
}

// Source is ctx's clock, or nil when it carries none (the system's), for
// work that outlives ctx but must keep its time, without keeping ctx.
func Source(ctx context.Context) func() time.Time {
	now, _ := ctx.Value(key{}).(func() time.Time)
	return now
}
