// Command faults breaks a deployment under load and counts what was lost.
// It runs two estatecrm server processes on a scratch PostgreSQL cluster of
// its own (through a TCP proxy it controls), has phones log visits and
// hold and release units with an Idempotency-Key each, retrying the same
// key (on the other server when one does not answer, as a load balancer
// would) until acknowledged, while other phones watch the sales grid over
// WebSockets; meanwhile it causes one fault per phase:
//
//   - none: no fault, the load alone (a control row);
//   - kill9: SIGKILL of one server process (then started again);
//   - dbrestart: PostgreSQL crashes (stop -m immediate) and starts again;
//   - outage: the database is unreachable for 2 s (every connection
//     dropped, new ones refused, by the proxy);
//   - sigterm: SIGTERM of one server with WebSockets open (then started
//     again): its subscribers must be told to reconnect (close 1012 or 1001),
//     not dropped.
//
// Per phase it prints one row: operations acknowledged, lost (acknowledged
// and not stored), duplicated (stored twice, or a retry that ran again),
// stuck (retried until the give-up without an answer), the time until every
// phone had an answer again after the fault (a retry of a request that died
// with its server or its database waits out the idempotency lease, 5 s),
// and for the watchers: closes that told them to reconnect (1012, 1001,
// 1013), connections dropped without a close frame, how many received
// every status change of the phase exactly once and in order, the changes
// they missed (ws-gap), those received twice, out of order or not as
// stored (ws-bad), the subscriptions refused or ended that they subscribed
// again (ws-re), and how many processes lead the background work
// afterwards (one). A phase's changes are the project's unit events in the
// outbox at the positions the phase added (every event numbered once its
// load has stopped); each watcher, resuming with after: its last eventId
// whenever it reconnects, must have received each of them by position.
//
// Loopback only, bounded in time; it never touches a database it did not
// create (the cluster lives in a temporary directory on its own port and is
// removed at the end). As root it runs PostgreSQL as the postgres user.
// With -short (CI) the phases are short and it exits non-zero if anything
// acknowledged was lost or duplicated or a retry stuck, a watcher missed a
// change or got one twice or out of order, or the background work is not
// led by exactly one process after a fault.
//
//	go build -o /tmp/estatecrm ./server && go run ./cmd/faults -server /tmp/estatecrm
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lib/pq"
)

func main() {
	bin := flag.String("server", "", "the estatecrm server binary; empty: build ./server")
	pgBin := flag.String("pg-bin", "/usr/lib/postgresql/15/bin", "directory of initdb and pg_ctl")
	// Below Linux's ephemeral range (32768–60999), where an outgoing
	// connection's own port can take the one asked for: 55440 was, once, in CI.
	pgPort := flag.Int("pg-port", 18439, "port of the scratch PostgreSQL cluster (the proxy listens on the next one)")
	port := flag.Int("port", 18089, "port of the first server (the second listens on the next one)")
	agents := flag.Int("agents", 8, "phones logging visits at once")
	holders := flag.Int("holders", 4, "phones holding and releasing a unit at once")
	watchers := flag.Int("watchers", 4, "phones watching the sales grid over WebSockets")
	before := flag.Duration("before", 3*time.Second, "load before each fault")
	after := flag.Duration("after", 5*time.Second, "load after each fault")
	giveUp := flag.Duration("give-up", 45*time.Second, "how long a phone keeps retrying its last operation once the load stops")
	phases := flag.String("phases", "none,kill9,dbrestart,outage,sigterm", "faults to cause, in order: none (a control: the load alone), kill9, dbrestart, outage, sigterm")
	short := flag.Bool("short", false, "short phases (CI): exit 1 if anything acknowledged is lost or duplicated, a retry is stuck or a watcher misses a change")
	flag.Parse()
	cfg := config{bin: *bin, pgBin: *pgBin, pgPort: *pgPort, port: *port, agents: *agents, holders: *holders, watchers: *watchers,
		before: *before, after: *after, giveUp: *giveUp, phases: strings.Split(*phases, ",")}
	if *short {
		cfg.before, cfg.after, cfg.giveUp = time.Second, 2*time.Second, 20*time.Second
		explicit := false
		flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "phases" })
		if !explicit { // the faults only: under a minute
			cfg.phases = []string{"kill9", "dbrestart", "outage", "sigterm"}
		}
	}
	rows, err := run(cfg)
	if err != nil {
		log.Fatal(err)
	}
	if *short {
		bad := false
		for _, r := range rows {
			if r.lost+r.dup+r.stuck+r.gap+r.wrong > 0 || r.leaders != 1 {
				bad = true
				fmt.Fprintf(os.Stderr, "faults: %s: %d lost, %d duplicated, %d stuck, %d changes missed and %d received wrong by WebSocket watchers, %d processes leading the background work\n",
					r.name, r.lost, r.dup, r.stuck, r.gap, r.wrong, r.leaders)
			}
		}
		if bad {
			os.Exit(1)
		}
	}
}

type config struct {
	bin, pgBin                              string
	pgPort, port, agents, holders, watchers int
	before, after, giveUp                   time.Duration
	phases                                  []string
}

// deployment is what a phase drives and breaks.
type deployment struct {
	pg       *cluster
	proxy    *proxy
	servers  []*server
	db       *sql.DB // straight to the cluster, for the checks
	visitors []*client
	customer [][]customer
	holders  []*holder
	watchers []*watcher
	project  string // the holders' and watchers' project
	pos      int64  // the outbox position where the next phase starts
}

func run(cfg config) ([]row, error) {
	tmp, err := os.MkdirTemp("", "faults-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil { // the postgres user works below it
		return nil, err
	}
	if cfg.bin == "" {
		cfg.bin = filepath.Join(tmp, "estatecrm")
		if out, err := exec.Command("go", "build", "-o", cfg.bin, "./server").CombinedOutput(); err != nil {
			return nil, fmt.Errorf("build the server: %v: %s", err, out)
		}
	}
	pg, err := newCluster(cfg.pgBin, tmp, cfg.pgPort)
	if err != nil {
		return nil, err
	}
	defer pg.remove()
	if err := pg.start(); err != nil {
		return nil, err
	}
	admin, err := sql.Open("postgres", pg.URL("postgres"))
	if err != nil {
		return nil, err
	}
	_, err = admin.Exec("CREATE DATABASE estatecrm")
	admin.Close()
	if err != nil {
		return nil, err
	}
	px, err := newProxy(fmt.Sprintf("127.0.0.1:%d", cfg.pgPort+1), fmt.Sprintf("127.0.0.1:%d", cfg.pgPort))
	if err != nil {
		return nil, err
	}
	defer px.down()
	d := &deployment{pg: pg, proxy: px}
	viaProxy := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/estatecrm?sslmode=disable", cfg.pgPort+1)
	var urls []string
	for i := range 2 {
		s := &server{name: string(rune('A' + i)), bin: cfg.bin, addr: fmt.Sprintf("127.0.0.1:%d", cfg.port+i), dbURL: viaProxy, dir: tmp, seed: i == 0}
		if i == 0 {
			log.Printf("starting server A on a scratch cluster (migrating, seeding the demo data)")
		}
		if err := s.start(); err != nil {
			return nil, err
		}
		defer s.stop()
		d.servers = append(d.servers, s)
		urls = append(urls, s.url())
	}
	d.db, err = sql.Open("postgres", pg.URL("estatecrm"))
	if err != nil {
		return nil, err
	}
	defer d.db.Close()
	// Phases start at the outbox's newest position, and so do the
	// watchers (after:), however long they take to connect.
	if d.pos, err = d.settle(); err != nil {
		return nil, err
	}
	if err := d.signIn(cfg, urls); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, w := range d.watchers {
		go w.run(ctx)
	}

	faults := map[string]func() error{
		"none": func() error { return nil }, // the same load without a fault: what the rest compare with
		"kill9": func() error {
			if err := d.servers[0].kill(); err != nil {
				return err
			}
			return d.servers[0].start()
		},
		"dbrestart": func() error {
			if err := pg.stop("immediate"); err != nil { // a crash: no checkpoint, connections cut
				return err
			}
			return pg.start()
		},
		"outage": func() error {
			px.down()
			time.Sleep(2 * time.Second)
			return px.up()
		},
		"sigterm": func() error {
			if err := d.servers[1].stop(); err != nil {
				return err
			}
			return d.servers[1].start()
		},
	}
	fmt.Printf("%-9s %5s %5s %4s %4s %5s %10s  %7s %7s %7s %6s %6s %6s %7s  %s\n",
		"fault", "ops", "acked", "lost", "dup", "stuck", "recover-ms", "ws-told", "ws-drop", "ws-full", "ws-gap", "ws-bad", "ws-re", "leaders", "answers while retrying")
	var rows []row
	for _, name := range cfg.phases {
		fault, ok := faults[name]
		if !ok {
			return rows, fmt.Errorf("unknown fault %q", name)
		}
		r, err := d.phase(cfg, name, fault)
		if err != nil {
			return rows, fmt.Errorf("%s: %w", name, err)
		}
		fmt.Println(r)
		rows = append(rows, r)
	}
	return rows, nil
}

// signIn makes the phones: visitors spread over every demo agent, holders
// over the agents of the published project (one unit each), watchers of
// that project's grid.
func (d *deployment) signIn(cfg config, urls []string) error {
	logins := []string{"agent.hz1", "agent.hz2", "agent.hz3", "agent.hz4", "agent.sz1", "agent.sz2", "agent.sz3", "agent.sz4"}
	for i := range cfg.agents {
		c, err := signIn(urls, i, logins[i%len(logins)], "demo-2026")
		if err != nil {
			return err
		}
		cs, err := c.ownCustomers()
		if err != nil {
			return err
		}
		d.visitors = append(d.visitors, c)
		d.customer = append(d.customer, cs)
	}
	if cfg.holders > 0 || cfg.watchers > 0 {
		first, err := signIn(urls, 0, "agent.hz1", "demo-2026")
		if err != nil {
			return err
		}
		cs, err := first.ownCustomers()
		if err != nil {
			return err
		}
		project := cs[0].ProjectID
		d.project = project
		units, err := first.availableUnits(project, cfg.holders)
		if err != nil {
			return err
		}
		for i := range cfg.holders {
			c, err := signIn(urls, i, logins[i%4], "demo-2026")
			if err != nil {
				return err
			}
			cs, err := c.ownCustomers()
			if err != nil {
				return err
			}
			j := slices.IndexFunc(cs, func(x customer) bool { return x.ProjectID == project })
			if j < 0 {
				return fmt.Errorf("%s has no customer in the published project", logins[i%4])
			}
			d.holders = append(d.holders, &holder{client: c, unit: units[i], customer: cs[j].ID})
		}
		for i := range cfg.watchers {
			d.watchers = append(d.watchers, newWatcher(urls, i, first.token, project, d.pos))
		}
	}
	return nil
}

// row is a phase's result.
type row struct {
	name                               string
	ops, acked, lost, dup, stuck       int
	recover                            time.Duration // -1: some phone never had an answer again
	told, dropped, gapless, gap, watch int
	wrong                              int // events received twice, out of order or not as stored
	refused                            int // subscriptions refused or ended, subscribed again
	leaders                            int // processes leading the background work after the phase
	codes                              []string
}

func (r row) String() string {
	rec := fmt.Sprint(r.recover.Milliseconds())
	if r.recover < 0 {
		rec = "never"
	}
	return fmt.Sprintf("%-9s %5d %5d %4d %4d %5d %10s  %7d %7d %7s %6d %6d %6d %7d  %s",
		r.name, r.ops, r.acked, r.lost, r.dup, r.stuck, rec, r.told, r.dropped, fmt.Sprintf("%d/%d", r.gapless, r.watch), r.gap, r.wrong, r.refused, r.leaders, strings.Join(r.codes, " "))
}

// phase runs the load, causes the fault, stops the load, lets each phone
// retry its last operation until cfg.giveUp, and counts.
func (d *deployment) phase(cfg config, name string, fault func() error) (row, error) {
	r := row{name: name, watch: len(d.watchers)}
	for _, w := range d.watchers {
		w.reset()
	}
	var units []string
	for _, h := range d.holders {
		units = append(units, h.unit)
	}
	// The changes of the phase: the events at outbox positions after lo,
	// up to where the outbox stands once the phase's load has stopped.
	lo := d.pos
	t := &tally{codes: map[string]int{}}
	stop := make(chan struct{})
	giveUp := &deadline{}
	var wg sync.WaitGroup
	for i, c := range d.visitors {
		wg.Add(1)
		go func() { defer wg.Done(); c.logVisits(name, i, d.customer[i], t, stop, giveUp) }()
	}
	for i, h := range d.holders {
		wg.Add(1)
		go func() { defer wg.Done(); h.run(name, i, t, stop, giveUp) }()
	}
	time.Sleep(cfg.before)
	log.Printf("%s: causing the fault", name)
	at := time.Now()
	if err := fault(); err != nil {
		close(stop)
		wg.Wait()
		return r, err
	}
	if rest := cfg.after - time.Since(at); rest > 0 {
		time.Sleep(rest)
	}
	giveUp.set(time.Now().Add(cfg.giveUp))
	close(stop)
	wg.Wait()
	hi, err := d.settle()
	if err != nil {
		return r, err
	}
	d.pos = hi
	want, err := d.unitEvents(lo, hi)
	if err != nil {
		return r, err
	}
	// The last changes reach the watchers (a subscriber may lag behind the
	// load, or be reconnecting): at most 20 s.
	if len(want) > 0 {
		newest := want[len(want)-1].seq
		for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
			if !slices.ContainsFunc(d.watchers, func(w *watcher) bool { return !w.upTo(newest) }) {
				break
			}
		}
	}

	// Visits: each acknowledged one stored exactly once.
	stored := map[string]int{}
	rows, err := d.db.Query(`SELECT notes, count(*) FROM visits WHERE notes LIKE $1 GROUP BY notes`, "faults "+name+" %")
	if err != nil {
		return r, err
	}
	for rows.Next() {
		var notes string
		var n int
		if err := rows.Scan(&notes, &n); err != nil {
			return r, err
		}
		stored[notes] = n
	}
	rows.Close()
	// Holds: each unit has one event (one change of status) per
	// acknowledged operation.
	changesOf := map[string]int{}
	for _, e := range want {
		changesOf[e.unit]++
	}
	status, err := d.statuses(units)
	if err != nil {
		return r, err
	}
	perUnit := map[string]struct{ acked, reran, stuck int }{}
	last := map[string]*op{}
	for _, o := range t.ops {
		r.ops++
		switch {
		case !o.acked.IsZero():
			r.acked++
		case o.refused == "":
			r.stuck++
		}
		if o.kind == "visit" {
			if !o.acked.IsZero() && stored[o.notes] == 0 {
				r.lost++
				log.Printf("%s: lost: visit %s acknowledged after %d ms, not stored", name, o.key, o.acked.Sub(o.first).Milliseconds())
			}
			if stored[o.notes] > 1 {
				r.dup++
			}
			continue
		}
		u := perUnit[o.unit]
		switch {
		case !o.acked.IsZero():
			u.acked++
		case o.refused != "" && o.retried && !strings.Contains(o.refused, "IDEMPOTENCY_KEY_REUSED"):
			u.reran++ // its first run happened, and a retry ran it again instead of answering
		case o.refused == "":
			u.stuck++
		}
		perUnit[o.unit] = u
		last[o.unit] = o
	}
	for _, unit := range units {
		u, changes := perUnit[unit], changesOf[unit]
		r.dup += u.reran + max(0, changes-u.acked-u.reran-u.stuck)
		r.lost += max(0, u.acked+u.reran-changes)
		if u.reran > 0 || changes != u.acked+u.reran {
			log.Printf("%s: unit %s: %d changes stored for %d operations acknowledged, %d run again, %d stuck", name, unit, changes, u.acked, u.reran, u.stuck)
		}
		if o := last[unit]; o != nil && !o.acked.IsZero() {
			want := map[string]string{"hold": "HELD", "release": "AVAILABLE"}[o.kind]
			if status[unit] != want && changes >= u.acked+u.reran {
				r.lost++ // the last acknowledged change is not what is stored
				log.Printf("%s: unit %s is %s, the last acknowledged operation was %s", name, unit, status[unit], o.kind)
			}
		}
	}
	// Background work: one process leads it again (package lease: the
	// holder of an advisory lock in the database), within 5 s.
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if err := d.db.QueryRow(`SELECT count(*) FROM pg_locks l JOIN pg_database b ON b.oid = l.database
			WHERE l.locktype = 'advisory' AND l.granted AND b.datname = current_database()`).Scan(&r.leaders); err != nil {
			return r, err
		}
		if r.leaders == 1 || time.Now().After(end) {
			break
		}
	}
	// Recovery: until every phone had an answer to a request sent after the fault.
	var slowest string
	r.recover, slowest = recovery(t.ops, at, len(d.visitors)+len(d.holders))
	if r.recover > time.Second {
		log.Printf("%s: the last phone to have an answer again: %s, after %d ms", name, slowest, r.recover.Milliseconds())
	}
	for c, n := range t.codes {
		r.codes = append(r.codes, fmt.Sprintf("%s×%d", c, n))
	}
	slices.Sort(r.codes)
	// Watchers: every event of the phase received once, in order.
	for i, w := range d.watchers {
		missed, wrong, unparsed := w.check(lo, hi, want)
		w.mu.Lock()
		r.told += w.told
		r.dropped += w.dropped
		r.refused += w.refused
		w.mu.Unlock()
		r.gap += missed
		r.wrong += wrong
		if missed+wrong == 0 {
			r.gapless++
		} else {
			log.Printf("%s: watcher %d: %d of the phase's %d events missed, %d received twice, out of order or not as stored; %d messages without an event", name, i, missed, len(want), wrong, unparsed)
		}
	}
	return r, nil
}

// recovery is the time from the fault until each phone had an answer to a
// request sent after it: the longest over the phones, -1 if one never did.
// An op belongs to its phone through its key (faults-PHASE-vN-SEQ / hN).
func recovery(ops []*op, at time.Time, phones int) (time.Duration, string) {
	first := map[string]time.Duration{}
	for _, o := range ops {
		if o.acked.IsZero() || o.sent.Before(at) {
			continue
		}
		parts := strings.Split(o.key, "-")
		phone := parts[len(parts)-2]
		if d, ok := first[phone]; !ok || o.acked.Sub(at) < d {
			first[phone] = o.acked.Sub(at)
		}
	}
	if len(first) < phones {
		return -1, ""
	}
	var worst time.Duration
	var who string
	for phone, d := range first {
		if d >= worst {
			worst, who = d, phone
		}
	}
	return worst, who
}

// settle waits until every event written is numbered (a server's pump
// numbers them at most a second later), at most 15 s, and returns the
// outbox's newest position.
func (d *deployment) settle() (int64, error) {
	for end := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var waiting int
		var hi int64
		if err := d.db.QueryRow(`SELECT count(*) FILTER (WHERE seq IS NULL), COALESCE(max(seq), 0) FROM outbox_events`).Scan(&waiting, &hi); err != nil {
			return 0, err
		}
		if waiting == 0 || time.Now().After(end) {
			return hi, nil
		}
	}
}

// unitEvents are the status changes of the project's units at outbox
// positions (lo, hi], in order: what every watcher must receive.
func (d *deployment) unitEvents(lo, hi int64) ([]event, error) {
	rows, err := d.db.Query(`SELECT seq, payload FROM outbox_events WHERE topic = $1 AND seq > $2 AND seq <= $3 ORDER BY seq`, d.project, lo, hi)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []event
	for rows.Next() {
		var seq int64
		var payload string
		if err := rows.Scan(&seq, &payload); err != nil {
			return nil, err
		}
		var m struct {
			Unit *struct{ U, S string }
		}
		if err := json.Unmarshal([]byte(payload), &m); err != nil || m.Unit == nil {
			return nil, fmt.Errorf("outbox event %d of the project is not a unit's change: %.100s", seq, payload)
		}
		out = append(out, event{seq: seq, unit: m.Unit.U, status: m.Unit.S})
	}
	return out, rows.Err()
}

// statuses reads the units' stored statuses.
func (d *deployment) statuses(units []string) (map[string]string, error) {
	out := map[string]string{}
	if len(units) == 0 {
		return out, nil
	}
	rows, err := d.db.Query(`SELECT id, status FROM units WHERE id = ANY($1)`, pq.Array(units))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, s string
		if err := rows.Scan(&id, &s); err != nil {
			return nil, err
		}
		out[id] = s
	}
	if len(out) != len(units) {
		return nil, errors.New("a holder's unit is gone")
	}
	return out, rows.Err()
}
