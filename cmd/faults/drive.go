package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// client is a phone's connection to the deployment: it sends to one server
// and, when that one does not answer or answers 5xx, to the next for the
// following attempt, as a load balancer in front of the processes would.
type client struct {
	urls  []string
	cur   int
	token string
	http  *http.Client
}

func newClient(urls []string, first int) *client {
	return &client{urls: urls, cur: first, http: &http.Client{Timeout: 10 * time.Second}}
}

// do sends one request; it returns the error's code ("NETWORK" when there
// was no answer) and the error, or the data.
func (c *client) do(query string, vars map[string]any, key string) (json.RawMessage, string, error) {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, c.urls[c.cur%len(c.urls)], bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.cur++
		return nil, "NETWORK", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.cur++
		return nil, "NETWORK", err
	}
	if res.StatusCode >= 500 {
		c.cur++
	}
	var out struct {
		Data   json.RawMessage
		Errors []struct {
			Message    string
			Extensions struct{ Code, Reason string }
		}
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Sprintf("HTTP_%d", res.StatusCode), fmt.Errorf("%d: %.200s", res.StatusCode, b)
	}
	if len(out.Errors) > 0 {
		e := out.Errors[0]
		code := e.Extensions.Code
		if code == "" {
			code = "NO_CODE"
		}
		return nil, code, fmt.Errorf("%s %s: %s", code, e.Extensions.Reason, e.Message)
	}
	return out.Data, "", nil
}

func (c *client) post(query string, vars map[string]any, out any) error {
	data, _, err := c.do(query, vars, "")
	if err != nil {
		return err
	}
	return json.Unmarshal(data, out)
}

// signIn logs in through the deployment.
func signIn(urls []string, first int, login, password string) (*client, error) {
	c := newClient(urls, first)
	var auth struct{ Login struct{ AccessToken string } }
	if err := c.post(`mutation($l: String!, $p: String!) { login(input: {login: $l, password: $p}) { accessToken } }`,
		map[string]any{"l": login, "p": password}, &auth); err != nil {
		return nil, fmt.Errorf("login of %s: %w", login, err)
	}
	if auth.Login.AccessToken == "" {
		return nil, fmt.Errorf("login of %s failed", login)
	}
	c.token = auth.Login.AccessToken
	return c, nil
}

// customer is one of an agent's own customers.
type customer struct {
	ID, Phone string
	ProjectID string `json:"projectID"`
}

// ownCustomers are the customers the agent sees in full (its own).
func (c *client) ownCustomers() ([]customer, error) {
	var mine struct {
		Customers struct{ Edges []struct{ Node customer } }
	}
	if err := c.post(`{ customers(first: 100, where: {protectedUntilGT: "2000-01-01T00:00:00Z"}) { edges { node { id phone projectID } } } }`, nil, &mine); err != nil {
		return nil, err
	}
	var out []customer
	for _, e := range mine.Customers.Edges {
		if !strings.Contains(e.Node.Phone, "*") { // masked: not the agent's own
			out = append(out, e.Node)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("the agent owns no customer: is the demo data there?")
	}
	return out, nil
}

// op is one mutation to have done: sent with its Idempotency-Key, again and
// again, until the server acknowledges it.
type op struct {
	kind       string // "visit", "hold", "release"
	key, notes string
	unit       string
	query      string
	vars       map[string]any
	first      time.Time // first attempt
	sent       time.Time // the attempt that was acknowledged
	acked      time.Time // zero: never acknowledged
	refused    string    // a permanent error, if the server refused it
	retried    bool      // an attempt before the last got no answer or an error
}

// tally is what a phase's clients saw.
type tally struct {
	mu    sync.Mutex
	ops   []*op
	codes map[string]int // answers other than success, by code
}

func (t *tally) add(o *op) {
	t.mu.Lock()
	t.ops = append(t.ops, o)
	t.mu.Unlock()
}

func (t *tally) saw(code string) {
	t.mu.Lock()
	t.codes[code]++
	t.mu.Unlock()
}

// deadline is when clients stop retrying, once set.
type deadline struct {
	mu sync.Mutex
	at time.Time
}

func (d *deadline) set(t time.Time) { d.mu.Lock(); d.at = t; d.mu.Unlock() }
func (d *deadline) passed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return !d.at.IsZero() && time.Now().After(d.at)
}

// send has o done: it retries o with its key until acknowledged, refused
// for good, or giveUp passes (o is then stuck); it reports whether the
// client should go on.
func (c *client) send(o *op, t *tally, giveUp *deadline) bool {
	t.add(o)
	o.first = time.Now()
	for {
		sent := time.Now()
		_, code, err := c.do(o.query, o.vars, o.key)
		if err == nil {
			o.sent, o.acked = sent, time.Now()
			return true
		}
		t.saw(code)
		if permanent(code, err) {
			o.refused = err.Error()
			return true
		}
		o.retried = true
		if giveUp.passed() {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// permanent reports whether a retry of the same request cannot succeed.
func permanent(code string, err error) bool {
	switch code {
	case "BAD_USER_INPUT", "FORBIDDEN", "NOT_FOUND", "UNAUTHENTICATED", "CONFLICT":
		return true
	}
	return false
}

const logVisit = `mutation($c: ID!, $at: Time!, $n: String) { logVisit(input: {customerId: $c, kind: PHONE_CALL, occurredAt: $at, notes: $n}) { visit { id } } }`

// logVisits logs visits one after another until stop is closed.
func (c *client) logVisits(phase string, worker int, customers []customer, t *tally, stop <-chan struct{}, giveUp *deadline) {
	for seq := 0; ; seq++ {
		select {
		case <-stop:
			return
		default:
		}
		o := &op{kind: "visit", key: fmt.Sprintf("faults-%s-v%d-%d", phase, worker, seq), notes: fmt.Sprintf("faults %s %d %d", phase, worker, seq), query: logVisit}
		o.vars = map[string]any{
			"c":  customers[(worker*7919+seq)%len(customers)].ID,
			"at": time.Now().UTC().Add(-time.Minute).Format(time.RFC3339),
			"n":  o.notes,
		}
		if !c.send(o, t, giveUp) {
			return
		}
	}
}

const (
	holdUnit    = `mutation($u: ID!, $c: ID!) { holdUnit(input: {unitId: $u, customerId: $c}) { unit { id status } } }`
	releaseHold = `mutation($u: ID!) { releaseHold(input: {unitId: $u}) { unit { id status } } }`
	unitStatus  = `query($u: ID!) { node(id: $u) { ... on Unit { status } } }`
)

// holder holds a unit of its own for a customer and releases it, again
// and again: each acknowledged operation is one change of the unit's status.
type holder struct {
	*client
	unit, customer string
	held           bool // what the last acknowledged operation left
}

func (h *holder) run(phase string, worker int, t *tally, stop <-chan struct{}, giveUp *deadline) {
	for seq := 0; ; seq++ {
		select {
		case <-stop:
			return
		default:
		}
		o := &op{key: fmt.Sprintf("faults-%s-h%d-%d", phase, worker, seq), unit: h.unit}
		if h.held {
			o.kind, o.query, o.vars = "release", releaseHold, map[string]any{"u": h.unit}
		} else {
			o.kind, o.query, o.vars = "hold", holdUnit, map[string]any{"u": h.unit, "c": h.customer}
		}
		if !h.send(o, t, giveUp) {
			return
		}
		if o.refused == "" {
			h.held = o.kind == "hold"
			continue
		}
		// Refused: the unit is not as this client thinks (which a
		// duplicate would cause); read it and go on from there.
		if err := h.sync(); err != nil {
			return
		}
	}
}

// sync reads the unit's status.
func (h *holder) sync() error {
	var out struct{ Node struct{ Status string } }
	for range 50 {
		if err := h.post(unitStatus, map[string]any{"u": h.unit}, &out); err == nil {
			h.held = out.Node.Status == "HELD"
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("cannot read the unit")
}

// availableUnits are published, available units of the agent's project p.
func (c *client) availableUnits(p string, n int) ([]string, error) {
	var out struct {
		Units struct {
			Edges []struct {
				Node struct {
					ID      string
					Project struct {
						ID        string
						Published bool
					}
				}
			}
		}
	}
	if err := c.post(`query($n: Int!) { units(first: $n, where: {status: AVAILABLE, published: true}) { edges { node { id project { id published } } } } }`,
		map[string]any{"n": 100}, &out); err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range out.Units.Edges {
		if e.Node.Project.ID == p && e.Node.Project.Published && len(ids) < n {
			ids = append(ids, e.Node.ID)
		}
	}
	if len(ids) < n {
		return nil, fmt.Errorf("%d available published units in the project, want %d", len(ids), n)
	}
	return ids, nil
}
