package guard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"estatecrm/apperr"
	"estatecrm/graph/arguments"
)

// unsupported is the last transport: it takes any request the others did not
// (a POST that is not JSON, a PUT) and answers it with a coded error through
// the error presenter, where gqlgen would answer a bare "transport not
// supported". It leaves WebSocket upgrades alone, so a WebSocket transport
// added after it still gets them.
type unsupported struct{}

var _ graphql.Transport = unsupported{}

func (unsupported) Supports(r *http.Request) bool { return r.Header.Get("Upgrade") == "" }

func (unsupported) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	status, msg := http.StatusMethodNotAllowed, "only GET and POST requests are allowed"
	if r.Method == http.MethodPost {
		status, msg = http.StatusUnsupportedMediaType, "a POST body must be application/json"
	} else {
		w.Header().Set("Allow", "GET, POST, OPTIONS")
	}
	// Extensions' response interceptors run on this answer too; some expect
	// an operation context.
	ctx := graphql.WithOperationContext(r.Context(), &graphql.OperationContext{})
	Respond(w, r, status, exec.DispatchError(ctx, gqlerror.List{gqlerror.Wrap(apperr.Input("", "%s", msg))}))
}

// The media types of GraphQL over HTTP answers.
const (
	mediaJSON            = "application/json"
	mediaGraphQLResponse = "application/graphql-response+json"
)

// The Content-Type header values of the two media types.
var (
	jsonType            = []string{mediaJSON}
	graphQLResponseType = []string{mediaGraphQLResponse}
)

// POST is the transport of GraphQL requests POSTed as JSON, in place of
// gqlgen's transport.POST, answering with the status codes of the GraphQL
// over HTTP spec (see Execute); gqlgen's answers 422 to a document that
// fails validation whatever the client accepts.
type POST struct{}

var _ graphql.Transport = POST{}

// Supports implements graphql.Transport.
func (POST) Supports(r *http.Request) bool {
	mediaType, ok := MediaType(r.Header.Get("Content-Type"))
	return ok && r.Method == http.MethodPost && mediaType == mediaJSON && r.Header.Get("Upgrade") == ""
}

// Do implements graphql.Transport.
func (POST) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	start := graphql.Now()
	body, err := readBody(r.Body)
	if err != nil {
		malformed(w, r, exec, "the request body could not be read")
		return
	}
	var params graphql.RawParams
	if err := decodeParams(body, &params); err != nil {
		msg := "json request body could not be decoded: a GraphQL request is one JSON object with a query"
		if notJSON(err) { // the decoder's own words would quote the body back
			msg = "the request body is not valid JSON"
		}
		malformed(w, r, exec, msg)
		return
	}
	params.Headers = r.Header
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}
	Execute(w, r, exec, &params)
}

// Body is a request body already read whole (api's limitBody reads it to
// bound its size): POST decodes its bytes where they are, without reading
// them into a copy.
type Body struct {
	bytes.Reader
	b []byte
}

// NewBody returns b as a request body.
func NewBody(b []byte) *Body {
	body := &Body{b: b}
	body.Reset(b)
	return body
}

// Close implements io.Closer.
func (*Body) Close() error { return nil }

// readBody returns what is left of body: a Body's bytes as they are when
// nothing was read from it yet.
func readBody(body io.Reader) ([]byte, error) {
	if b, ok := body.(*Body); ok && b.Len() == len(b.b) {
		return b.b, nil
	}
	return io.ReadAll(body)
}

// GET is gqlgen's GET transport with the answers of Execute. Limits refuses
// an operation other than a query that came through it; it is answered 405
// (GraphQL over HTTP: a GET must not run a mutation, nor carry a password
// in its URL). Use it in place of gqlgen's transport.GET.
type GET struct{}

var _ graphql.Transport = GET{}

type getKey struct{}

// Supports implements graphql.Transport.
func (GET) Supports(r *http.Request) bool {
	return r.Method == http.MethodGet && r.Header.Get("Upgrade") == ""
}

// Do implements graphql.Transport.
func (GET) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		malformed(w, r, exec, "the query string could not be decoded")
		return
	}
	params := graphql.RawParams{Query: q.Get("query"), OperationName: q.Get("operationName"), Headers: r.Header}
	params.ReadTime.Start = graphql.Now()
	for name, into := range map[string]*map[string]any{"variables": &params.Variables, "extensions": &params.Extensions} {
		if s := q.Get(name); s != "" {
			if err := decode([]byte(s), into); err != nil {
				malformed(w, r, exec, name+" could not be decoded: want a JSON object")
				return
			}
		}
	}
	params.ReadTime.End = graphql.Now()
	Execute(w, r.WithContext(context.WithValue(r.Context(), getKey{}, true)), exec, &params)
}

func viaGET(ctx context.Context) bool { v, _ := ctx.Value(getKey{}).(bool); return v }

// httpKey marks an operation that came in one HTTP request (Execute), not
// over a WebSocket.
type httpKey struct{}

func viaHTTP(ctx context.Context) bool { v, _ := ctx.Value(httpKey{}).(bool); return v }

// decode reads b, one JSON value and nothing after it but space, into v.
// The one pass over the body: api's limitBody no longer checks it with
// json.Valid first (a second pass over every request's bytes).
func decode(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if len(bytes.Trim(b[dec.InputOffset():], " \t\r\n")) > 0 { // JSON's space only
		return errTrailing
	}
	return nil
}

// errTrailing is decode's error for bytes after the JSON value.
var errTrailing = errors.New("data after the JSON value")

// notJSON reports whether decode's err says its input is not JSON at all
// (rather than JSON of another shape).
func notJSON(err error) bool {
	var syntax *json.SyntaxError
	return errors.As(err, &syntax) || errors.Is(err, errTrailing) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// Execute runs a decoded GraphQL request and answers it as the GraphQL over
// HTTP spec says:
//   - a request without a query is not a GraphQL request: 400;
//   - a document that does not parse or validate, variables that do not fit,
//     a limit exceeded: 200 for application/json (the client reads the
//     errors), 400 without "data" for application/graphql-response+json;
//   - an operation other than a query sent with GET: 405;
//   - a subscription sent with POST: 200 with an error (it needs a
//     WebSocket, which carries its events and the error that ends it);
//   - anything that runs: 200.
//
// Transports of other encodings (multipart uploads) call it once they have
// decoded their request.
func Execute(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor, params *graphql.RawParams) {
	ctx := context.WithValue(r.Context(), httpKey{}, true)
	if strings.TrimSpace(params.Query) == "" {
		malformed(w, r, exec, "a GraphQL request needs a query")
		return
	}
	// The arguments the walkers read are those the executor reads.
	ctx = arguments.WithMaps(ctx)
	rc, errs := exec.CreateOperationContext(ctx, params)
	if rc != nil && rc.Doc != nil && rc.Operation == nil && len(errs) == 1 {
		// gqlgen's words for both are "operation <name> not found", the name
		// empty when none was given.
		errs[0].Message = fmt.Sprintf("the document has no operation named %q", params.OperationName)
		if params.OperationName == "" { // gqlgen answers a document without operations itself
			errs[0].Message = fmt.Sprintf("the document has %d operations: name the one to run in operationName", len(rc.Doc.Operations))
		}
	}
	if errs != nil {
		status := http.StatusOK
		switch {
		case viaGET(ctx) && rc != nil && rc.Operation != nil && rc.Operation.Operation != ast.Query:
			status = http.StatusMethodNotAllowed
			w.Header().Set("Allow", "POST")
		case accepts(r) == mediaGraphQLResponse && errcode.GetErrorKind(errs) == errcode.KindProtocol:
			status = http.StatusBadRequest
		}
		Respond(w, r, status, exec.DispatchError(graphql.WithOperationContext(ctx, rc), errs))
		return
	}
	responses, ctx := exec.DispatchOperation(ctx, rc)
	Respond(w, r, http.StatusOK, responses(ctx))
}

// malformed answers 400 to a request that is not a GraphQL request at all.
func malformed(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor, msg string) {
	// Extensions' response interceptors run on this answer too; some expect
	// an operation context.
	ctx := graphql.WithOperationContext(r.Context(), &graphql.OperationContext{})
	Respond(w, r, http.StatusBadRequest, exec.DispatchError(ctx, gqlerror.List{gqlerror.Wrap(apperr.Input("", "%s", msg))}))
}

// Respond writes resp with status in the media type r accepts:
// application/graphql-response+json when the client asks for it (then a
// 4xx answer has no "data": the operation never ran), application/json
// otherwise.
func Respond(w http.ResponseWriter, r *http.Request, status int, resp *graphql.Response) {
	media := accepts(r)
	// Assigned, not Set: the name is canonical and the value one of two,
	// made once (Set made a slice and canonicalized the name per answer).
	// A Set or Add after this replaces or copies the slice, never writes it.
	if media == mediaGraphQLResponse {
		w.Header()["Content-Type"] = graphQLResponseType
	} else {
		w.Header()["Content-Type"] = jsonType
	}
	if media == mediaGraphQLResponse && status >= 400 && status < 500 {
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(struct {
			Errors     gqlerror.List  `json:"errors,omitempty"`
			Extensions map[string]any `json:"extensions,omitempty"`
		}{resp.Errors, resp.Extensions})
		return
	}
	parts, err := responseParts(resp)
	if err != nil {
		w.WriteHeader(status)
		return
	}
	// The length is known before the first byte: the answer goes out with
	// Content-Length, not chunked, and a client reads it into one buffer
	// of the right size (a 600-unit grid is about 100 KB).
	w.Header().Set("Content-Length", strconv.Itoa(len(parts[0])+len(parts[1])+len(parts[2])))
	w.WriteHeader(status)
	_ = writeParts(w, parts)
}

// writeResponse writes resp as encoding/json would (see responseParts).
func writeResponse(w io.Writer, resp *graphql.Response) error {
	parts, err := responseParts(resp)
	if err != nil {
		return err
	}
	return writeParts(w, parts)
}

func writeParts(w io.Writer, parts [3][]byte) error {
	for _, p := range parts {
		if _, err := w.Write(p); err != nil {
			return err
		}
	}
	return nil
}

// responseParts returns resp as encoding/json would write it, field for
// field (then a newline, as json.Encoder does), in three parts: what comes
// before the data, the data as it is, and what follows. gqlgen's
// marshallers wrote the data compact, and encoding/json would scan and copy
// it again (a json.RawMessage is re-compacted), 15% of a 300-unit grid's
// CPU. Only the small parts around it go through encoding/json.
func responseParts(resp *graphql.Response) ([3][]byte, error) {
	data := resp.Data
	if len(data) == 0 {
		data = nullJSON
	}
	if len(resp.Errors) == 0 && resp.Label == "" && len(resp.Path) == 0 && resp.HasNext == nil {
		// Most answers: data and the cost Limits reports, written here
		// (two json.Marshal calls of a struct and a map were 1.5% of a
		// phone lookup's CPU).
		if after, ok := costTail(resp.Extensions); ok {
			return [3][]byte{dataHead, data, after}, nil
		}
	}
	head, err := json.Marshal(struct {
		Errors gqlerror.List `json:"errors,omitempty"`
	}{resp.Errors})
	if err != nil {
		return [3][]byte{}, err
	}
	tail, err := json.Marshal(struct {
		Label      string         `json:"label,omitempty"`
		Path       ast.Path       `json:"path,omitempty"`
		HasNext    *bool          `json:"hasNext,omitempty"`
		Extensions map[string]any `json:"extensions,omitempty"`
	}{resp.Label, resp.Path, resp.HasNext, resp.Extensions})
	if err != nil {
		return [3][]byte{}, err
	}
	// head is {} or {"errors":[…]}, tail {} or {"label":…,…}: joined
	// around "data" as one object.
	before := make([]byte, 0, len(head)+len(`,"data":`))
	before = append(before, head[:len(head)-1]...)
	if len(head) > 2 {
		before = append(before, ',')
	}
	before = append(before, `"data":`...)
	after := make([]byte, 0, len(tail)+1)
	if len(tail) > 2 {
		after = append(after, ',')
		after = append(after, tail[1:]...)
	} else {
		after = append(after, '}')
	}
	after = append(after, '\n')
	return [3][]byte{before, data, after}, nil
}

var (
	nullJSON = []byte("null")
	dataHead = []byte(`{"data":`)
	endTail  = []byte("}\n")
)

// costTail returns what follows the data of an answer whose only extension
// is the cost (or none), as encoding/json writes it; false for any other.
func costTail(ext map[string]any) ([]byte, bool) {
	if len(ext) == 0 {
		return endTail, true
	}
	c, ok := ext["cost"].(Cost)
	if !ok || len(ext) != 1 {
		return nil, false
	}
	b := make([]byte, 0, 64)
	b = append(b, `,"extensions":{"cost":{"requested":`...)
	b = strconv.AppendInt(b, int64(c.Requested), 10)
	if c.Limit != 0 {
		b = append(b, `,"limit":`...)
		b = strconv.AppendInt(b, int64(c.Limit), 10)
	}
	return append(b, "}}}\n"...), true
}

// MediaType returns the media type of a Content-Type or Accept value, in
// lower case and without parameters, as mime.ParseMediaType does, and
// whether it parsed. The values a phone sends on every request are
// answered without parsing: ParseMediaType makes a map of the parameters,
// and a request asked it three or four times (the transports' Supports,
// the request's timeout and body limit, the answer's media type).
func MediaType(v string) (string, bool) {
	switch v {
	case mediaJSON, mediaJSON + "; charset=utf-8", mediaJSON + ";charset=utf-8":
		return mediaJSON, true
	case mediaGraphQLResponse:
		return mediaGraphQLResponse, true
	}
	mediaType, _, err := mime.ParseMediaType(v)
	return mediaType, err == nil
}

// accepts returns the media type of the answer: the first of the two the
// Accept header names, application/json when it names neither or is absent
// (the GraphQL over HTTP spec's legacy default).
func accepts(r *http.Request) string {
	for part := range strings.SplitSeq(r.Header.Get("Accept"), ",") {
		mediaType, ok := MediaType(strings.TrimSpace(part))
		if !ok {
			continue
		}
		switch mediaType {
		case mediaJSON:
			return mediaJSON
		case mediaGraphQLResponse:
			return mediaGraphQLResponse
		}
	}
	return mediaJSON
}
