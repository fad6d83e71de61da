// Command load drives a running estatecrm server over HTTP the way phones on
// tours do, and reports throughput and latency per request kind. It only
// talks to the URL it is given (loopback by default) and stops by itself.
//
//	go run ./server &                       # or DATABASE_URL=postgres://… go run ./server -seed
//	go run ./cmd/load -clients 50 -duration 20s [-pid $(pgrep -f estatecrm)]
//	go run ./cmd/load -only upload -clients 4 -duration 20s   # homeowners filing 9 photos of 10 MB
//	go run ./cmd/load -only loginflood -attempts 200 -clients 200 -duration 30s -pid $PID
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"estatecrm/internal/loadgen"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:8080/query", "the GraphQL endpoint")
	login := flag.String("login", "agent.hz1,agent.hz2,agent.hz3,agent.hz4,agent.sz1,agent.sz2,agent.sz3,agent.sz4", "demo agents, comma-separated: the clients are spread over them (loginflood asks { me } as the first)")
	password := flag.String("password", "demo-2026", "its password")
	clients := flag.Int("clients", 50, "concurrent clients")
	duration := flag.Duration("duration", 20*time.Second, "how long each scenario runs")
	pid := flag.Int("pid", 0, "the server's process id, to report its peak RSS")
	only := flag.String("only", "", "run one scenario: grid, phone, visit, upload or loginflood (the last two are not run by default: upload fills the photo directory, loginflood attacks)")
	owner := flag.String("owner", "owner.hz1", "a demo homeowner, for uploads")
	photos := flag.Int("photos", 9, "photos per complaint, for uploads")
	size := flag.Int64("photo-bytes", 10<<20, "bytes per photo, for uploads")
	attempts := flag.Int("attempts", 200, "bad logins in all, for loginflood (sent -clients at a time)")
	spread := flag.Bool("spread", false, "loginflood: send each bad login from its own made-up address in X-Forwarded-For (the server must trust 127.0.0.1 as a proxy)")
	meEvery := flag.Duration("me-every", 20*time.Millisecond, "loginflood: how often the logged-in user asks { me }")
	flag.Parse()
	if *only == "loginflood" {
		f := flood{url: *url, login: strings.Split(*login, ",")[0], password: *password, attempts: *attempts, clients: *clients,
			spread: *spread, meEvery: *meEvery, duration: *duration, pid: *pid}
		if err := f.run(); err != nil {
			log.Fatal(err)
		}
		return
	}
	if *only == "upload" {
		u, err := newUploader(*url, *owner, *password, *photos, *size)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%-6s %8s %8s %9s %9s %7s\n", "kind", "requests", "req/s", "p50 ms", "p99 ms", "errors")
		r := loadgen.Drive(*clients, *duration, func(int) error { return u.submit() })
		report("upload", r)
		fmt.Printf("       %.0f MB/s of photos\n", float64(len(r.Latencies))*float64(*photos)*float64(*size)/(1<<20)/r.Elapsed.Seconds())
		peakRSS(*pid)
		return
	}
	if err := run(*url, strings.Split(*login, ","), *password, *clients, *duration, *pid, *only); err != nil {
		log.Fatal(err)
	}
}

// agent is one demo agent the load logs in as, with what its requests need.
type agent struct {
	c             *loadgen.Client
	project       string
	own, suffixes []string
}

func newAgent(hc *http.Client, url, login, password string) (*agent, error) {
	c := &loadgen.Client{URL: url, HTTP: hc}
	var auth struct{ Login struct{ AccessToken string } }
	if err := c.Do(`mutation($l: String!, $p: String!) { login(input: {login: $l, password: $p}) { accessToken } }`,
		map[string]any{"l": login, "p": password}, &auth); err != nil {
		return nil, fmt.Errorf("login %s: %w", login, err)
	}
	c.Token = auth.Login.AccessToken
	var setup struct {
		Projects struct {
			Edges []struct{ Node struct{ ID string } }
		}
		Customers struct {
			Edges []struct {
				Node struct {
					ID    string
					Phone string
				}
			}
		}
		Me struct{ ID string }
	}
	if err := c.Do(`{ me { id } projects(first: 1) { edges { node { id } } } customers(first: 100, where: {protectedUntilGT: "2000-01-01T00:00:00Z"}) { edges { node { id phone } } } }`, nil, &setup); err != nil {
		return nil, fmt.Errorf("setup %s: %w", login, err)
	}
	if len(setup.Projects.Edges) == 0 || len(setup.Customers.Edges) == 0 {
		return nil, fmt.Errorf("setup: %s sees no project or no customer: is the demo data there?", login)
	}
	a := &agent{c: c, project: setup.Projects.Edges[0].Node.ID}
	for _, e := range setup.Customers.Edges {
		if !strings.Contains(e.Node.Phone, "*") { // masked: a pool customer, not the agent's own
			a.own = append(a.own, e.Node.ID)
		}
		a.suffixes = append(a.suffixes, e.Node.Phone[len(e.Node.Phone)-4:]) // a returning visitor the agent may see
	}
	if len(a.own) == 0 {
		return nil, fmt.Errorf("setup: %s owns no protected customer", login)
	}
	return a, nil
}

// run drives the scenarios, the clients spread over the agents (each user
// has a request budget of its own on the server, as each phone does).
func run(url string, logins []string, password string, clients int, duration time.Duration, pid int, only string) error {
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	var agents []*agent
	for _, l := range logins {
		a, err := newAgent(hc, url, l, password)
		if err != nil {
			return err
		}
		agents = append(agents, a)
	}
	var n atomic.Int64
	scenarios := []struct {
		name string
		run  func(a *agent) error
	}{
		{"grid", func(a *agent) error {
			return a.c.Do(`query($p: ID!) { salesGrid(projectId: $p) { statusCounts { status count } buildings { building { name } floors { floor units { id number status bedrooms grossArea listPrice } } } } }`,
				map[string]any{"p": a.project}, nil)
		}},
		{"phone", func(a *agent) error {
			return a.c.Do(`query($d: String!) { customers(first: 10, where: {phoneLast4: $d}) { edges { node { id name phone grade visits(last: 5) { edges { node { kind occurredAt notes } } } } } } }`,
				map[string]any{"d": a.suffixes[int(n.Add(1))%len(a.suffixes)]}, nil)
		}},
		{"visit", func(a *agent) error {
			i := n.Add(1)
			return a.c.Do(`mutation($c: ID!, $at: Time!) { logVisit(input: {customerId: $c, kind: PHONE_CALL, occurredAt: $at, notes: "load test"}) { visit { id } } }`,
				map[string]any{"c": a.own[int(i)%len(a.own)], "at": time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)}, nil)
		}},
	}
	fmt.Printf("%-6s %8s %8s %9s %9s %7s\n", "kind", "requests", "req/s", "p50 ms", "p99 ms", "errors")
	for _, s := range scenarios {
		if only != "" && only != s.name {
			continue
		}
		report(s.name, loadgen.Drive(clients, duration, func(i int) error { return s.run(agents[i%len(agents)]) }))
	}
	peakRSS(pid)
	return nil
}

// report prints a scenario's throughput and latency.
func report(name string, r loadgen.Result) {
	fmt.Printf("%-6s %8d %8.1f %9.1f %9.1f %7d\n", name, len(r.Latencies), r.PerSecond(), r.Pct(0.5), r.Pct(0.99), r.Errors)
	if r.First != nil {
		fmt.Printf("       first error: %v\n", r.First)
	}
}

// peakRSS prints the server's peak and current resident memory.
func peakRSS(pid int) {
	if pid == 0 {
		return
	}
	fmt.Printf("server VmHWM: %d kB\nserver VmRSS: %d kB\n", loadgen.Status(pid, "VmHWM"), loadgen.Status(pid, "VmRSS"))
}
