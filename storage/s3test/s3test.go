// Package s3test runs an S3 protocol server in the test's process
// (gofakes3): the S3 store is tested over real HTTP with minio-go's real
// requests and signatures, not through a mock of the Store.
package s3test

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"estatecrm/storage"
)

// Server is an S3 service on a loopback port, closed when the test ends.
type Server struct {
	// Endpoint is its host:port.
	Endpoint string
	backend  gofakes3.Backend
	srv      *httptest.Server
	// cut, when set, makes the server drop the connection of every PUT
	// after reading that many bytes of its body: the store going away in
	// the middle of an upload.
	cut atomic.Int64
}

// Start starts a server keeping its objects in memory.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartWith(t, s3mem.New())
}

// StartWith starts a server over backend (s3afero keeps objects on disk,
// which a benchmark of the store's own memory wants).
func StartWith(t testing.TB, backend gofakes3.Backend) *Server {
	t.Helper()
	s := &Server{backend: backend}
	fake := gofakes3.New(backend, gofakes3.WithLogger(gofakes3.DiscardLog())).Server()
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n := s.cut.Load(); n > 0 && r.Method == http.MethodPut {
			_, _ = io.CopyN(io.Discard, r.Body, n)
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				conn.Close()
			}
			return
		}
		if r.Method == http.MethodPut && r.URL.Query().Has("uploadId") &&
			r.Header.Get("X-Amz-Content-Sha256") == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" {
			// gofakes3 decodes a signed stream (aws-chunked) in a PutObject
			// but not in an UploadPart, as S3 does: decode it here.
			n, err := strconv.ParseInt(r.Header.Get("X-Amz-Decoded-Content-Length"), 10, 64)
			if err != nil {
				http.Error(w, "bad X-Amz-Decoded-Content-Length", http.StatusBadRequest)
				return
			}
			r.Body = io.NopCloser(&chunked{r: bufio.NewReader(r.Body)})
			r.ContentLength = n
			r.Header.Set("Content-Length", strconv.FormatInt(n, 10))
			r.Header.Del("X-Amz-Content-Sha256")
		}
		fake.ServeHTTP(w, r)
	}))
	// gofakes3 writes a second header on some errors; net/http's complaint
	// about it says nothing about the code under test.
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.srv.Start()
	t.Cleanup(s.srv.Close)
	s.Endpoint = strings.TrimPrefix(s.srv.URL, "http://")
	return s
}

// CutPutsAfter makes every PUT from now on fail after n bytes of its body
// (0 restores them).
func (s *Server) CutPutsAfter(n int64) { s.cut.Store(n) }

// Close stops the server: every request from then on is refused.
func (s *Server) Close() { s.srv.Close() }

// Bucket creates a bucket with a fresh name and returns the name.
func (s *Server) Bucket(t testing.TB) string {
	t.Helper()
	name := "test-" + strings.ToLower(rand.Text()[:16])
	if err := s.backend.CreateBucket(name); err != nil {
		t.Fatal(err)
	}
	return name
}

// Config is the store's configuration for bucket (which need not exist).
func (s *Server) Config(bucket string) storage.S3Config {
	return storage.S3Config{Endpoint: s.Endpoint, Region: "us-east-1", Bucket: bucket,
		AccessKeyID: "test-access-key", SecretAccessKey: "test-secret-key"}
}

// URL is the BLOB_URL of bucket.
func (s *Server) URL(bucket string) string {
	return fmt.Sprintf("s3://%s?endpoint=%s&tls=false&access_key_id=test-access-key&secret_access_key=test-secret-key", bucket, s.Endpoint)
}

// Store returns a store in a new bucket of its own.
func (s *Server) Store(t testing.TB) *storage.S3 {
	t.Helper()
	st, err := storage.NewS3(context.Background(), s.Config(s.Bucket(t)))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// Objects lists every object of bucket as the server holds it, whatever
// its name: what a test asserts was (not) left behind.
func (s *Server) Objects(t testing.TB, bucket string) []string {
	t.Helper()
	list, err := s.backend.ListBucket(bucket, nil, gofakes3.ListBucketPage{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range list.Contents {
		names = append(names, o.Key)
	}
	return names
}

// chunked decodes an aws-chunked body: "<hex size>;chunk-signature=…\r\n",
// the chunk's bytes and "\r\n", to a chunk of size 0. The signatures are not
// checked (gofakes3 checks none).
type chunked struct {
	r    *bufio.Reader
	left int64 // of the current chunk
	done bool
}

func (c *chunked) Read(p []byte) (int, error) {
	for c.left == 0 {
		if c.done {
			return 0, io.EOF
		}
		line, err := c.r.ReadString('\n')
		if err != nil {
			return 0, err
		}
		size, _, _ := strings.Cut(strings.TrimSpace(line), ";")
		n, err := strconv.ParseInt(size, 16, 64)
		if err != nil || n < 0 {
			return 0, errors.New("s3test: bad aws-chunked chunk header")
		}
		if n == 0 {
			c.done = true
			continue
		}
		c.left = n
	}
	n, err := c.r.Read(p[:min(int64(len(p)), c.left)])
	c.left -= int64(n)
	if c.left == 0 && err == nil {
		if _, err := c.r.Discard(2); err != nil { // the chunk's \r\n
			return n, err
		}
	}
	return n, err
}
