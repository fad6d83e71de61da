package database

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"net/url"

	"github.com/lib/pq"
)

// postgresDSN returns the connection URL the server uses for rawURL: with
// binary_parameters=yes unless the URL says otherwise. lib/pq sends every
// statement with parameters unnamed; without the option it first parses and
// describes it (a round trip to learn the parameter types), then binds and
// executes it (a second one). With it, parse, bind and execute go in one
// round trip, the server inferring the types (GOTCHAS 17, issue 10).
func postgresDSN(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", err
	}
	q := u.Query()
	if q.Has("binary_parameters") {
		return rawURL, nil
	}
	q.Set("binary_parameters", "yes")
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// openPostgres opens a pool whose connections send JSON documents as text.
func openPostgres(dsn string) (*sql.DB, error) {
	c, err := pq.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(jsonTextConnector{c}), nil
}

// jsonTextConnector is lib/pq whose connections send json.RawMessage
// parameters as text. ent passes JSON columns as json.RawMessage; with
// binary_parameters lib/pq sends every []byte in binary format, which jsonb
// refuses ("unsupported jsonb version number 123", lib/pq#528) because its
// binary form starts with a version byte. As text, PostgreSQL parses it for
// the column's type. Other []byte (bytea) stay binary.
type jsonTextConnector struct{ *pq.Connector }

func (c jsonTextConnector) Connect(ctx context.Context) (driver.Conn, error) {
	cn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return jsonTextConn{cn}, nil
}

// jsonTextConn forwards everything to lib/pq's connection; database/sql
// finds the optional interfaces by type assertion, so each is spelled out.
type jsonTextConn struct{ driver.Conn }

var (
	_ driver.ConnBeginTx        = jsonTextConn{}
	_ driver.ConnPrepareContext = jsonTextConn{}
	_ driver.ExecerContext      = jsonTextConn{}
	_ driver.QueryerContext     = jsonTextConn{}
	_ driver.NamedValueChecker  = jsonTextConn{}
	_ driver.Pinger             = jsonTextConn{}
	_ driver.SessionResetter    = jsonTextConn{}
	_ driver.Validator          = jsonTextConn{}
)

// CheckNamedValue turns JSON documents into strings, then lets lib/pq convert.
func (c jsonTextConn) CheckNamedValue(nv *driver.NamedValue) error {
	if raw, ok := nv.Value.(json.RawMessage); ok {
		if raw == nil {
			nv.Value = nil
		} else {
			nv.Value = string(raw)
		}
	}
	if ch, ok := c.Conn.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

func (c jsonTextConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if b, ok := c.Conn.(driver.ConnBeginTx); ok {
		return b.BeginTx(ctx, opts)
	}
	return nil, errors.New("postgres driver: BeginTx unsupported")
}

func (c jsonTextConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if p, ok := c.Conn.(driver.ConnPrepareContext); ok {
		return p.PrepareContext(ctx, query)
	}
	return c.Conn.Prepare(query)
}

func (c jsonTextConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if e, ok := c.Conn.(driver.ExecerContext); ok {
		return e.ExecContext(ctx, query, args)
	}
	return nil, driver.ErrSkip
}

func (c jsonTextConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if q, ok := c.Conn.(driver.QueryerContext); ok {
		return q.QueryContext(ctx, query, args)
	}
	return nil, driver.ErrSkip
}

func (c jsonTextConn) Ping(ctx context.Context) error {
	if p, ok := c.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c jsonTextConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c jsonTextConn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}
