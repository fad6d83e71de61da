package api_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"estatecrm/api"
	"estatecrm/api/apitest"
	"estatecrm/auth"
)

// handlerWith is env's API with another configuration, logging to log.
func handlerWith(t *testing.T, env *apitest.Env, cfg api.Config, log *bytes.Buffer) http.Handler {
	t.Helper()
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = 30 * time.Second
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	return api.New(cfg, api.Deps{
		Client: env.Client, DB: env.DB.SQL, Logger: slog.New(slog.NewJSONHandler(log, nil)),
		Signer: env.Signer, Sessions: auth.NewSessions(env.Client, env.Signer, time.Hour, env.Now),
		APIKeys: auth.NewAPIKeys(env.Client, env.Now), Now: env.Now, Hub: env.Hub, Photos: env.Photos,
	})
}

// With introspection off (the default on PostgreSQL) a __schema or __type
// query is refused as FORBIDDEN saying so, before anything runs, and is no
// error in the log: it used to run, fail as INTERNAL and log an ERROR.
func TestIntrospectionOffIsForbidden(t *testing.T) {
	env := apitest.New(t)
	var log bytes.Buffer
	h := handlerWith(t, env, api.Config{Introspection: false}, &log)
	token, _, err := env.Signer.Issue(apitest.Admin)
	if err != nil {
		t.Fatal(err)
	}
	post := func(query string) *apitest.Response {
		req := jsonRequest(query)
		req.Header.Set("Authorization", "Bearer "+token)
		return doWith(t, h, req)
	}
	for _, q := range []string{
		`{ __schema { types { name } } }`,
		`{ __type(name: "Unit") { fields { name } } }`,
		`query { ...F } fragment F on Query { ... on Query { __schema { queryType { name } } } }`,
	} {
		res := post(q)
		e := res.OnlyError(t)
		if e.Code() != "FORBIDDEN" || !strings.Contains(e.Message, "introspection is disabled") {
			t.Fatalf("%s: want FORBIDDEN saying introspection is disabled, got %s", q, res.Body)
		}
		if len(res.Data) > 0 && string(res.Data) != "null" {
			t.Fatalf("%s: data with a refusal: %s", q, res.Body)
		}
	}
	if strings.Contains(log.String(), `"level":"ERROR"`) {
		t.Fatalf("a refused introspection was logged as an error: %s", log.String())
	}
	// __typename is not introspection of the schema.
	if res := post(`{ __typename }`); len(res.Errors) != 0 {
		t.Fatalf("__typename refused: %s", res.Body)
	}
	// With introspection on (the embedded default), it is answered.
	var out struct {
		Schema struct{ QueryType struct{ Name string } } `json:"__schema"`
	}
	env.Query(t, `{ __schema { queryType { name } } }`, nil).Decode(t, &out)
	if out.Schema.QueryType.Name != "Query" {
		t.Fatalf("introspection on: %+v", out)
	}
}
