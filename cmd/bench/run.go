package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"estatecrm/database"
	"estatecrm/internal/loadgen"
)

// agentLogin is the demo agent whose phone sends the requests.
const agentLogin = "agent.hz1"

func run(ctx context.Context, o options) (err error) {
	var db *scratch
	if o.db != "" {
		db, err = keptScratch(ctx, o.pgURL, o.db)
	} else {
		db, err = newScratch(ctx, o.pgURL)
	}
	if err != nil {
		return err
	}
	fmt.Printf("scratch database %s\n", db.name)
	defer func() {
		if o.db != "" {
			db.admin.Close()
			return
		}
		if o.keep {
			fmt.Printf("kept the scratch database %s\n", db.name)
			return
		}
		if derr := db.drop(); derr != nil && err == nil {
			err = fmt.Errorf("drop the scratch database %s: %w", db.name, derr)
		}
	}()
	dir, err := os.MkdirTemp("", "estatecrm-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	bin, err := serverBinary(ctx, dir)
	if err != nil {
		return err
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	secret := hex.EncodeToString(key)
	env := serverEnv(db.url, secret, dir)
	start := time.Now()
	if err := runOnce(ctx, bin, env, "migrate"); err != nil {
		return err
	}
	data, err := sql.Open("postgres", db.url)
	if err != nil {
		return err
	}
	defer data.Close()
	var grid string
	var staff *benchStaff
	if o.db != "" {
		if grid, staff, err = findBench(ctx, data, o.write); err != nil {
			return err
		}
		fmt.Printf("migrated the kept database in %.1f s; not seeded nor loaded again: its grid project and %d bench agents are the kept run's\n",
			time.Since(start).Seconds(), len(staff.agents))
	} else if grid, staff, err = fill(ctx, o, bin, env, db.url, data, start); err != nil {
		return err
	}

	// The server runs with the Dockerfile's garbage-collector settings, so
	// that its peak RSS is what production sees.
	gc, err := dockerfileGC()
	if err != nil {
		return err
	}
	env = append(env, gc...)
	timedEnv := env
	var pprofURL string
	if o.cpuprofile != "" {
		// Profiles come from the real server's own pprof endpoint, on an
		// internal listener (PPROF, server/metrics.go).
		maddr, err := freeAddr()
		if err != nil {
			return err
		}
		timedEnv = append(append([]string{}, env...), "METRICS_ADDR="+maddr, "PPROF=true")
		pprofURL = "http://" + maddr + "/debug/pprof/profile"
	}
	srv, err := startServer(ctx, bin, timedEnv)
	if err != nil {
		return err
	}
	defer srv.stop()
	started := loadgen.Status(srv.pid(), "VmHWM")
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: max(o.clients, o.write) + 4,
		// A 100 KB grid in a few reads, not 25 of the 4 KB default.
		ReadBufferSize: 64 << 10}}
	f, err := loadFixtures(ctx, data, srv.url, grid, staff, hc)
	if err != nil {
		return err
	}
	if f.portals, err = portalKeys(ctx, db.url, o.clients); err != nil {
		return err
	}
	fmt.Printf("real server pid %d at %s, started as the Dockerfile runs it: %s; %s and %d bench agents logged in (peak RSS %.1f MiB at start, %.1f MiB after the logins: each checks an argon2id hash)\n",
		srv.pid(), srv.url, strings.Join(gc, " "), agentLogin, len(f.floor), float64(started)/1024, float64(loadgen.Status(srv.pid(), "VmHWM"))/1024)
	// The baseline gets as many connections as the real server's pool
	// (DB_MAX_CONNS, database.DefaultMaxConns by default).
	conns := database.DefaultMaxConns()
	if n, err := strconv.Atoi(os.Getenv("DB_MAX_CONNS")); err == nil && n > 0 {
		conns = n
	}
	base, err := startBaseline(ctx, db.url, []byte(secret), conns)
	if err != nil {
		return err
	}
	defer base.close()
	reqs := selected(o, requests(f, o, srv.url, base.url, hc))
	if len(reqs) == 0 {
		return fmt.Errorf("no request matches -only %s", o.only)
	}
	for _, r := range reqs {
		if r.baseline != nil {
			if err := check(r); err != nil {
				return err
			}
		}
	}
	fmt.Println("the baseline answers the first request of each kind exactly as the real server does")

	if err := countStatements(ctx, o, f, bin, env, db.url, []byte(secret), hc, reqs); err != nil {
		return err
	}
	analyze, err := statistics(ctx, data)
	if err != nil {
		return err
	}
	before := loadavg()
	drive(o, reqs, srv.pid(), analyze)
	report(o, reqs, srv.pid(), gc)
	fmt.Printf("load average of the machine before and after the rounds: %s, %s (other work on the machine skews the absolute figures; the ratios less)\n", before, loadavg())
	if o.cpuprofile != "" {
		// After the timed rounds, so that profiling never skews them.
		if err := profile(ctx, o, reqs, pprofURL); err != nil {
			return err
		}
	}
	// A request that failed or never succeeded makes the figures
	// meaningless (and is what CI's short run is there to catch).
	for _, r := range reqs {
		for s, res := range r.results {
			if (s == 0 || r.baseline != nil) && (res.Errors > 0 || len(res.Latencies) == 0) {
				return fmt.Errorf("%s: %d requests failed, %d succeeded", r.name, res.Errors, len(res.Latencies))
			}
		}
	}
	return nil
}

// fill seeds the new scratch database with the demo data, adds the grid
// project, the scale data and the sales floor, and returns the grid
// project and the floor.
func fill(ctx context.Context, o options, bin string, env []string, dbURL string, data *sql.DB, start time.Time) (string, *benchStaff, error) {
	if err := runOnce(ctx, bin, env, "seed"); err != nil {
		return "", nil, err
	}
	// The portals ask with keys of their own (portalKeys), each with the
	// largest request limit and query-cost budget the model allows; the
	// seeded keys get the same (the request limit past the model's bound).
	// The cost is still computed and taken from the budget on every
	// request, as in production: from the process's lease of the key's
	// bucket in PostgreSQL (cost.Leasing), renewed in one statement every
	// few dozen requests.
	if _, err := data.ExecContext(ctx, `UPDATE api_keys SET rate_limit_per_minute = 1000000000, cost_budget = 1000000, cost_restore_rate = 100000`); err != nil {
		return "", nil, err
	}
	grid, err := addGridProject(ctx, dbURL, agentLogin, o.gridUnits)
	if err != nil {
		return "", nil, err
	}
	scaled, err := addScale(ctx, data, o.scale, grid, !o.keepIndexes)
	if err != nil {
		return "", nil, err
	}
	staff, err := addBenchStaff(ctx, dbURL, grid, o.write)
	if err != nil {
		return "", nil, err
	}
	if o.scale == 0 {
		// The visibility map set, as autovacuum would after the seed's
		// inserts (addScale does it after its own): index-only scans.
		if _, err := data.ExecContext(ctx, `VACUUM (ANALYZE)`); err != nil {
			return "", nil, err
		}
	}
	if o.scale > 0 {
		fmt.Println(scaled)
	}
	fmt.Printf("migrated, seeded with the demo data, a project of %d units with %d agents and a manager, and the scale data (-scale %d) in %.1f s\n",
		o.gridUnits, len(staff.agents), o.scale, time.Since(start).Seconds())
	return grid, staff, nil
}

// countStatements runs a second real server and a second baseline on the
// same database through a counting proxy, sends o.counted requests of each
// kind one at a time (after two not counted, which fill the caches a
// running server has warm) and records the statements per request. The
// timed servers never go through the proxy.
func countStatements(ctx context.Context, o options, f *fixtures, bin string, env []string, dbURL string, secret []byte, hc *http.Client, reqs []*request) error {
	cnt, proxied, err := newCounter(dbURL)
	if err != nil {
		return err
	}
	defer cnt.close()
	if o.stmtsLog != "" {
		f, err := os.Create(o.stmtsLog)
		if err != nil {
			return err
		}
		defer f.Close()
		cnt.log = f
	}
	srv, err := startServer(ctx, bin, append(env, "DATABASE_URL="+proxied))
	if err != nil {
		return err
	}
	defer srv.stop()
	base, err := startBaseline(ctx, proxied, secret, 1)
	if err != nil {
		return err
	}
	defer base.close()
	counted := selected(o, requests(f.at(srv.url), o, srv.url, base.url, hc))
	// A request's steps (holdUnit, then releaseHold) are counted each on
	// its own, between reads of the counter.
	measureSteps := func(r *request) (stmts, txctl, bg []float64, err error) {
		for range 2 {
			if _, err := r.real(0); err != nil {
				return nil, nil, nil, err
			}
		}
		stmts, txctl, bg = make([]float64, len(r.steps)), make([]float64, len(r.steps)), make([]float64, len(r.steps))
		for range o.counted {
			for k, st := range r.steps {
				s0, t0, b0 := cnt.read()
				cnt.mark("send %s (%s)", st.name, r.name)
				if _, err := st.send(0); err != nil {
					return nil, nil, nil, fmt.Errorf("%s: %w", st.name, err)
				}
				cnt.mark("answered %s", st.name)
				s1, t1, b1 := cnt.read()
				stmts[k] += float64(s1-s0) / float64(o.counted)
				txctl[k] += float64(t1-t0) / float64(o.counted)
				bg[k] += float64(b1-b0) / float64(o.counted)
			}
		}
		return stmts, txctl, bg, nil
	}
	measure := func(send func(int) (json.RawMessage, error)) (float64, error) {
		for range 2 {
			if _, err := send(0); err != nil {
				return 0, err
			}
		}
		s0, _, _ := cnt.read()
		for range o.counted {
			if _, err := send(0); err != nil {
				return 0, err
			}
		}
		s1, _, _ := cnt.read()
		return float64(s1-s0) / float64(o.counted), nil
	}
	for i, r := range counted {
		var err error
		if reqs[i].stepStmts, reqs[i].stepTx, reqs[i].stepBg, err = measureSteps(r); err != nil {
			return fmt.Errorf("count the statements of %s: %w", r.name, err)
		}
		reqs[i].stmts, reqs[i].txctl, reqs[i].bg = sum(reqs[i].stepStmts), sum(reqs[i].stepTx), sum(reqs[i].stepBg)
		if r.baseline != nil {
			if reqs[i].baseStmts, err = measure(r.baseline); err != nil {
				return fmt.Errorf("count the baseline's statements of %s: %w", r.name, err)
			}
		}
	}
	return nil
}

// selected keeps the requests -only names.
func selected(o options, reqs []*request) []*request {
	if o.only == nil {
		return reqs
	}
	return slices.DeleteFunc(reqs, func(r *request) bool { return !o.only.MatchString(r.name) })
}

func sum(xs []float64) float64 {
	var t float64
	for _, x := range xs {
		t += x
	}
	return t
}

// statistics returns what keeps the planner's statistics as fresh as
// autovacuum keeps them in production: nothing when autovacuum is on, and
// an ANALYZE of the scratch database when the server runs with autovacuum
// off (as this machine's does). Without it, after the write requests have
// added thousands of customers, visits and deals, PostgreSQL still plans
// the dashboards for the seeded sizes: customerValue joined 10,072
// customers to its visit counts with a nested loop estimated for 17 of
// them (552 ms; 43 ms once analysed), and salesFunnel took seconds.
func statistics(ctx context.Context, data *sql.DB) (func(), error) {
	var on string
	if err := data.QueryRowContext(ctx, "SHOW autovacuum").Scan(&on); err != nil {
		return nil, err
	}
	if on == "on" {
		return func() {}, nil
	}
	fmt.Println("PostgreSQL runs with autovacuum off: the command runs ANALYZE (untimed) before each request, as autovacuum would after the writes")
	return func() {
		if _, err := data.ExecContext(ctx, "ANALYZE"); err != nil {
			log.Printf("bench: ANALYZE: %v", err)
		}
	}, nil
}

// drive runs every request on the real server and then on the baseline,
// o.rounds times, after a warm-up of each that is not recorded; analyze
// runs, untimed, before each request.
func drive(o options, reqs []*request, pid int, analyze func()) {
	warm := min(o.duration/5, time.Second)
	for round := range o.rounds + 1 {
		for _, r := range reqs {
			analyze()
			for s, send := range []func(int) (json.RawMessage, error){r.real, r.baseline} {
				if send == nil {
					continue
				}
				call := func(i int) error { _, err := send(i); return err }
				if round == 0 {
					loadgen.Drive(r.clients, warm, call)
					continue
				}
				server, client, pg := loadgen.CPU(pid), loadgen.CPU(os.Getpid()), loadgen.CPUOf("postgres")
				r.timing.Store(s == 0)
				r.results[s].Add(loadgen.Drive(r.clients, o.duration, call))
				r.timing.Store(false)
				if s == 0 {
					r.hwm = loadgen.Status(pid, "VmHWM")
					r.serverCPU += loadgen.CPU(pid) - server
					r.clientCPU += loadgen.CPU(os.Getpid()) - client
					r.pgCPU += loadgen.CPUOf("postgres") - pg
				} else {
					r.baseCPU += loadgen.CPU(os.Getpid()) - client
					r.basePGCPU += loadgen.CPUOf("postgres") - pg
				}
			}
		}
	}
}

// report prints the figures.
func report(o options, reqs []*request, pid int, gc []string) {
	fmt.Printf("\n%d rounds of %s per request and server, interleaved (estatecrm, baseline, estatecrm, …); PostgreSQL on the same machine\n", o.rounds, o.duration)
	fmt.Printf("%-30s %7s %-9s %8s %8s %8s %8s %6s %22s %9s\n", "request", "clients", "server", "requests", "req/s", "p50 ms", "p99 ms", "errors", "stmts/req", "peak MiB")
	for _, r := range reqs {
		for s, name := range []string{"estatecrm", "baseline"} {
			res := r.results[s]
			if s == 1 && r.baseline == nil {
				continue
			}
			label, stmts, peak := r.name, fmt.Sprintf("%.1f (%.1f tx, %.1f bg)", r.stmts, r.txctl, r.bg), fmt.Sprintf("%.1f", float64(r.hwm)/1024)
			if s == 1 {
				label, stmts, peak = "", fmt.Sprintf("%.1f", r.baseStmts), ""
			}
			fmt.Printf("%-30s %7d %-9s %8d %8.0f %8.1f %8.1f %6d %22s %9s\n", label, r.clients, name, len(res.Latencies), res.PerSecond(), res.Pct(0.5), res.Pct(0.99), res.Errors, stmts, peak)
			if res.First != nil {
				fmt.Printf("%-30s first error: %.200v\n", "", res.First)
			}
		}
		if n := len(r.results[0].Latencies); n > 0 {
			per := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(n) }
			fmt.Printf("%-30s CPU per request: server %.3f ms, PostgreSQL %.3f ms, bench client %.3f ms\n", "",
				per(r.serverCPU), per(r.pgCPU), per(r.clientCPU))
			if n := len(r.results[1].Latencies); r.baseline != nil && n > 0 {
				per := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(n) }
				fmt.Printf("%-30s baseline's CPU per request: this command (the baseline and its clients) %.3f ms, PostgreSQL %.3f ms\n", "",
					per(r.baseCPU), per(r.basePGCPU))
			}
		}
		if len(r.steps) > 1 {
			var parts []string
			for k, st := range r.steps {
				parts = append(parts, fmt.Sprintf("%s %.1f (%.1f tx, %.1f bg)", st.name, r.stepStmts[k], r.stepTx[k], r.stepBg[k]))
			}
			fmt.Printf("%-30s stmts/req: %s\n", "", strings.Join(parts, " + "))
			if len(r.stepLat) == len(r.steps) {
				parts = parts[:0]
				for k, st := range r.steps {
					parts = append(parts, fmt.Sprintf("%s p50 %.1f, p99 %.1f", st.name, loadgen.Pct(r.stepLat[k], 0.5), loadgen.Pct(r.stepLat[k], 0.99)))
				}
				fmt.Printf("%-30s each step (ms): %s\n", "", strings.Join(parts, "; "))
			}
		}
		if r.baseline != nil {
			real, base := r.results[0], r.results[1]
			if base.PerSecond() > 0 && base.Pct(0.99) > 0 {
				fmt.Printf("%-30s estatecrm/baseline: %.0f%% of the req/s, p99 %.1f×\n", "", 100*real.PerSecond()/base.PerSecond(), real.Pct(0.99)/base.Pct(0.99))
			}
		}
	}
	fmt.Printf("estatecrm peak RSS (VmHWM): %.1f MiB, with %s (the Dockerfile's); peak MiB: the peak after the request's last run (it only grows: the request where it jumps set it)\n", float64(loadgen.Status(pid, "VmHWM"))/1024, strings.Join(gc, " "))
	fmt.Println("stmts/req: statements sent to PostgreSQL per request (simple Query and extended-protocol Execute messages, counted by a proxy on a second, untimed instance), of which BEGIN/COMMIT (tx) and the background work a write's commit sets off (bg: the live events' sequencer, one round trip, and the hub's reads of the outbox; counted one request at a time each write pays a run, under load one run serves many) in brackets; a request of several mutations counts them all, each shown below it")
	fmt.Println("CPU per request: processor time of the real server's process, of the machine's postgres processes (of both servers' connections: the baseline's are idle then) and of this command (its HTTP clients) during the real server's timed runs, over the requests answered; the rest of the 2 cores went to other work; the baseline's: this command's processor time (the baseline serves in it, beside its clients) and PostgreSQL's during the baseline's timed runs")
	fmt.Println("write requests: client i is bench agent i's phone (its own customers and its own unit of the grid project); cancelDeal is the project's manager's")
}

// loadavg is the machine's 1, 5 and 15 minute load averages.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}
