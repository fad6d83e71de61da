package storage_test

import (
	"context"
	"io"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"estatecrm/storage"
	"estatecrm/storage/s3test"
)

// benchPutBytes is far above a photo's 10 MB, so that a store holding a
// body in memory would show it in peak-heap-MB.
const benchPutBytes = 64 << 20

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// BenchmarkPut stores one 64 MiB blob per op in each store, of known
// length (Sized, as photos and media are) and of unknown length:
//
//	go test ./storage -run '^$' -bench Put -benchtime 5x
//
// peak-heap-MB is the growth of the heap in use during the Put over its
// level right before (after a GC), sampled every 5 ms. The S3 server
// (gofakes3, objects on disk) runs in a child process, not counted.
func BenchmarkPut(b *testing.B) {
	stores := []struct {
		name string
		open func(b *testing.B) storage.Store
	}{
		{"dir", func(b *testing.B) storage.Store {
			d, err := storage.NewDir(filepath.Join(b.TempDir(), "store"))
			if err != nil {
				b.Fatal(err)
			}
			return d
		}},
		{"s3", func(b *testing.B) storage.Store { return s3test.StartProcess(b, b.TempDir()).Store(b) }},
	}
	for _, st := range stores {
		for _, length := range []string{"sized", "unknown"} {
			b.Run(st.name+"/"+length, func(b *testing.B) {
				s := st.open(b)
				b.SetBytes(benchPutBytes)
				var peak uint64
				var elapsed time.Duration
				for range b.N {
					b.StopTimer()
					runtime.GC()
					var base runtime.MemStats
					runtime.ReadMemStats(&base)
					stop, done := make(chan struct{}), make(chan uint64)
					go sampleHeapInuse(stop, done)
					var body io.Reader = io.LimitReader(zeroReader{}, benchPutBytes)
					if length == "sized" {
						body = storage.Sized(body, benchPutBytes)
					}
					b.StartTimer()
					start := time.Now()
					key, _, err := s.Put(context.Background(), "complaints", body)
					elapsed += time.Since(start)
					b.StopTimer()
					close(stop)
					if p := <-done; p > base.HeapInuse {
						peak = max(peak, p-base.HeapInuse)
					}
					if err != nil {
						b.Fatal(err)
					}
					if err := s.Delete(context.Background(), key); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				b.ReportMetric(float64(benchPutBytes)*float64(b.N)/1e6/elapsed.Seconds(), "MB/s")
				b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
			})
		}
	}
}

func sampleHeapInuse(stop <-chan struct{}, done chan<- uint64) {
	var ms runtime.MemStats
	var peak uint64
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapInuse)
		select {
		case <-stop:
			done <- peak
			return
		case <-tick.C:
		}
	}
}
