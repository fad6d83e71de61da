package metrics

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Names invented by many clients at once stay under the cap, and every
// observation lands in some series.
func TestOperationSeriesAreCappedUnderConcurrency(t *testing.T) {
	reg := prometheus.NewRegistry()
	a := NewAPI(reg)
	const clients, each = 8, 100
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for i := range each {
				a.Observe(fmt.Sprintf("Op%d_%d", c, i), "query", time.Millisecond)
			}
		})
	}
	wg.Wait()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var series int
	var samples uint64
	for _, f := range fams {
		if f.GetName() != "estatecrm_graphql_operation_duration_seconds" {
			continue
		}
		for _, m := range f.Metric {
			series++
			samples += m.Histogram.GetSampleCount()
		}
	}
	if series > MaxOperations+4 {
		t.Fatalf("%d series, want at most %d", series, MaxOperations+4)
	}
	if samples != clients*each {
		t.Fatalf("%d samples, want %d", samples, clients*each)
	}
}

// BenchmarkObserve is what the metrics add to one request: its operation's
// latency and an error code.
func BenchmarkObserve(b *testing.B) {
	a := NewAPI(prometheus.NewRegistry())
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			a.InFlight.Inc()
			a.Observe("TourGrid", "query", 3*time.Millisecond)
			a.Error("CONFLICT")
			a.InFlight.Dec()
		}
	})
}
