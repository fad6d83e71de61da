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

// agent is a phone on a tour: it logs visits one after another and retries
// each with its Idempotency-Key until the server acknowledges it.
type agent struct {
	url, token string
	customers  []string
	http       *http.Client
}

// op is one visit to log.
type op struct {
	key, notes string
	vars       map[string]any
	first      time.Time // first attempt
	acked      time.Time // zero: never acknowledged
	refused    string    // a permanent error, if the server refused it
}

// tally is what a phase's agents saw.
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

// logVisits logs visits until stop is closed, then finishes the visit in
// hand, retrying it until giveUp.
func (a *agent) logVisits(phase string, worker int, t *tally, stop <-chan struct{}, giveUp *time.Time, mu *sync.Mutex) {
	for seq := 0; ; seq++ {
		select {
		case <-stop:
			return
		default:
		}
		o := &op{
			key:   fmt.Sprintf("faults-%s-%d-%d", phase, worker, seq),
			notes: fmt.Sprintf("faults %s %d %d", phase, worker, seq),
			first: time.Now(),
		}
		o.vars = map[string]any{
			"c":  a.customers[(worker*7919+seq)%len(a.customers)],
			"at": time.Now().UTC().Add(-time.Minute).Format(time.RFC3339),
			"n":  o.notes,
		}
		t.add(o)
		for {
			code, err := a.logVisit(o)
			if err == nil {
				o.acked = time.Now()
				break
			}
			t.saw(code)
			if permanent(code, err) {
				o.refused = err.Error()
				break
			}
			mu.Lock()
			late := !giveUp.IsZero() && time.Now().After(*giveUp)
			mu.Unlock()
			if late {
				return // stuck: counted as such
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// permanent reports whether a retry of the same request cannot succeed.
func permanent(code string, err error) bool {
	switch code {
	case "BAD_USER_INPUT", "FORBIDDEN", "NOT_FOUND", "UNAUTHENTICATED":
		return true
	case "CONFLICT":
		return strings.Contains(err.Error(), "IDEMPOTENCY_KEY_REUSED")
	}
	return false
}

const logVisit = `mutation($c: ID!, $at: Time!, $n: String) { logVisit(input: {customerId: $c, kind: PHONE_CALL, occurredAt: $at, notes: $n}) { visit { id } } }`

// logVisit sends o once; it returns the error's code ("NETWORK" when there
// was no answer) and the error.
func (a *agent) logVisit(o *op) (string, error) {
	body, _ := json.Marshal(map[string]any{"query": logVisit, "variables": o.vars})
	req, _ := http.NewRequest(http.MethodPost, a.url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("Idempotency-Key", o.key)
	res, err := a.http.Do(req)
	if err != nil {
		return "NETWORK", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return "NETWORK", err
	}
	var out struct {
		Data struct {
			LogVisit *struct{ Visit struct{ ID string } }
		}
		Errors []struct {
			Message    string
			Extensions struct{ Code, Reason string }
		}
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return fmt.Sprintf("HTTP_%d", res.StatusCode), fmt.Errorf("%d: %s", res.StatusCode, b)
	}
	if len(out.Errors) > 0 {
		e := out.Errors[0]
		code := e.Extensions.Code
		if code == "" {
			code = "NO_CODE"
		}
		return code, fmt.Errorf("%s %s: %s", code, e.Extensions.Reason, e.Message)
	}
	if out.Data.LogVisit == nil || out.Data.LogVisit.Visit.ID == "" {
		return "EMPTY", errors.New("no visit in the answer")
	}
	return "", nil
}

// signIn logs in and finds the agent's own customers.
func signIn(url, login, password string) (*agent, error) {
	a := &agent{url: url, http: &http.Client{Timeout: 30 * time.Second}}
	var auth struct {
		Data struct{ Login struct{ AccessToken string } }
	}
	if err := a.post(`mutation($l: String!, $p: String!) { login(input: {login: $l, password: $p}) { accessToken } }`,
		map[string]any{"l": login, "p": password}, &auth); err != nil {
		return nil, err
	}
	if auth.Data.Login.AccessToken == "" {
		return nil, fmt.Errorf("login of %s failed", login)
	}
	a.token = auth.Data.Login.AccessToken
	var mine struct {
		Data struct {
			Customers struct {
				Edges []struct{ Node struct{ ID, Phone string } }
			}
		}
	}
	if err := a.post(`{ customers(first: 100, where: {protectedUntilGT: "2000-01-01T00:00:00Z"}) { edges { node { id phone } } } }`, nil, &mine); err != nil {
		return nil, err
	}
	for _, e := range mine.Data.Customers.Edges {
		if !strings.Contains(e.Node.Phone, "*") { // masked: not the agent's own
			a.customers = append(a.customers, e.Node.ID)
		}
	}
	if len(a.customers) == 0 {
		return nil, fmt.Errorf("%s owns no customer: is the demo data there?", login)
	}
	return a, nil
}

func (a *agent) post(query string, vars map[string]any, out any) error {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, a.url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	res, err := a.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	return json.NewDecoder(res.Body).Decode(out)
}
