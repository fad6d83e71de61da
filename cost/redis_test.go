package cost_test

// The Redis store the PostgreSQL one was measured against (BenchmarkStores):
// kept with the tests, not in the server, because PostgreSQL's figures are
// well within what the budgets let through and Redis is no part of the
// product's infrastructure (SPEC.md §5). It passes the same tests.

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"estatecrm/cost"
)

// Redis is a cost.Store in Redis, shared by every process using the same server:
// one Lua script per take, which Redis runs atomically. A bucket is a hash
// {t: points, u: milliseconds} that expires once it would be full again
// (a missing bucket is a full one).
type Redis struct{ c redis.UniversalClient }

// NewRedis returns the store over c.
func NewRedis(c redis.UniversalClient) *Redis { return &Redis{c: c} }

// takeScript: KEYS[1] bucket; ARGV max, rate a second, n, now in ms.
var takeScript = redis.NewScript(`
local max, rate, n, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local v = redis.call('HMGET', KEYS[1], 't', 'u')
local tokens, at = max, now
if v[1] then
  tokens, at = tonumber(v[1]), tonumber(v[2])
  if now > at then tokens = tokens + rate * (now - at) / 1000 end
  tokens = math.min(max, tokens)
end
local ok = 0
if tokens >= n then
  tokens = math.min(max, tokens - n)
  ok = 1
end
redis.call('HSET', KEYS[1], 't', string.format('%.17g', tokens), 'u', math.max(now, at))
redis.call('PEXPIRE', KEYS[1], math.ceil((max - tokens) / rate * 1000) + 1000)
return {string.format('%.17g', tokens), ok}
`)

// Take implements cost.Store.
func (s *Redis) Take(ctx context.Context, key string, b cost.Budget, n int, now time.Time) (float64, bool, error) {
	res, err := takeScript.Run(ctx, s.c, []string{"cost:" + key}, b.Max, b.RestoreRate, n, now.UnixMilli()).Slice()
	if err != nil {
		return 0, false, err
	}
	left, err := strconv.ParseFloat(res[0].(string), 64)
	if err != nil {
		return 0, false, err
	}
	return left, res[1].(int64) == 1, nil
}
