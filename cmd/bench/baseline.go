package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/lib/pq"

	"estatecrm/auth"
	"estatecrm/money"
	"estatecrm/phone"
)

// baseline is the hand-written server the real one is measured against:
// net/http, database/sql and lib/pq, the same HS256 token check with the
// same secret (an API key for a portal), one prepared statement per
// request, no cache, and the same JSON as the GraphQL answers. It serves
// what an agent's phone and a listing portal ask most, with the same
// visibility rules for those viewers (SPEC §3.4): an agent sees their
// projects' units, and customers who are theirs, in their projects' public
// pool (phone masked) or homeowners of complaints they work; of a customer
// they see their own visits and all the visits of their own customers; a
// portal sees the published units of published projects.
type baseline struct {
	signer *auth.Signer
	db     *sql.DB
	// The statements, prepared once: database/sql keeps them prepared on
	// each connection it uses them on.
	units, portalUnits, customers *sql.Stmt
	srv                           *http.Server
	url                           string
}

// The statements of the baseline.
const (
	baseUnits = `SELECT u.id, u.number, u.floor, u.bedrooms, u.gross_area, u.list_price, p.name
FROM units u JOIN projects p ON p.id = u.project_id
WHERE u.project_id = $1 AND u.project_id = ANY($2) AND u.status = 'AVAILABLE' AND u.list_price >= $3 AND u.list_price <= $4
ORDER BY u.list_price, u.id LIMIT 20`
	// The key is checked in the same statement: a row only when it is good.
	basePortalUnits = `SELECT u.id, u.number, u.floor, u.bedrooms, u.gross_area, u.list_price, u.name
FROM (SELECT 1 FROM api_keys WHERE key_prefix = $1 AND secret_hash = $2 AND active) k
LEFT JOIN LATERAL (
  SELECT u.id, u.number, u.floor, u.bedrooms, u.gross_area, u.list_price, p.name
  FROM units u JOIN projects p ON p.id = u.project_id
  WHERE u.project_id = $3 AND u.published AND p.published AND u.status = 'AVAILABLE' AND u.list_price >= $4 AND u.list_price <= $5
  ORDER BY u.list_price, u.id LIMIT 20) u ON true
ORDER BY u.list_price, u.id`
	baseCustomers = `SELECT c.id, c.name, c.phone, c.owner_id IS NOT DISTINCT FROM $2 AS own, v.kind, v.occurred_at, v.notes
FROM (
  SELECT c.id, c.name, c.phone, c.owner_id FROM customers c
  WHERE c.phone_last4 = $1 AND (c.owner_id = $2
    OR (c.project_id = ANY($3) AND (c.protected_until IS NULL OR c.protected_until <= now()))
    OR EXISTS (SELECT 1 FROM complaints k WHERE k.customer_id = c.id AND (k.assignee_id = $2 OR k.filed_by_id = $2)))
  ORDER BY c.id LIMIT 10) c
LEFT JOIN LATERAL (
  SELECT v.id, v.kind, v.occurred_at, v.notes FROM visits v
  WHERE v.customer_id = c.id AND (v.agent_id = $2 OR c.owner_id = $2)
  ORDER BY v.occurred_at DESC, v.id DESC LIMIT 5) v ON true
ORDER BY c.id, v.occurred_at DESC, v.id DESC`
)

// startBaseline opens its own pool of conns connections to dbURL, prepares
// its statements and serves on a free loopback port.
func startBaseline(ctx context.Context, dbURL string, secret []byte, conns int) (*baseline, error) {
	signer, err := auth.NewSigner(secret, 15*time.Minute, nil)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("postgres", dbURL)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	b := &baseline{signer: signer, db: db}
	for _, p := range []struct {
		stmt **sql.Stmt
		sql  string
	}{{&b.units, baseUnits}, {&b.portalUnits, basePortalUnits}, {&b.customers, baseCustomers}} {
		if *p.stmt, err = db.PrepareContext(ctx, p.sql); err != nil {
			db.Close()
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		db.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /listings", b.listings("units"))
	mux.HandleFunc("POST /feed", b.listings("listings"))
	mux.HandleFunc("POST /customers", b.customersByPhone)
	b.srv = &http.Server{Handler: http.MaxBytesHandler(mux, 1<<20), ReadHeaderTimeout: 10 * time.Second}
	b.url = "http://" + ln.Addr().String()
	go func() { _ = b.srv.Serve(ln) }()
	return b, nil
}

func (b *baseline) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = b.srv.Shutdown(ctx)
	b.db.Close()
}

// viewer checks the bearer token as the real server does (auth.Signer).
func (b *baseline) viewer(w http.ResponseWriter, r *http.Request) *auth.Viewer {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		fail(w, http.StatusUnauthorized, "UNAUTHENTICATED", "authentication required")
		return nil
	}
	v, err := b.signer.Parse(strings.TrimSpace(token))
	if err != nil {
		fail(w, http.StatusUnauthorized, "UNAUTHENTICATED", auth.ErrInvalidToken.Error())
		return nil
	}
	if v.Role != auth.RoleAgent {
		fail(w, http.StatusForbidden, "FORBIDDEN", "the baseline serves agents only")
		return nil
	}
	return v
}

type unitNode struct {
	ID        string  `json:"id"`
	Number    string  `json:"number"`
	Floor     int     `json:"floor"`
	Bedrooms  int     `json:"bedrooms"`
	GrossArea float64 `json:"grossArea"`
	ListPrice string  `json:"listPrice"`
	Project   struct {
		Name string `json:"name"`
	} `json:"project"`
}

type edge[T any] struct {
	Node T `json:"node"`
}

type connection[T any] struct {
	Edges []edge[T] `json:"edges"`
}

// listings answers like
// units(first: 20, where: {projectID, status: AVAILABLE, listPriceGTE, listPriceLTE}, orderBy: LIST_PRICE)
// { edges { node { id number floor bedrooms grossArea listPrice project { name } } } }
// under the name field: "units", or "listings" for the portals' feed
// (listings(where: {projectIds, standardStatus: ACTIVE, priceMin, priceMax}), the same rows).
func (b *baseline) listings(field string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { b.listingsAs(field, w, r) }
}

func (b *baseline) listingsAs(field string, w http.ResponseWriter, r *http.Request) {
	var body struct {
		Variables struct {
			P        string
			Min, Max string
		}
	}
	portalKey := r.Header.Get("X-API-Key")
	var v *auth.Viewer
	if portalKey == "" {
		if v = b.viewer(w, r); v == nil {
			return
		}
	}
	if json.NewDecoder(r.Body).Decode(&body) != nil {
		fail(w, http.StatusBadRequest, "BAD_USER_INPUT", "bad body")
		return
	}
	lo, err1 := money.Parse(body.Variables.Min)
	hi, err2 := money.Parse(body.Variables.Max)
	if err1 != nil || err2 != nil {
		fail(w, http.StatusBadRequest, "BAD_USER_INPUT", "bad price")
		return
	}
	var rows *sql.Rows
	var err error
	if portalKey != "" {
		prefix, ok := auth.APIKeyPrefix(portalKey)
		if !ok {
			fail(w, http.StatusUnauthorized, "UNAUTHENTICATED", "invalid API key")
			return
		}
		rows, err = b.portalUnits.QueryContext(r.Context(), prefix, auth.HashAPIKey(portalKey), body.Variables.P, int64(lo), int64(hi))
	} else {
		rows, err = b.units.QueryContext(r.Context(), body.Variables.P, pq.Array(ids(v)), int64(lo), int64(hi))
	}
	if err != nil {
		fail(w, http.StatusInternalServerError, "INTERNAL", "internal error")
		return
	}
	defer rows.Close()
	out := connection[unitNode]{Edges: []edge[unitNode]{}}
	keyOK := portalKey == ""
	for rows.Next() {
		keyOK = true
		var n unitNode
		var id, number, name sql.NullString
		var floor, bedrooms, price sql.NullInt64
		var area sql.NullFloat64
		if err := rows.Scan(&id, &number, &floor, &bedrooms, &area, &price, &name); err != nil {
			fail(w, http.StatusInternalServerError, "INTERNAL", "internal error")
			return
		}
		if !id.Valid { // a good key and no unit
			continue
		}
		n.ID, n.Number, n.Floor, n.Bedrooms, n.GrossArea = id.String, number.String, int(floor.Int64), int(bedrooms.Int64), area.Float64
		n.ListPrice, n.Project.Name = money.Fen(price.Int64).String(), name.String
		out.Edges = append(out.Edges, edge[unitNode]{n})
	}
	if rows.Err() != nil {
		fail(w, http.StatusInternalServerError, "INTERNAL", "internal error")
		return
	}
	if !keyOK {
		fail(w, http.StatusUnauthorized, "UNAUTHENTICATED", "invalid API key")
		return
	}
	answer(w, map[string]any{field: out})
}

type visitNode struct {
	Kind       string  `json:"kind"`
	OccurredAt string  `json:"occurredAt"`
	Notes      *string `json:"notes"`
}

type customerNode struct {
	ID     string                `json:"id"`
	Name   string                `json:"name"`
	Phone  string                `json:"phone"`
	Visits connection[visitNode] `json:"visits"`
}

// customersByPhone answers like
// customers(first: 10, where: {phoneLast4}) { edges { node { id name phone
// visits(first: 5, orderBy: [{field: OCCURRED_AT, direction: DESC}]) { edges { node { kind occurredAt notes } } } } } }.
func (b *baseline) customersByPhone(w http.ResponseWriter, r *http.Request) {
	v := b.viewer(w, r)
	if v == nil {
		return
	}
	var body struct{ Variables struct{ D string } }
	if json.NewDecoder(r.Body).Decode(&body) != nil {
		fail(w, http.StatusBadRequest, "BAD_USER_INPUT", "bad body")
		return
	}
	rows, err := b.customers.QueryContext(r.Context(), body.Variables.D, string(v.UserID), pq.Array(ids(v)))
	if err != nil {
		fail(w, http.StatusInternalServerError, "INTERNAL", "internal error")
		return
	}
	defer rows.Close()
	out := connection[customerNode]{Edges: []edge[customerNode]{}}
	for rows.Next() {
		var id, name, ph string
		var own bool
		var kind, notes sql.NullString
		var at sql.NullTime
		if err := rows.Scan(&id, &name, &ph, &own, &kind, &at, &notes); err != nil {
			fail(w, http.StatusInternalServerError, "INTERNAL", "internal error")
			return
		}
		if n := len(out.Edges); n == 0 || out.Edges[n-1].Node.ID != id {
			if !own {
				ph = phone.Mask(ph)
			}
			out.Edges = append(out.Edges, edge[customerNode]{customerNode{ID: id, Name: name, Phone: ph,
				Visits: connection[visitNode]{Edges: []edge[visitNode]{}}}})
		}
		if kind.Valid {
			c := &out.Edges[len(out.Edges)-1].Node
			var n *string
			if notes.Valid {
				n = &notes.String
			}
			c.Visits.Edges = append(c.Visits.Edges, edge[visitNode]{visitNode{Kind: kind.String, OccurredAt: at.Time.UTC().Format(time.RFC3339Nano), Notes: n}})
		}
	}
	if rows.Err() != nil {
		fail(w, http.StatusInternalServerError, "INTERNAL", "internal error")
		return
	}
	answer(w, map[string]any{"customers": out})
}

func ids(v *auth.Viewer) []string {
	s := make([]string, len(v.ProjectIDs))
	for i, p := range v.ProjectIDs {
		s[i] = string(p)
	}
	return s
}

func answer(w http.ResponseWriter, data any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"data": data})
}

func fail(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []any{map[string]any{"message": msg, "extensions": map[string]string{"code": code}}}})
}

var errMismatch = errors.New("the baseline's answer differs from the real server's")
