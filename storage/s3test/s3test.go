// Package s3test runs an S3 protocol server (gofakes3) in the test's
// process, or in a child process for benchmarks: the S3 store is tested
// over real HTTP with minio-go's real requests and signatures, not through
// a mock of the Store.
package s3test

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3afero"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/spf13/afero"

	"estatecrm/storage"
)

// Server is an S3 service on a loopback port, stopped when the test ends.
type Server struct {
	// Endpoint is its host:port.
	Endpoint string
	srv      *httptest.Server // nil in another process
	stop     func()
	// cut, when set, makes the server drop the connection of every PUT
	// whose body is longer than that: the store going away mid-upload.
	cut atomic.Int64
	// gets counts the GETs of objects (not of listings).
	gets atomic.Int64
}

// ObjectGets is how many GETs of an object the server has answered.
func (s *Server) ObjectGets() int64 { return s.gets.Load() }

// Start starts a server in this process keeping its objects in memory. As
// S3 does, it creates an object only once its body has arrived whole.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{}
	s.srv = httptest.NewUnstartedServer(s.handler(s3mem.New()))
	// gofakes3 writes a second header on some errors; net/http's complaint
	// about it says nothing about the code under test.
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.srv.Start()
	s.stop = s.srv.Close
	t.Cleanup(s.srv.Close)
	s.Endpoint = strings.TrimPrefix(s.srv.URL, "http://")
	return s
}

// childEnv, in a test binary's environment, makes ServeIfChild serve.
const childEnv = "S3TEST_SERVE_DIR"

// StartProcess starts a server in a child process (the test binary again,
// whose TestMain calls ServeIfChild) keeping its objects in dir: a
// benchmark of memory then measures the store alone, not the server too.
// Unlike S3 it writes an object in place as it arrives (a PUT cut off
// leaves part of it), and CutPutsAfter does nothing to it.
func StartProcess(t testing.TB, dir string) *Server {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The child serves until its stdin closes: also when this process dies.
	s := &Server{stop: func() { stdin.Close(); _ = cmd.Wait() }}
	t.Cleanup(s.stop)
	line, err := bufio.NewReader(stdout).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "s3test listening on ")
	if err != nil || !ok {
		t.Fatalf("the S3 server process did not start (%q, %v): does the package's TestMain call s3test.ServeIfChild?", line, err)
	}
	s.Endpoint = addr
	return s
}

// ServeIfChild, in a process started by StartProcess, serves S3 until its
// stdin closes and returns true; anywhere else it returns false at once.
// A TestMain of a package that uses StartProcess calls it first.
func ServeIfChild() bool {
	dir := os.Getenv(childEnv)
	if dir == "" {
		return false
	}
	backend, err := s3afero.MultiBucket(afero.NewBasePathFs(afero.NewOsFs(), dir))
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("s3test listening on", ln.Addr())
	srv := &http.Server{Handler: (&Server{}).handler(backend), ErrorLog: log.New(io.Discard, "", 0)}
	go srv.Serve(ln) //nolint:errcheck // ends with the process
	_, _ = io.Copy(io.Discard, os.Stdin)
	return true
}

// handler is gofakes3 over backend, with the faults and the decoding below.
func (s *Server) handler(backend gofakes3.Backend) http.Handler {
	fake := gofakes3.New(backend, gofakes3.WithLogger(gofakes3.DiscardLog())).Server()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.Contains(strings.Trim(r.URL.Path, "/"), "/") {
			s.gets.Add(1)
		}
		if n := s.cut.Load(); n > 0 && r.Method == http.MethodPut {
			r.Body = &cutBody{ReadCloser: r.Body, left: n, w: w}
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
	})
}

// cutBody drops the connection once more than left bytes were read: the
// server going away mid-upload, as the client sees it. A shorter body
// passes whole.
type cutBody struct {
	io.ReadCloser
	left int64
	w    http.ResponseWriter
}

func (c *cutBody) Read(p []byte) (int, error) {
	if c.left <= 0 {
		var b [1]byte
		if n, err := c.ReadCloser.Read(b[:]); n == 0 && err == io.EOF {
			return 0, io.EOF
		}
		if conn, _, err := http.NewResponseController(c.w).Hijack(); err == nil {
			conn.Close()
		}
		return 0, errors.New("s3test: connection cut")
	}
	n, err := c.ReadCloser.Read(p[:min(int64(len(p)), c.left)])
	c.left -= int64(n)
	return n, err
}

// CutPutsAfter makes every PUT from now on whose body is longer than n
// bytes fail after n, the connection dropped (0 restores them).
func (s *Server) CutPutsAfter(n int64) { s.cut.Store(n) }

// Close stops the server: every request from then on is refused.
func (s *Server) Close() { s.stop() }

// client speaks to the server as the stores do.
func (s *Server) client(t testing.TB) *minio.Client {
	t.Helper()
	c, err := minio.New(s.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(accessKey, secretKey, ""), Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Bucket creates a bucket with a fresh name and returns the name.
func (s *Server) Bucket(t testing.TB) string {
	t.Helper()
	name := "test-" + strings.ToLower(rand.Text()[:16])
	if err := s.client(t).MakeBucket(context.Background(), name, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	return name
}

// The credentials of the stores: gofakes3 checks no signature.
const accessKey, secretKey = "test-access-key", "test-secret-key"

// Config is the store's configuration for bucket (which need not exist).
func (s *Server) Config(bucket string) storage.S3Config {
	return storage.S3Config{Endpoint: s.Endpoint, Region: "us-east-1", Bucket: bucket,
		AccessKeyID: accessKey, SecretAccessKey: secretKey}
}

// URL is the BLOB_URL of bucket.
func (s *Server) URL(bucket string) string {
	return fmt.Sprintf("s3://%s?endpoint=%s&tls=false&access_key_id=%s&secret_access_key=%s", bucket, s.Endpoint, accessKey, secretKey)
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

// Objects lists every object of bucket, whatever its name: what a test
// asserts was (not) left behind.
func (s *Server) Objects(t testing.TB, bucket string) []string {
	t.Helper()
	var names []string
	for o := range s.client(t).ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
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
