package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"estatecrm/api/apitest"
)

// benchPhotoBytes is the size of each photo of the upload benchmarks: the
// largest a complaint accepts.
const benchPhotoBytes = 10 << 20

// BenchmarkUploadNinePhotos files a complaint with the most photos allowed,
// each of the largest size, over a real loopback connection, into each
// store: dir (a local directory) and s3 (minio-go to an S3 server, gofakes3
// in a child process keeping the objects on disk).
func BenchmarkUploadNinePhotos(b *testing.B) { benchmarkUploadStores(b, 9) }

// BenchmarkUploadOnePhoto is the same with one photo: its peak-heap-MB is
// the one to compare with nine's, since an upload that streams holds about
// as much memory for nine photos as for one.
func BenchmarkUploadOnePhoto(b *testing.B) { benchmarkUploadStores(b, 1) }

func benchmarkUploadStores(b *testing.B, photos int) {
	for _, store := range []struct{ name, env string }{{"dir", "dir"}, {"s3", "s3proc"}} {
		b.Run(store.name, func(b *testing.B) {
			b.Setenv(apitest.StoreEnv, store.env)
			benchmarkUpload(b, photos)
		})
	}
}

// zeros reads as an endless run of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// heapPeak is the highest of the memory statistics sampled.
type heapPeak struct{ heapInuse, sys uint64 }

// sampleHeap reads runtime.MemStats every 10 ms until stop is closed, then
// sends the peaks seen.
func sampleHeap(stop <-chan struct{}) <-chan heapPeak {
	out := make(chan heapPeak, 1)
	go func() {
		var ms runtime.MemStats
		var peak heapPeak
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peak.heapInuse = max(peak.heapInuse, ms.HeapInuse)
			peak.sys = max(peak.sys, ms.Sys)
			select {
			case <-stop:
				out <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return out
}

func benchmarkUpload(b *testing.B, photos int) {
	env := apitest.New(b)
	h := newHomes(b, env)
	srv := httptest.NewServer(env.Handler)
	defer srv.Close()
	client := srv.Client()
	token := tokenFor(b, env, h.H1)
	head := jpegBytes(b)
	ops, mapping := photoOps(submitComplaint, complaintInput(h.Unit1), photos)

	// send streams one request: the body is written through a pipe as the
	// connection takes it, each photo a real JPEG padded with zeros.
	send := func() (submitted, error) {
		pr, pw := io.Pipe()
		mw := multipart.NewWriter(pw)
		parts := make([]filePart, photos)
		for i := range parts {
			parts[i] = filePart{
				key: fmt.Sprint(i), filename: fmt.Sprintf("IMG_%04d.jpg", i), contentType: "image/jpeg",
				content: io.MultiReader(bytes.NewReader(head), io.LimitReader(zeros{}, int64(benchPhotoBytes-len(head)))),
			}
		}
		go func() { pw.CloseWithError(writeMultipart(mw, ops, mapping, parts)) }()
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/query", pr)
		if err != nil {
			return submitted{}, err
		}
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := client.Do(req)
		if err != nil {
			return submitted{}, err
		}
		defer res.Body.Close()
		var out struct {
			Data   submitted
			Errors []apitest.Error
		}
		if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
			return submitted{}, fmt.Errorf("status %d: %w", res.StatusCode, err)
		}
		if res.StatusCode != http.StatusOK || len(out.Errors) > 0 {
			return submitted{}, fmt.Errorf("status %d, errors %+v", res.StatusCode, out.Errors)
		}
		return out.Data, nil
	}

	total := int64(photos) * benchPhotoBytes
	b.SetBytes(total)
	var elapsed time.Duration
	var peakHeap, peakSys int64
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		runtime.GC()
		var base runtime.MemStats
		runtime.ReadMemStats(&base)
		stop := make(chan struct{})
		peaks := sampleHeap(stop)
		b.StartTimer()

		start := time.Now()
		got, err := send()
		took := time.Since(start)

		b.StopTimer()
		close(stop)
		peak := <-peaks
		if err != nil {
			b.Fatal(err)
		}
		ps := got.SubmitComplaint.Complaint.Photos
		if len(ps) != photos {
			b.Fatalf("%d photos filed, want %d", len(ps), photos)
		}
		for _, p := range ps {
			if p.SizeBytes != benchPhotoBytes || p.ContentType != "image/jpeg" {
				b.Fatalf("photo filed as %+v", p)
			}
		}
		elapsed += took
		peakHeap = max(peakHeap, int64(peak.heapInuse)-int64(base.HeapInuse))
		peakSys = max(peakSys, int64(peak.sys))
		b.StartTimer()
	}
	b.StopTimer()
	if left := uploadsLeft(b, env); len(left) != 0 {
		b.Errorf("temporary upload files left behind: %v", left)
	}
	b.ReportMetric(float64(total)*float64(b.N)/1e6/elapsed.Seconds(), "MB/s")
	// peak-heap-MB is the growth of the heap in use during a request over
	// its level right before (after a GC): what the request in flight holds,
	// client and server together since both run in this process, plus the
	// garbage not yet collected. peak-sys-MB is the memory the process got
	// from the OS, absolute: Sys never shrinks, so a growth would read 0
	// after the first run; it includes earlier benchmarks of the process.
	// On s3 the S3 server runs in a process of its own: it is not counted.
	b.ReportMetric(float64(peakHeap)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(peakSys)/(1<<20), "peak-sys-MB")
}
