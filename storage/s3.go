package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"estatecrm/apperr"
)

const (
	// s3PartSize is the part of a Put of unknown length held in memory at
	// a time: S3's smallest part. A Put of known length (Sized) streams in
	// one PUT and holds none.
	s3PartSize = 5 << 20
	// s3MaxRetries bounds the tries of a request whose body can be sent
	// again (reads, deletes, lists; a Put's streamed body cannot): with
	// minio-go's back-off, about a second and a half before giving up.
	s3MaxRetries = 3
	// s3CleanupTimeout bounds a Delete and the removal of an object a failed
	// Put may have left, which run after the request's context has ended.
	s3CleanupTimeout = 10 * time.Second
	// s3CheckTimeout bounds the check of the bucket at start.
	s3CheckTimeout = 10 * time.Second
)

// S3Config says which bucket of which S3-compatible store keeps the blobs.
type S3Config struct {
	// Endpoint is host:port of the service (s3.amazonaws.com for AWS).
	Endpoint string
	// TLS is false only for a plain-HTTP endpoint (a MinIO on the same host).
	TLS    bool
	Region string
	Bucket string
	// The credentials; IAM instead takes them from the instance's or the
	// task's role (EC2, ECS, EKS).
	AccessKeyID, SecretAccessKey, SessionToken string
	IAM                                        bool
	// Transport, when set, replaces minio-go's default (tests inject faults).
	Transport http.RoundTripper
}

// S3 is a Store in a bucket of an S3-compatible object store (AWS S3, MinIO,
// Ceph, R2, …): every process of a deployment sees the same blobs without a
// shared volume. Keys are object names as they are in a directory, so a
// store can be copied from one kind to the other as it is.
type S3 struct {
	client *minio.Client
	core   minio.Core
	bucket string
	where  string // endpoint/bucket, for messages
}

var _ Store = (*S3)(nil)

// NewS3 connects to cfg's bucket and checks that it is there, so that a
// wrong BLOB_URL stops the server at start rather than failing every upload.
func NewS3(ctx context.Context, cfg S3Config) (*S3, error) {
	var creds *credentials.Credentials
	switch {
	case cfg.IAM:
		creds = credentials.NewIAM("")
	case cfg.AccessKeyID != "" && cfg.SecretAccessKey != "":
		creds = credentials.NewStaticV4(cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken)
	default:
		return nil, errors.New("storage: no credentials for S3: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or access_key_id and secret_access_key in BLOB_URL, or credentials=iam")
	}
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:      creds,
		Secure:     cfg.TLS,
		Region:     cfg.Region,
		Transport:  cfg.Transport,
		MaxRetries: s3MaxRetries,
	})
	if err != nil {
		return nil, fmt.Errorf("storage: S3 endpoint %q: %w", cfg.Endpoint, err)
	}
	s := &S3{client: client, core: minio.Core{Client: client}, bucket: cfg.Bucket, where: cfg.Endpoint + "/" + cfg.Bucket}
	ctx, cancel := context.WithTimeout(ctx, s3CheckTimeout)
	defer cancel()
	ok, err := client.BucketExists(ctx, cfg.Bucket)
	switch code := minio.ToErrorResponse(err).Code; {
	case err == nil && !ok:
		return nil, fmt.Errorf("storage: bucket %q does not exist at %s: create it (blobs are never put in a bucket made up on the fly), or fix BLOB_URL", cfg.Bucket, cfg.Endpoint)
	case code == "AccessDenied" || code == "InvalidAccessKeyId" || code == "SignatureDoesNotMatch":
		return nil, fmt.Errorf("storage: bucket %q at %s refuses these credentials (%s): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", cfg.Bucket, cfg.Endpoint, code)
	case err != nil:
		return nil, fmt.Errorf("storage: cannot reach bucket %q at %s: %w", cfg.Bucket, cfg.Endpoint, err)
	}
	return s, nil
}

// Bucket is the name of the store's bucket.
func (s *S3) Bucket() string { return s.bucket }

// errUnavailable is what a client is told when the object store cannot be
// reached or fails on its side: the request may succeed if tried again.
var (
	errPutUnavailable = apperr.New(apperr.Unavailable, "the file storage is unavailable; nothing was stored, try again")
	errUnavailable    = apperr.New(apperr.Unavailable, "the file storage is unavailable; try again")
)

// fail wraps an error of the object store. A refusal of the request itself
// (a 4xx other than a timeout or a throttle: a wrong bucket policy,
// credentials revoked) is a fault of the deployment and stays internal;
// anything else (refused or reset connections, 5xx, SlowDown) is
// UNAVAILABLE, so a client retries instead of giving up.
func (s *S3) fail(op string, err error, unavailable *apperr.Error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrLength) {
		return fmt.Errorf("storage: %s: %w", op, err)
	}
	if st := minio.ToErrorResponse(err).StatusCode; st >= 400 && st < 500 && st != http.StatusRequestTimeout && st != http.StatusTooManyRequests {
		return fmt.Errorf("storage: %s at %s: %w", op, s.where, err)
	}
	return fmt.Errorf("storage: %s at %s: %w: %w", op, s.where, err, unavailable)
}

func notFound(err error) bool {
	code := minio.ToErrorResponse(err).Code
	return code == "NoSuchKey" || code == "NotFound"
}

// Put implements Store. A Put of known length is one PUT streaming r: the
// object exists only if every byte arrived. One of unknown length is a
// multipart upload holding a part (5 MiB) in memory at a time, which the
// client aborts on failure (and KeysBefore, if the process died).
func (s *S3) Put(ctx context.Context, prefix string, r io.Reader) (key string, n int64, err error) {
	key, _, err = newKey(prefix)
	if err != nil {
		return "", 0, err
	}
	if err := ctx.Err(); err != nil {
		return "", 0, fmt.Errorf("storage: put: %w", err)
	}
	body, size := lengthOf(r)
	src := &countingReader{r: ctxReader{ctx, body}}
	var in io.Reader = src
	if size < 0 {
		// An empty body goes as one, not as a multipart upload of an
		// empty part, which S3 refuses.
		var b [1]byte
		k, err := io.ReadFull(src, b[:])
		switch {
		case k == 0 && err == io.EOF:
			size = 0
		case err != nil:
			return "", 0, fmt.Errorf("storage: put: %w", err)
		default:
			in = io.MultiReader(bytes.NewReader(b[:k]), src)
		}
	}
	opts := minio.PutObjectOptions{ContentType: "application/octet-stream"}
	switch {
	case size == 0:
		// Nothing to stream: minio-go's streaming signature of an empty
		// body sends no Content-Length, which S3 refuses.
		if err := (&exactReader{r: in, left: 0}).end(); err != io.EOF {
			return "", 0, fmt.Errorf("storage: put: %w", err)
		}
		in, opts.DisableMultipart, opts.DisableContentSha256 = http.NoBody, true, true
	case size > 0:
		in = &exactReader{r: src, left: size}
		opts.DisableMultipart = true
	default:
		opts.PartSize = s3PartSize
	}
	_, err = s.client.PutObject(ctx, s.bucket, key, in, size, opts)
	if err == nil {
		err = ctx.Err() // a cancel after the last byte still means the caller gave up
	}
	if err != nil {
		// The object may exist though the call failed (the answer was
		// lost, or the caller gave up after the last byte): remove it, as
		// Dir removes its temp file. If that fails too, a sweep takes it.
		_ = s.Delete(ctx, key)
		if src.err != nil { // the body failed, not the store
			return "", 0, fmt.Errorf("storage: put: %w", src.err)
		}
		return "", 0, s.fail("put", err, errPutUnavailable)
	}
	return key, src.n, nil
}

// countingReader counts the bytes read and keeps the first error of the
// source, which the client would otherwise report wrapped as its own.
type countingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF && c.err == nil {
		c.err = err
	}
	return n, err
}

// Open implements Store. The object is read from the one GET made here;
// a Seek elsewhere (a Range request) reads from a new ranged GET.
func (s *S3) Open(ctx context.Context, key string) (io.ReadSeekCloser, int64, error) {
	if !validKey(key) {
		return nil, 0, ErrNotFound
	}
	body, info, _, err := s.core.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if notFound(err) {
		return nil, 0, ErrNotFound
	}
	if err != nil {
		return nil, 0, s.fail("open", err, errUnavailable)
	}
	return &object{ctx: ctx, s: s, key: key, size: info.Size, body: body}, info.Size, nil
}

// object reads a blob of an S3 store for http.ServeContent, which seeks
// to the end for the size and back, then reads (a range from its start).
type object struct {
	// ctx is Open's: the reads of a blob belong to the request that opened it.
	ctx  context.Context
	s    *S3
	key  string
	size int64
	off  int64         // where the next Read reads
	body io.ReadCloser // the GET being read, at pos; nil when none
	pos  int64
}

func (o *object) Read(p []byte) (int, error) {
	if o.off >= o.size {
		return 0, io.EOF
	}
	if o.body == nil || o.pos != o.off {
		if o.body != nil {
			o.body.Close()
			o.body = nil
		}
		var opts minio.GetObjectOptions
		if err := opts.SetRange(o.off, o.size-1); err != nil {
			return 0, err
		}
		body, _, _, err := o.s.core.GetObject(o.ctx, o.s.bucket, o.key, opts)
		if err != nil {
			return 0, o.s.fail("read", err, errUnavailable)
		}
		o.body, o.pos = body, o.off
	}
	n, err := o.body.Read(p)
	o.pos += int64(n)
	o.off = o.pos
	if err == io.EOF && o.off < o.size {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (o *object) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		offset += o.off
	case io.SeekEnd:
		offset += o.size
	case io.SeekStart:
	default:
		return 0, errors.New("storage: seek: invalid whence")
	}
	if offset < 0 {
		return 0, errors.New("storage: seek: negative position")
	}
	o.off = offset
	return offset, nil
}

func (o *object) Close() error {
	if o.body == nil {
		return nil
	}
	err := o.body.Close()
	o.body = nil
	return err
}

// Delete implements Store. As Dir's, it runs even when ctx has ended: it is
// the clean-up after a rolled-back transaction.
func (s *S3) Delete(ctx context.Context, key string) error {
	if !validKey(key) {
		return ErrNotFound
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s3CleanupTimeout)
	defer cancel()
	if err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil && !notFound(err) {
		return s.fail("delete", err, errUnavailable)
	}
	return nil
}

// KeysBefore implements Store: it lists the objects with a key's shape last
// written before t, and aborts the multipart uploads (Puts of unknown
// length) begun before t and never completed, whose parts the bucket would
// otherwise keep, unseen and billed. Objects with other names are not
// listed, so a sweep never touches what another program keeps in the bucket.
func (s *S3) KeysBefore(ctx context.Context, t time.Time) ([]string, error) {
	ctx, cancel := context.WithCancel(ctx) // ends the listings on an early return
	defer cancel()
	var keys []string
	for obj := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			return nil, s.fail("keys before", obj.Err, errUnavailable)
		}
		if validKey(obj.Key) && obj.LastModified.Before(t) {
			keys = append(keys, obj.Key)
		}
	}
	for up := range s.client.ListIncompleteUploads(ctx, s.bucket, "", true) {
		if up.Err != nil {
			if minio.ToErrorResponse(up.Err).Code == "NoSuchUpload" {
				break // how some S3-compatible servers (gofakes3) say there are none
			}
			return nil, s.fail("keys before", up.Err, errUnavailable)
		}
		if validKey(up.Key) && up.Initiated.Before(t) {
			if err := s.core.AbortMultipartUpload(ctx, s.bucket, up.Key, up.UploadID); err != nil && minio.ToErrorResponse(err).Code != "NoSuchUpload" {
				return nil, s.fail("keys before", err, errUnavailable)
			}
		}
	}
	return keys, nil
}
