package guard

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"estatecrm/apperr"
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
	resp := exec.DispatchError(ctx, gqlerror.List{gqlerror.Wrap(apperr.Input("", "%s", msg))})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(resp)
}

// GET is gqlgen's GET transport, for use in its place with Install: Limits
// refuses an operation other than a query that came through it with a coded
// error, where gqlgen answers 406 with an error that has none. Nothing runs
// either way; a GET must not change anything, nor carry a password in its URL.
type GET struct{ transport.GET }

type getKey struct{}

// Do implements graphql.Transport.
func (t GET) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	t.GET.Do(w, r.WithContext(context.WithValue(r.Context(), getKey{}, true)), exec)
}

func viaGET(ctx context.Context) bool { v, _ := ctx.Value(getKey{}).(bool); return v }
