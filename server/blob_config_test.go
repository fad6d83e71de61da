package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"estatecrm/storage/s3test"
)

func TestBlobConfig(t *testing.T) {
	cfg, err := loadConfig(nil, env(nil), io.Discard)
	if err != nil || cfg.Blobs.S3 != nil || cfg.Blobs.Dir != "data/photos" {
		t.Fatalf("default: %+v, %v; want the directory data/photos", cfg.Blobs, err)
	}
	cfg, err = loadConfig([]string{"-photo-dir", "/srv/photos"}, env(nil), io.Discard)
	if err != nil || cfg.Blobs.Dir != "/srv/photos" {
		t.Fatalf("-photo-dir: %+v, %v", cfg.Blobs, err)
	}
	cfg, err = loadConfig(nil, env(map[string]string{"BLOB_URL": "s3://photos?endpoint=127.0.0.1:9000&tls=false",
		"AWS_ACCESS_KEY_ID": "id", "AWS_SECRET_ACCESS_KEY": "secret"}), io.Discard)
	if err != nil || cfg.Blobs.S3 == nil || cfg.Blobs.S3.Bucket != "photos" || cfg.Blobs.S3.AccessKeyID != "id" || cfg.Blobs.S3.TLS {
		t.Fatalf("BLOB_URL s3: %+v, %v", cfg.Blobs, err)
	}
	if _, err := loadConfig(nil, env(map[string]string{"BLOB_URL": "s3://photos"}), io.Discard); err == nil || !strings.Contains(err.Error(), "AWS_ACCESS_KEY_ID") {
		t.Fatalf("BLOB_URL s3 without credentials: %v", err)
	}
}

// A BLOB_URL whose bucket is missing stops the server at start, saying so.
func TestStartRefusesAMissingBucket(t *testing.T) {
	srv := s3test.Start(t)
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"-addr", "127.0.0.1:0"}, env(map[string]string{
		"DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "db.sqlite"),
		"SEED":         "false",
		"BLOB_URL":     srv.URL("no-such-bucket"),
	}), &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), `bucket "no-such-bucket" does not exist`) {
		t.Fatalf("start with a missing bucket: %v", err)
	}
	if strings.Contains(err.Error(), "test-secret-key") {
		t.Fatalf("the error shows the secret: %v", err)
	}
	if strings.Contains(stdout.String(), "listening") {
		t.Fatalf("the server listened before failing:\n%s", stdout.String())
	}
}

// With BLOB_URL naming a bucket that is there, the server starts on it and
// says so in its log (never with the credentials).
func TestServeOnS3(t *testing.T) {
	srv := s3test.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0"}, env(map[string]string{
			"DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "db.sqlite"),
			"SEED":         "false",
			"BLOB_URL":     srv.URL(srv.Bucket(t)),
		}), &stdout, &stderr)
	}()
	base := waitForURL(t, &stdout, done)
	res, err := http.Get(base + "/healthz")
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %v, %v", res, err)
	}
	res.Body.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	log := stderr.String()
	if !strings.Contains(log, `"blobs":"s3 bucket test-`) || strings.Contains(log, "test-secret-key") {
		t.Fatalf("the start-up log should name the bucket and not the secret:\n%s", log)
	}
}
