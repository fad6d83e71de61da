package storage

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Config says where blobs are kept: a local directory or an S3 bucket.
type Config struct {
	Dir string
	S3  *S3Config
}

// String names the store without its credentials, for logs and banners.
func (c Config) String() string {
	if c.S3 != nil {
		scheme := "https"
		if !c.S3.TLS {
			scheme = "http"
		}
		return "s3 bucket " + c.S3.Bucket + " at " + scheme + "://" + c.S3.Endpoint
	}
	return "directory " + c.Dir
}

// New opens the store c names (an S3 bucket is checked to exist).
func New(ctx context.Context, c Config) (Store, error) {
	if c.S3 != nil {
		return NewS3(ctx, *c.S3)
	}
	return NewDir(c.Dir)
}

// s3Params are the query parameters an s3:// URL may carry; any other is
// refused, so that a misspelt one does not silently fall back to a default.
var s3Params = []string{"endpoint", "region", "tls", "credentials", "access_key_id", "secret_access_key", "session_token"}

// ParseURL reads BLOB_URL:
//
//	file:///var/lib/estatecrm/photos   a directory (file:relative/path too)
//	s3://BUCKET?endpoint=HOST:PORT&region=REGION&tls=false
//
// For s3, endpoint defaults to s3.amazonaws.com and region to us-east-1;
// tls=false is for a plain-HTTP endpoint such as a MinIO beside the server.
// The credentials are access_key_id, secret_access_key (and session_token)
// in the URL, else AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
// AWS_SESSION_TOKEN from getenv; credentials=iam takes them from the
// instance's or the task's role instead.
func ParseURL(raw string, getenv func(string) string) (Config, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Config{}, fmt.Errorf("BLOB_URL: %w", err)
	}
	switch u.Scheme {
	case "file":
		dir := u.Path
		if u.Opaque != "" {
			dir = u.Opaque
		}
		if dir == "" || (u.Host != "" && u.Host != "localhost") {
			return Config{}, fmt.Errorf("BLOB_URL %q: want file:///absolute/path or file:relative/path", raw)
		}
		return Config{Dir: dir}, nil
	case "s3":
	default:
		return Config{}, fmt.Errorf("BLOB_URL: scheme %q: want s3://bucket?endpoint=host:port or file:///path", u.Scheme)
	}
	if u.Host == "" || (u.Path != "" && u.Path != "/") || u.User != nil {
		return Config{}, fmt.Errorf("BLOB_URL: want s3://BUCKET?endpoint=host:port&region=…, the bucket alone as the host (credentials go in access_key_id and secret_access_key)")
	}
	q := u.Query()
	for name := range q {
		if !slices.Contains(s3Params, name) {
			return Config{}, fmt.Errorf("BLOB_URL: unknown parameter %q: want one of %s", name, strings.Join(s3Params, ", "))
		}
	}
	c := &S3Config{
		Bucket:          u.Host,
		Endpoint:        q.Get("endpoint"),
		Region:          q.Get("region"),
		TLS:             true,
		AccessKeyID:     q.Get("access_key_id"),
		SecretAccessKey: q.Get("secret_access_key"),
		SessionToken:    q.Get("session_token"),
	}
	if c.Endpoint == "" {
		c.Endpoint = "s3.amazonaws.com"
	}
	if strings.Contains(c.Endpoint, "/") {
		return Config{}, fmt.Errorf("BLOB_URL: endpoint %q: want host:port, without a scheme (tls=false for plain HTTP)", c.Endpoint)
	}
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	if v := q.Get("tls"); v != "" {
		if c.TLS, err = strconv.ParseBool(v); err != nil {
			return Config{}, fmt.Errorf("BLOB_URL: tls=%q: want true or false", v)
		}
	}
	switch q.Get("credentials") {
	case "iam":
		c.IAM = true
	case "":
		if c.AccessKeyID == "" && c.SecretAccessKey == "" {
			c.AccessKeyID, c.SecretAccessKey, c.SessionToken = getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"), getenv("AWS_SESSION_TOKEN")
		}
		if c.AccessKeyID == "" || c.SecretAccessKey == "" {
			return Config{}, fmt.Errorf("BLOB_URL: no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or access_key_id and secret_access_key in the URL, or credentials=iam")
		}
	default:
		return Config{}, fmt.Errorf("BLOB_URL: credentials=%q: the only value is iam (otherwise give keys)", q.Get("credentials"))
	}
	return Config{S3: c}, nil
}
