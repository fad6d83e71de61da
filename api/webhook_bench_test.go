package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"estatecrm/api/apitest"
	"estatecrm/ent/schema/pulid"
	"estatecrm/money"
	"estatecrm/webhook"
)

// BenchmarkWebhookLatency measures how long a change takes from its commit
// to a receiver: 200 changes, one every 5 ms, each of its own unit, sent by
// one worker polling every poll; p50 and p99 of commit → received.
//
//	go test ./api -run '^$' -bench WebhookLatency -benchtime 1x
func BenchmarkWebhookLatency(b *testing.B) {
	for _, poll := range []time.Duration{100 * time.Millisecond, webhook.DefaultPoll} {
		b.Run("poll="+poll.String(), func(b *testing.B) {
			for range b.N {
				p50, p99 := webhookLatency(b, poll, 200)
				b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
			}
		})
	}
}

func webhookLatency(b *testing.B, poll time.Duration, changes int) (p50, p99 time.Duration) {
	b.StopTimer()
	env := apitest.New(b)
	p := env.Project(b, "江南·里", 1, changes/10, 10)
	us := unitsOf(env, p)
	var (
		mu      sync.Mutex
		arrived = map[pulid.ID]time.Time{}
		done    = make(chan struct{})
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		body, _ := io.ReadAll(r.Body)
		var pl webhook.Payload
		_ = json.Unmarshal(body, &pl)
		mu.Lock()
		if _, ok := arrived[pl.Data.ListingID]; !ok {
			arrived[pl.Data.ListingID] = now
			if len(arrived) == changes {
				close(done)
			}
		}
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	if _, err := webhook.Create(apitest.System(), env.Client, webhook.Allowlist{"127.0.0.1"}, webhook.NewEndpoint{URL: srv.URL}); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &webhook.Worker{Client: env.Client, Poll: poll}
	go w.Run(ctx)
	b.StartTimer()
	committed := map[pulid.ID]time.Time{}
	tick := time.NewTicker(5 * time.Millisecond)
	for _, u := range us[:changes] {
		<-tick.C
		env.Client.Unit.UpdateOneID(u.ID).AddListPrice(money.Yuan(1)).ExecX(apitest.System())
		committed[u.ID] = time.Now()
	}
	tick.Stop()
	select {
	case <-done:
	case <-time.After(time.Minute):
		b.Fatalf("only %d of %d changes arrived", len(arrived), changes)
	}
	b.StopTimer()
	var lat []time.Duration
	mu.Lock()
	for id, at := range committed {
		lat = append(lat, arrived[id].Sub(at))
	}
	mu.Unlock()
	slices.Sort(lat)
	return lat[len(lat)/2], lat[len(lat)*99/100]
}
