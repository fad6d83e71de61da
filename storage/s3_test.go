package storage_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"estatecrm/apperr"
	"estatecrm/storage"
	"estatecrm/storage/s3test"
)

// A BLOB_URL naming a bucket that is not there stops the server at start
// with a message that says so, rather than failing each upload later.
func TestS3StartupChecks(t *testing.T) {
	srv := s3test.Start(t)
	_, err := storage.NewS3(context.Background(), srv.Config("no-such-bucket"))
	if err == nil || !strings.Contains(err.Error(), `bucket "no-such-bucket" does not exist`) {
		t.Errorf("a missing bucket: %v", err)
	}

	// A port nothing listens on: the store is down at start.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := srv.Config(srv.Bucket(t))
	cfg.Endpoint = ln.Addr().String()
	ln.Close()
	if _, err := storage.NewS3(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "cannot reach bucket") {
		t.Errorf("an endpoint that is down: %v", err)
	}

	cfg = srv.Config(srv.Bucket(t))
	cfg.AccessKeyID = ""
	if _, err := storage.NewS3(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "no credentials") {
		t.Errorf("no credentials: %v", err)
	}
}

func unavailable(err error) bool {
	e, ok := apperr.As(err)
	return ok && e.Code == apperr.Unavailable
}

// The store going down is UNAVAILABLE (the client may try again), and a
// Put cut off in the middle acknowledges nothing and leaves nothing.
func TestS3Down(t *testing.T) {
	srv := s3test.Start(t)
	s := srv.Store(t)
	ctx := context.Background()
	kept, _, err := s.Put(ctx, "complaints", strings.NewReader("kept"))
	if err != nil {
		t.Fatal(err)
	}

	srv.CutPutsAfter(64 << 10)
	data := pattern(1 << 20)
	for name, r := range map[string]io.Reader{
		"known length":   bytes.NewReader(data),
		"unknown length": unsized{bytes.NewReader(pattern(6 << 20))},
	} {
		key, n, err := s.Put(ctx, "complaints", r)
		if !unavailable(err) || key != "" || n != 0 {
			t.Errorf("%s: a Put cut off midway: %q, %d, %v; want UNAVAILABLE and no key", name, key, n, err)
		}
	}
	if objs := srv.Objects(t, s.Bucket()); len(objs) != 1 || objs[0] != kept {
		t.Errorf("objects after the cut Puts: %q, want only %s", objs, kept)
	}
	srv.CutPutsAfter(0)
	if _, _, err := s.Put(ctx, "complaints", bytes.NewReader(data)); err != nil {
		t.Errorf("a Put once the store is back: %v", err)
	}

	srv.Close()
	if key, _, err := s.Put(ctx, "complaints", bytes.NewReader(data)); !unavailable(err) || key != "" {
		t.Errorf("Put with the store down: %q, %v; want UNAVAILABLE", key, err)
	}
	if _, _, err := s.Open(ctx, kept); !unavailable(err) {
		t.Errorf("Open with the store down: %v; want UNAVAILABLE", err)
	}
	if err := s.Delete(ctx, kept); !unavailable(err) {
		t.Errorf("Delete with the store down: %v; want UNAVAILABLE", err)
	}
	if _, err := s.KeysBefore(ctx, time.Now()); !unavailable(err) {
		t.Errorf("KeysBefore with the store down: %v; want UNAVAILABLE", err)
	}
}

// A multipart upload (a Put of unknown length) that a dead process began
// and never finished keeps its parts in the bucket, unseen; a sweep aborts
// it once old enough, and leaves alone what is not the store's.
func TestS3SweepAbortsAbandonedUploads(t *testing.T) {
	srv := s3test.Start(t)
	s := srv.Store(t)
	ctx := context.Background()
	client, err := minio.New(srv.Endpoint, &minio.Options{Creds: credentials.NewStaticV4("k", "s", ""), Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	core := minio.Core{Client: client}
	ours := "complaints/ab/" + strings.Repeat("a", 26)
	for _, name := range []string{ours, "someone-elses/file"} {
		id, err := core.NewMultipartUpload(ctx, s.Bucket(), name, minio.PutObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		part := pattern(5 << 20)
		if _, err := core.PutObjectPart(ctx, s.Bucket(), name, id, 1, bytes.NewReader(part), int64(len(part)), minio.PutObjectPartOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	pending := func() []string {
		var names []string
		for up := range client.ListIncompleteUploads(ctx, s.Bucket(), "", true) {
			if up.Err != nil {
				t.Fatal(up.Err)
			}
			names = append(names, up.Key)
		}
		return names
	}
	if _, err := s.KeysBefore(ctx, time.Now().Add(-time.Hour)); err != nil || len(pending()) != 2 {
		t.Fatalf("a sweep of uploads older than an hour took a new one: %v, %q left", err, pending())
	}
	if _, err := s.KeysBefore(ctx, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if left := pending(); len(left) != 1 || left[0] != "someone-elses/file" {
		t.Errorf("uploads left after the sweep: %q, want only the foreign one", left)
	}
}

func TestParseURL(t *testing.T) {
	env := map[string]string{"AWS_ACCESS_KEY_ID": "env-id", "AWS_SECRET_ACCESS_KEY": "env-secret"}
	getenv := func(k string) string { return env[k] }
	none := func(string) string { return "" }
	tests := []struct {
		raw    string
		getenv func(string) string
		want   storage.Config // S3.Transport unset
		err    string
	}{
		{raw: "file:///var/lib/photos", want: storage.Config{Dir: "/var/lib/photos"}},
		{raw: "file:data/photos", want: storage.Config{Dir: "data/photos"}},
		{raw: "s3://photos?endpoint=127.0.0.1:9000&tls=false&region=cn-east-1", getenv: getenv, want: storage.Config{S3: &storage.S3Config{
			Endpoint: "127.0.0.1:9000", Region: "cn-east-1", Bucket: "photos", AccessKeyID: "env-id", SecretAccessKey: "env-secret"}}},
		{raw: "s3://photos?access_key_id=u&secret_access_key=p", getenv: getenv, want: storage.Config{S3: &storage.S3Config{
			Endpoint: "s3.amazonaws.com", Region: "us-east-1", TLS: true, Bucket: "photos", AccessKeyID: "u", SecretAccessKey: "p"}}},
		{raw: "s3://photos?credentials=iam", getenv: none, want: storage.Config{S3: &storage.S3Config{
			Endpoint: "s3.amazonaws.com", Region: "us-east-1", TLS: true, Bucket: "photos", IAM: true}}},
		{raw: "s3://photos", getenv: none, err: "no S3 credentials"},
		{raw: "s3://photos?endpont=x:1", getenv: getenv, err: `unknown parameter "endpont"`},
		{raw: "s3://photos?endpoint=http://x:1", getenv: getenv, err: "without a scheme"},
		{raw: "s3://photos?tls=maybe", getenv: getenv, err: "tls"},
		{raw: "s3://user:pass@photos", getenv: getenv, err: "the bucket alone"},
		{raw: "s3://photos/sub", getenv: getenv, err: "the bucket alone"},
		{raw: "gs://photos", getenv: getenv, err: "scheme"},
		{raw: "file://", err: "file:///absolute/path"},
	}
	for _, tt := range tests {
		got, err := storage.ParseURL(tt.raw, tt.getenv)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseURL(%q) = %+v, %v; want an error with %q", tt.raw, got, err, tt.err)
			}
			continue
		}
		if err != nil || got.Dir != tt.want.Dir || (got.S3 == nil) != (tt.want.S3 == nil) || (got.S3 != nil && *got.S3 != *tt.want.S3) {
			t.Errorf("ParseURL(%q) = %+v (%+v), %v; want %+v (%+v)", tt.raw, got, got.S3, err, tt.want, tt.want.S3)
		}
		if strings.Contains(got.String(), "secret") || strings.Contains(got.String(), "env-") {
			t.Errorf("%q: String() shows credentials: %s", tt.raw, got)
		}
	}
}
