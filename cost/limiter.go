package cost

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"estatecrm/apperr"
	"estatecrm/clock"
	"estatecrm/throttle"
)

// ReasonMaxCostExceeded is extensions.reason of an operation refused for
// requesting more than its payer's whole budget.
const ReasonMaxCostExceeded = "MAX_COST_EXCEEDED"

// Report is extensions.cost of a paid answer, as Shopify reports it. It is
// written after the fields another extension put under extensions.cost
// (graph/guard's complexity limit, which every caller has: requested and
// limit), so that the answer keeps them.
type Report struct {
	RequestedQueryCost int `json:"requestedQueryCost"`
	// ActualQueryCost is null when the operation did not run.
	ActualQueryCost *int   `json:"actualQueryCost"`
	ThrottleStatus  Status `json:"throttleStatus"`

	base any // what extensions.cost held before
}

// MarshalJSON writes base's fields, then the report's.
func (r Report) MarshalJSON() ([]byte, error) {
	type plain Report
	mine, err := json.Marshal(plain(r))
	if err != nil || r.base == nil {
		return mine, err
	}
	b, err := json.Marshal(r.base)
	if err != nil || len(b) < 2 || b[0] != '{' || string(b) == "{}" {
		return mine, nil
	}
	return append(append(b[:len(b)-1:len(b)-1], ','), mine[1:]...), nil
}

// Limiter is the gqlgen extension that makes a request's Payer (see
// NewContext) pay for its queries and mutations: before the operation runs
// it takes the requested cost from the payer's bucket, or refuses it
// (RATE_LIMITED with Retry-After when the bucket is short, BAD_USER_INPUT
// with reason MAX_COST_EXCEEDED when the cost is over the whole budget), and
// afterwards gives back what the answer did not use. The answer's
// extensions.cost is the Report. Requests without a payer pass untouched;
// subscriptions are not charged.
//
// Use it after the extensions that refuse an operation for its shape (depth,
// page sizes, introspection), so that a refused operation costs nothing, and
// before the transaction and idempotency extensions, so that an operation
// refused here opens nothing.
//
// Refunds cost no statement of their own when the Store is a Refunder (both
// stores are): what an answer did not use is kept in this process, per key,
// and given back by the statement of that key's next take here (refused or
// not), so a paid request costs one statement to the store, not two. The
// answer's currentlyAvailable counts its own refund. Another process sees a
// refund once this process has taken for that key again: until then the
// key's budget is short by at most what this process owes it, never over.
// A process that dies loses what it owed, a few points the bucket restores
// within seconds; pending refunds are bounded (per key by the budget, in
// number of keys by maxPendingKeys), and a refund past that bound is
// dropped the same way.
//
// Over a Leasing store (the server's on PostgreSQL) a take the process's
// lease of the key covers, and every refund, cost no statement: a
// Leasing is not a Refunder, so a refund goes to the lease at once and the
// answer's currentlyAvailable is the Leasing's (see Leasing).
type Limiter struct {
	Store Store

	mu      sync.Mutex
	pending map[string]float64 // points owed back to a key's bucket
}

// maxPendingKeys bounds the keys this process owes refunds to.
const maxPendingKeys = 10_000

var _ interface {
	graphql.HandlerExtension
	graphql.ResponseInterceptor
} = (*Limiter)(nil)

// ExtensionName implements graphql.HandlerExtension.
func (*Limiter) ExtensionName() string { return "CostLimiter" }

// Validate implements graphql.HandlerExtension.
func (*Limiter) Validate(graphql.ExecutableSchema) error { return nil }

// take takes n points from key's bucket, giving back first what this
// process owes it.
func (l *Limiter) take(ctx context.Context, key string, b Budget, n int, now time.Time) (float64, bool, error) {
	r, ok := l.Store.(Refunder)
	if !ok {
		return l.Store.Take(ctx, key, b, n, now)
	}
	l.mu.Lock()
	owed := l.pending[key]
	delete(l.pending, key)
	l.mu.Unlock()
	left, taken, err := r.TakeRefunding(ctx, key, b, owed, n, now)
	if err != nil && owed > 0 && !RefundGiven(err) {
		l.owe(key, b, owed) // not given back: the next take carries it
	}
	return left, taken, err
}

// refund gives back points an answer did not use: at once when the store
// cannot carry it, else with the key's next take. It returns the points
// left after it, or false when that is unknown.
func (l *Limiter) refund(ctx context.Context, key string, b Budget, points int, left float64, now time.Time) (float64, bool) {
	if _, ok := l.Store.(Refunder); !ok {
		left, _, err := l.Store.Take(ctx, key, b, -points, now)
		return left, err == nil
	}
	l.owe(key, b, float64(points))
	return min(left+float64(points), float64(b.Max)), true
}

func (l *Limiter) owe(key string, b Budget, points float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pending == nil {
		l.pending = map[string]float64{}
	}
	owed, ok := l.pending[key]
	if !ok && len(l.pending) >= maxPendingKeys {
		return // dropped: see Limiter
	}
	// More than the whole budget is never given back.
	l.pending[key] = min(owed+points, float64(b.Max))
}

// InterceptResponse implements graphql.ResponseInterceptor.
func (l *Limiter) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	p, paying := FromContext(ctx)
	if !paying || !graphql.HasOperationContext(ctx) {
		return next(ctx)
	}
	oc := graphql.GetOperationContext(ctx)
	if oc.Operation == nil || oc.Operation.Operation == ast.Subscription {
		return next(ctx)
	}
	b := p.Budget
	requested := Requested(oc.Doc, oc.Operation, oc.Variables)
	report := Report{RequestedQueryCost: requested, base: graphql.GetExtension(ctx, "cost")}
	if requested > b.Max {
		left, _, err := l.take(ctx, p.Key, b, 0, clock.Now(ctx))
		if err != nil {
			return refuse(ctx, unavailable(err), report)
		}
		report.ThrottleStatus = b.Status(left)
		e := apperr.New(apperr.BadUserInput, "query cost %d is over this API key's budget of %d points: ask for fewer or smaller pages", requested, b.Max)
		res := refuse(ctx, e, report)
		for _, e := range res.Errors {
			e.Extensions["reason"] = ReasonMaxCostExceeded
		}
		return res
	}
	left, ok, err := l.take(ctx, p.Key, b, requested, clock.Now(ctx))
	if err != nil {
		return refuse(ctx, unavailable(err), report)
	}
	report.ThrottleStatus = b.Status(left)
	if !ok {
		wait := b.Wait(left, requested)
		_ = throttle.Refuse(ctx, wait) // HTTP 429 and Retry-After
		return refuse(ctx, apperr.New(apperr.RateLimited,
			"this API key's query-cost budget is short: the query costs %d points, %d are available, %d are restored a second; retry in %d seconds",
			requested, report.ThrottleStatus.CurrentlyAvailable, b.RestoreRate, throttle.Seconds(wait)), report)
	}
	res := next(ctx)
	actual := requested
	if res != nil {
		actual = min(requested, Actual(res.Data))
	}
	report.ActualQueryCost = &actual
	if refund := requested - actual; refund > 0 {
		// The answer is written even if its request's context ended.
		if left, ok := l.refund(context.WithoutCancel(ctx), p.Key, b, refund, left, clock.Now(ctx)); ok {
			report.ThrottleStatus = b.Status(left)
		}
	}
	if res != nil {
		if res.Extensions == nil {
			res.Extensions = map[string]any{}
		}
		res.Extensions["cost"] = report
	}
	return res
}

func unavailable(err error) error {
	return fmt.Errorf("query-cost store: %v: %w", err, apperr.New(apperr.Unavailable, "cannot check this API key's query-cost budget now; try again shortly"))
}

// refuse answers without running the operation: err, presented like any
// other error, and extensions.cost.
func refuse(ctx context.Context, err error, report Report) *graphql.Response {
	graphql.AddError(ctx, err)
	ext := map[string]any{}
	for k, v := range graphql.GetExtensions(ctx) {
		ext[k] = v
	}
	ext["cost"] = report
	return &graphql.Response{Errors: graphql.GetErrors(ctx), Extensions: ext}
}
