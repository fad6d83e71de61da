package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"sync/atomic"
	"time"

	"estatecrm/internal/loadgen"
	"estatecrm/money"
	"estatecrm/seed"
)

// The GraphQL of the requests, as a phone and a portal send them. The
// visits' orderBy is written as a list: written as a single object (which
// GraphQL coerces to a list) the real server ignored it on this nested edge
// and answered oldest first, which the check against the baseline caught
// (fixed since: TestNestedOrderByOfOneObject).
const (
	qListings = `query($p: ID!, $min: Money!, $max: Money!) { units(first: 20, where: {projectID: $p, status: AVAILABLE, listPriceGTE: $min, listPriceLTE: $max}, orderBy: [{field: LIST_PRICE}]) { edges { node { id number floor bedrooms grossArea listPrice project { name } } } } }`
	qPhone    = `query($d: String!) { customers(first: 10, where: {phoneLast4: $d}) { edges { node { id name phone visits(first: 5, orderBy: [{field: OCCURRED_AT, direction: DESC}]) { edges { node { kind occurredAt notes } } } } } } }`
	qGrid     = `query($p: ID!) { salesGrid(projectId: $p) { statusCounts { status count } buildings { building { name } floors { floor units { id number status bedrooms grossArea listPrice } } } } }`
	qVisit    = `mutation($c: ID!, $at: Time!) { logVisit(input: {customerId: $c, kind: PHONE_CALL, occurredAt: $at, notes: "bench"}) { visit { id } } }`
	qHold     = `mutation($u: ID!, $c: ID!) { holdUnit(input: {unitId: $u, customerId: $c}) { unit { id status } } }`
	qRelease  = `mutation($u: ID!) { releaseHold(input: {unitId: $u}) { unit { id status } } }`
	qLogin    = `mutation($l: String!, $p: String!) { login(input: {login: $l, password: $p}) { accessToken } }`
)

// agent is a demo agent logged in to the real server, with what its
// requests need, read from the scratch database.
type agent struct {
	login    string
	real     *loadgen.Client
	id       string
	project  string
	own      []string // protected customers of theirs
	suffixes []string // last four digits of phones of their customers with visits
	units    []string // available units of their project, for holds
	holds    int      // live holds they have in the demo data
}

// priceRange is a listing's filter: the middle of a project's asking prices.
type priceRange struct{ project, min, max string }

// fixtures is what the requests ask about.
type fixtures struct {
	agents  []*agent // agents[0] sends the reads compared with the baseline
	staff   priceRange
	portal  priceRange
	grid    string // the project of the sales grid (see addGridProject)
	gridLen int
}

func loadFixtures(ctx context.Context, db *sql.DB, realURL, grid string, hc *http.Client) (*fixtures, error) {
	f := &fixtures{grid: grid}
	// The demo agents (agent.…) only: the scale data's agents would change
	// who sends the writes between a demo-sized run and a scale run.
	rows, err := db.QueryContext(ctx, `SELECT u.login, u.id, min(up.project_id) FILTER (WHERE up.project_id <> $2) FROM users u JOIN user_projects up ON up.user_id = u.id
		WHERE u.role = 'AGENT' AND u.active AND u.login LIKE 'agent.%' GROUP BY u.login, u.id ORDER BY u.login = $1 DESC, u.login`, agentLogin, grid)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		a := &agent{}
		if err := rows.Scan(&a.login, &a.id, &a.project); err != nil {
			rows.Close()
			return nil, err
		}
		f.agents = append(f.agents, a)
	}
	rows.Close()
	if len(f.agents) == 0 || f.agents[0].login != agentLogin {
		return nil, fmt.Errorf("the demo agent %s is not in the seeded data", agentLogin)
	}
	for _, a := range f.agents {
		if err := column(ctx, db, &a.own, `SELECT id FROM customers WHERE owner_id = $1 AND protected_until > now() + interval '1 day' AND project_id = $2 ORDER BY id`, a.id, a.project); err != nil {
			return nil, err
		}
		if err := column(ctx, db, &a.suffixes, `SELECT DISTINCT c.phone_last4 FROM customers c WHERE c.owner_id = $1 AND EXISTS (SELECT 1 FROM visits v WHERE v.customer_id = c.id) ORDER BY 1`, a.id); err != nil {
			return nil, err
		}
		if err := column(ctx, db, &a.units, `SELECT id FROM units WHERE project_id = $1 AND status = 'AVAILABLE' ORDER BY id`, a.project); err != nil {
			return nil, err
		}
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM units WHERE held_by_id = $1 AND status = 'HELD' AND hold_expires_at > now()`, a.id).Scan(&a.holds); err != nil {
			return nil, err
		}
		if len(a.own) == 0 || len(a.suffixes) == 0 {
			return nil, fmt.Errorf("the demo agent %s owns no protected customer with visits", a.login)
		}
		a.real = &loadgen.Client{URL: realURL, HTTP: hc}
		var login struct{ Login struct{ AccessToken string } }
		if err := a.real.Do(qLogin, map[string]any{"l": a.login, "p": seed.DemoPassword}, &login); err != nil {
			return nil, fmt.Errorf("log in %s: %w", a.login, err)
		}
		a.real.Token = login.Login.AccessToken
	}
	a := f.agents[0]
	if f.staff, err = prices(ctx, db, a.project, false); err != nil {
		return nil, err
	}
	var published string
	if err := db.QueryRowContext(ctx, `SELECT p.id FROM projects p WHERE p.published
		ORDER BY (SELECT count(*) FROM units u WHERE u.project_id = p.id AND u.published AND u.status = 'AVAILABLE') DESC, p.id LIMIT 1`).Scan(&published); err != nil {
		return nil, fmt.Errorf("no published project for the portal: %w", err)
	}
	if f.portal, err = prices(ctx, db, published, true); err != nil {
		return nil, err
	}
	err = db.QueryRowContext(ctx, `SELECT count(*) FROM units WHERE project_id = $1`, f.grid).Scan(&f.gridLen)
	return f, err
}

// at returns the fixtures with the agents' clients sending to realURL.
func (f *fixtures) at(realURL string) *fixtures {
	g := *f
	g.agents = make([]*agent, len(f.agents))
	for i, a := range f.agents {
		b := *a
		c := *a.real
		c.URL = realURL
		b.real = &c
		g.agents[i] = &b
	}
	return &g
}

// prices picks the 20th to 80th percentile of a project's available asking
// prices: a filter that leaves more than one page.
func prices(ctx context.Context, db *sql.DB, project string, published bool) (priceRange, error) {
	var lo, hi sql.NullInt64
	err := db.QueryRowContext(ctx, `SELECT percentile_disc(0.2) WITHIN GROUP (ORDER BY list_price), percentile_disc(0.8) WITHIN GROUP (ORDER BY list_price)
		FROM units WHERE project_id = $1 AND status = 'AVAILABLE' AND (published OR NOT $2)`, project, published).Scan(&lo, &hi)
	if err != nil || !lo.Valid {
		return priceRange{}, fmt.Errorf("no available unit in project %s (%v)", project, err)
	}
	return priceRange{project: project, min: money.Fen(lo.Int64).String(), max: money.Fen(hi.Int64).String()}, nil
}

func column(ctx context.Context, db *sql.DB, into *[]string, query string, args ...any) error {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return err
		}
		*into = append(*into, s)
	}
	return rows.Err()
}

// request is one kind of request, sent to the real server and, where the
// baseline serves it, to the baseline, by client i.
type request struct {
	name     string
	clients  int
	real     func(i int) (json.RawMessage, error)
	baseline func(i int) (json.RawMessage, error) // nil: not served by the baseline
	results  [2]loadgen.Result                    // real, baseline
	// SQL statements per request: the real server's, of which BEGIN and
	// COMMIT, and the baseline's.
	stmts, txctl, baseStmts float64
}

// requests builds the benchmark's requests.
func requests(f *fixtures, o options, realURL, baseURL string, hc *http.Client) []*request {
	a := f.agents[0]
	portal := &loadgen.Client{URL: realURL, APIKey: seed.DemoAPIKey, HTTP: hc}
	basePortal := &loadgen.Client{APIKey: seed.DemoAPIKey, HTTP: hc}
	baseAgent := &loadgen.Client{Token: a.real.Token, HTTP: hc}
	listing := func(p priceRange) map[string]any { return map[string]any{"p": p.project, "min": p.min, "max": p.max} }
	body := func(vars map[string]any) []byte { b, _ := json.Marshal(map[string]any{"variables": vars}); return b }
	// The real server and the baseline each go through the suffixes in the
	// same order, so the first request of each (the one checked) is the same.
	var n, nReal, nBase atomic.Int64
	suffix := func(i int) map[string]any { return map[string]any{"d": a.suffixes[i%len(a.suffixes)]} }
	// The write requests spread their clients over the agents, as phones
	// are; each hold client has a unit of its own and at most MaxHolds
	// (3) clients share an agent, so that no hold waits for a free slot.
	agentOf := func(i int) *agent { return f.agents[i%len(f.agents)] }
	// Each hold client is an agent's phone with a unit of its own: agents of
	// one project see the same available units, so each client takes the
	// next unit of its agent's project; and an agent has at most MaxHolds
	// (3) live holds, the demo's included, so an agent gets only as many
	// hold clients as it has free holds.
	type slot struct {
		a    *agent
		unit string
	}
	var slots []slot
	next := map[string]int{}
	for k := range 3 {
		for _, g := range f.agents {
			if k < 3-g.holds && next[g.project] < len(g.units) {
				slots = append(slots, slot{g, g.units[next[g.project]]})
				next[g.project]++
			}
		}
	}
	holders := min(o.write, len(slots))
	return []*request{
		{name: "listings (agent)", clients: o.clients,
			real:     func(int) (json.RawMessage, error) { return a.real.Raw(qListings, listing(f.staff)) },
			baseline: func(int) (json.RawMessage, error) { return baseAgent.Post(baseURL+"/listings", body(listing(f.staff))) }},
		{name: "listings (portal)", clients: o.clients,
			real: func(int) (json.RawMessage, error) { return portal.Raw(qListings, listing(f.portal)) },
			baseline: func(int) (json.RawMessage, error) {
				return basePortal.Post(baseURL+"/listings", body(listing(f.portal)))
			}},
		{name: "customer by phone", clients: o.clients,
			real: func(int) (json.RawMessage, error) { return a.real.Raw(qPhone, suffix(int(nReal.Add(1)))) },
			baseline: func(int) (json.RawMessage, error) {
				return baseAgent.Post(baseURL+"/customers", body(suffix(int(nBase.Add(1)))))
			}},
		{name: fmt.Sprintf("sales grid (%d units)", f.gridLen), clients: o.write,
			real: func(int) (json.RawMessage, error) { return a.real.Raw(qGrid, map[string]any{"p": f.grid}) }},
		{name: "logVisit", clients: o.write,
			real: func(i int) (json.RawMessage, error) {
				g := agentOf(i)
				return g.real.Raw(qVisit, map[string]any{"c": g.own[int(n.Add(1))%len(g.own)], "at": time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)})
			}},
		{name: "holdUnit+releaseHold", clients: holders,
			real: func(i int) (json.RawMessage, error) {
				g, u := slots[i].a, slots[i].unit
				if _, err := g.real.Raw(qHold, map[string]any{"u": u, "c": g.own[i%len(g.own)]}); err != nil {
					return nil, err
				}
				return g.real.Raw(qRelease, map[string]any{"u": u})
			}},
	}
}

// check sends request 0 of r to both servers and compares the answers,
// decoded (so that number formatting does not count), order included.
func check(r *request) error {
	want, err := r.real(0)
	if err != nil {
		return fmt.Errorf("%s: the real server: %w", r.name, err)
	}
	got, err := r.baseline(0)
	if err != nil {
		return fmt.Errorf("%s: the baseline: %w", r.name, err)
	}
	var w, g any
	if err := json.Unmarshal(want, &w); err != nil {
		return err
	}
	if err := json.Unmarshal(got, &g); err != nil {
		return err
	}
	if !reflect.DeepEqual(w, g) {
		return fmt.Errorf("%s: %w\nreal:     %.600s\nbaseline: %.600s", r.name, errMismatch, want, got)
	}
	return nil
}
