package api

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"estatecrm/apperr"
	"estatecrm/auth"
	"estatecrm/graph/guard"
	"estatecrm/photo"
)

// Upload limits: a complaint takes up to 9 photos of 10 MB (issue 5).
const (
	maxUploadFiles     = 9
	maxUploadFileBytes = 10 << 20
	// maxUploadBody is every file at its largest plus the operation.
	maxUploadBody = maxUploadFiles*maxUploadFileBytes + 1<<20
	// maxOperationBytes bounds the JSON parts, as MaxBodyBytes does a POST.
	maxOperationBytes = 1 << 20
	// uploadTimeout bounds an upload request, body included (the server's
	// ReadTimeout is set to match).
	uploadTimeout = 2 * time.Minute
	// uploadPrefix names the temporary files of uploads.
	uploadPrefix = "estatecrm-upload-"
)

// uploads is the transport of the GraphQL multipart request spec. Unlike
// gqlgen's, it streams each file to a temporary file as it arrives, stops a
// file at its size limit without reading the rest, answers every failure
// with a code and the field at fault, and removes its temporary files when
// the request ends: memory does not grow with the number or size of files.
type uploads struct {
	// TempDir holds the files of requests in flight; "" is os.TempDir().
	TempDir string
	// slots bounds the uploads streaming at once (disk, not memory, is what
	// they take: up to 91 MB each).
	slots  chan struct{}
	logger *slog.Logger
}

// maxConcurrentUploads is how many upload requests stream at once; more wait.
const maxConcurrentUploads = 8

func newUploads(tempDir string, logger *slog.Logger) *uploads {
	return &uploads{TempDir: tempDir, slots: make(chan struct{}, maxConcurrentUploads), logger: logger}
}

// localError is a failure of this server (its disk), not of the request.
type localError struct{ error }

func (e localError) Unwrap() error { return e.error }

var _ graphql.Transport = (*uploads)(nil)

func (uploads) Supports(r *http.Request) bool {
	mediaType, ok := guard.MediaType(r.Header.Get("Content-Type"))
	return ok && r.Method == http.MethodPost && mediaType == "multipart/form-data" && r.Header.Get("Upgrade") == ""
}

func (u *uploads) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	ctx := r.Context()
	fail := func(status int, err *apperr.Error) {
		ctx := graphql.WithOperationContext(ctx, &graphql.OperationContext{})
		guard.Respond(w, r, status, exec.DispatchError(ctx, gqlerror.List{gqlerror.Wrap(err)}))
	}
	// Only those who may file photos get to send them: nothing is read, let
	// alone written to disk, for anyone else.
	switch v := auth.FromContext(ctx); {
	case v == nil:
		fail(http.StatusUnauthorized, apperr.New(apperr.Unauthenticated, "authentication required"))
		return
	case v.Role == auth.RolePortal:
		fail(http.StatusForbidden, apperr.New(apperr.Forbidden, "uploads are for homeowners and staff"))
		return
	}
	select {
	case u.slots <- struct{}{}:
		defer func() { <-u.slots }()
	case <-ctx.Done():
		fail(http.StatusServiceUnavailable, apperr.New(apperr.Unavailable, "too many uploads at once; try again"))
		return
	}
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	params, err := u.read(r, func(f *os.File) { files = append(files, f) })
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			fail(http.StatusRequestEntityTooLarge, apperr.Input("", "the request body is larger than %d bytes", int64(maxUploadBody)))
			return
		}
		if e, ok := apperr.As(err); ok {
			fail(http.StatusBadRequest, e)
			return
		}
		var local localError
		if errors.As(err, &local) {
			u.logger.ErrorContext(ctx, "upload not kept", "err", err.Error())
			fail(http.StatusServiceUnavailable, apperr.New(apperr.Unavailable, "the upload could not be kept; try again"))
			return
		}
		fail(http.StatusBadRequest, apperr.Input("", "the multipart body is incomplete or malformed"))
		return
	}
	guard.Execute(w, r, exec, params)
}

// read parses the parts in the spec's order (operations, map, files) and
// hands each temporary file to keep, which removes them when done.
func (u *uploads) read(r *http.Request, keep func(*os.File)) (*graphql.RawParams, error) {
	r.Body = http.MaxBytesReader(nil, r.Body, maxUploadBody)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, apperr.Input("", "not a multipart body")
	}
	part, err := mr.NextPart()
	if err != nil || part.FormName() != "operations" {
		return nil, firstErr(err, apperr.Input("operations", "the first part must be operations"))
	}
	var params graphql.RawParams
	dec := json.NewDecoder(io.LimitReader(part, maxOperationBytes))
	dec.UseNumber()
	if err := dec.Decode(&params); err != nil {
		return nil, apperr.Input("operations", "operations is not a GraphQL request in JSON")
	}
	part, err = mr.NextPart()
	if err != nil || part.FormName() != "map" {
		return nil, firstErr(err, apperr.Input("map", "the second part must be map"))
	}
	paths := map[string][]string{}
	if err := json.NewDecoder(io.LimitReader(part, maxOperationBytes)).Decode(&paths); err != nil {
		return nil, apperr.Input("map", "map is not a JSON object of file paths")
	}
	// Files, and the places they go: one file may fill several variables,
	// but not more than the files allowed in all.
	targets := 0
	for _, to := range paths {
		targets += len(to)
	}
	if len(paths) > maxUploadFiles || targets > maxUploadFiles {
		return nil, apperr.Input(fieldOf(anyPath(paths), true), "at most %d files in a request", maxUploadFiles)
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		key := part.FormName()
		to := paths[key]
		if len(to) == 0 {
			return nil, apperr.Input("map", "the file part %q is not in map", key)
		}
		delete(paths, key)
		f, err := os.CreateTemp(u.TempDir, uploadPrefix+"*")
		if err != nil {
			return nil, localError{err}
		}
		keep(f)
		digest := sha256.New()
		n, err := io.Copy(io.MultiWriter(writeOnly{f}, digest), io.LimitReader(part, maxUploadFileBytes+1))
		var werr diskError
		if errors.As(err, &werr) {
			return nil, localError{err}
		}
		if err != nil {
			return nil, err
		}
		if n > maxUploadFileBytes {
			return nil, apperr.Input(fieldOf(to[0], false), "a file is at most %d MB", maxUploadFileBytes>>20)
		}
		// A photo declaring more pixels than anyone should decode is named
		// here, where its place in the variables is known; photo.Copy
		// refuses it again wherever a photo is stored.
		if w, h, ok, _ := photo.Dimensions(io.NewSectionReader(f, 0, n)); ok && w*h > photo.MaxPixels {
			return nil, apperr.Input(fieldOf(to[0], false), "%s; this one declares %d×%d", photo.ErrTooManyPixels, w, h)
		}
		for _, path := range to {
			file, err := os.Open(f.Name())
			if err != nil {
				return nil, localError{err}
			}
			keep(file)
			up := graphql.Upload{File: uploadFile{File: file, SHA256: hex.EncodeToString(digest.Sum(nil))},
				Size: n, Filename: part.FileName(), ContentType: part.Header.Get("Content-Type")}
			if err := placeUpload(params.Variables, path, up); err != nil {
				return nil, err
			}
		}
	}
	for key := range paths {
		return nil, apperr.Input("map", "the file %q in map was not sent", key)
	}
	params.Headers = r.Header
	return &params, nil
}

// placeUpload puts up where path ("variables.input.photos.0") points in
// vars. The slot must be there: an index inside its list, a key of an
// object. gqlgen's RawParams.AddUpload panics on a path that goes past the
// end of a list or through a string.
func placeUpload(vars map[string]any, path string, up graphql.Upload) error {
	parts := strings.Split(path, ".")
	if len(parts) < 2 || parts[0] != "variables" {
		return apperr.Input("map", "a file goes to a path in variables, like variables.input.photos.0, not %q", path)
	}
	missing := apperr.Input(fieldOf(path, false), "map puts a file at %s, where the variables have no empty slot (null) for it", path)
	var at any = vars
	for i, p := range parts[1:] {
		last := i == len(parts)-2
		switch node := at.(type) {
		case map[string]any:
			next, ok := node[p]
			if !ok || (last && next != nil) {
				return missing
			}
			if last {
				node[p] = up
			}
			at = next
		case []any:
			n, err := strconv.Atoi(p)
			if err != nil || n < 0 || n >= len(node) || (last && node[n] != nil) {
				return missing
			}
			if last {
				node[n] = up
			}
			at = node[n]
		default:
			return missing
		}
	}
	return nil
}

// uploadFile is an upload's temporary file with the digest of its content.
// The digest is its only exported field, so that where the variables are
// encoded (the fingerprint of an Idempotency-Key's request) two uploads
// differ by what they hold, not only by name and size.
type uploadFile struct {
	*os.File
	SHA256 string
}

// writeOnly tells, in io.Copy's error, a failed write (this server's disk)
// from a failed read (the request's body).
type writeOnly struct{ f *os.File }

type diskError struct{ error }

func (w writeOnly) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if err != nil {
		err = diskError{err}
	}
	return n, err
}

// firstErr prefers a read error (a truncated or oversized body) to the
// message about what was expected.
func firstErr(read error, expected error) error {
	if read != nil && read != io.EOF {
		return read
	}
	return expected
}

func anyPath(paths map[string][]string) string {
	for _, p := range paths {
		if len(p) > 0 {
			return p[0]
		}
	}
	return ""
}

// fieldOf names an upload's input field as errors do: "variables.input.photos.3"
// is "input.photos.3", or "input.photos" for the list.
func fieldOf(path string, list bool) string {
	f := strings.TrimPrefix(path, "variables.")
	if list {
		if i := strings.LastIndexByte(f, '.'); i > 0 {
			f = f[:i]
		}
	}
	return f
}

// SweepUploads removes the uploads in dir (or the system's temporary
// directory) that requests began before t and never cleaned up: the
// process died mid-request.
func SweepUploads(dir string, t time.Time) (int, error) {
	if dir == "" {
		dir = os.TempDir()
	}
	files, err := filepath.Glob(filepath.Join(dir, uploadPrefix+"*"))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, f := range files {
		if info, err := os.Lstat(f); err == nil && info.Mode().IsRegular() && info.ModTime().Before(t) {
			if os.Remove(f) == nil {
				n++
			}
		}
	}
	return n, nil
}
