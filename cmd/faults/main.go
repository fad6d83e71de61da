// Command faults breaks things under load and counts what was lost: it runs
// the estatecrm server as a child process on a scratch PostgreSQL cluster of
// its own, has agents log visits with an Idempotency-Key each, retrying the
// same key until the server acknowledges it, and meanwhile kills the server
// with SIGKILL (and starts it again) or restarts the database. Then it
// checks that every acknowledged visit is stored exactly once and that no
// key stayed stuck.
//
// It never touches a database it did not create: the cluster lives in a
// temporary directory on its own port and is removed at the end. As root it
// runs PostgreSQL as the postgres user.
//
//	go build -o /tmp/estatecrm ./server && go run ./cmd/faults -server /tmp/estatecrm
package main

import (
	"database/sql"
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

	_ "github.com/lib/pq"
)

func main() {
	bin := flag.String("server", "", "the estatecrm server binary; empty: build ./server")
	pgBin := flag.String("pg-bin", "/usr/lib/postgresql/15/bin", "directory of initdb and pg_ctl")
	pgPort := flag.Int("pg-port", 55439, "port of the scratch PostgreSQL cluster")
	port := flag.Int("port", 18089, "port of the server")
	agents := flag.Int("agents", 8, "agents logging visits at once")
	before := flag.Duration("before", 3*time.Second, "load before each fault")
	after := flag.Duration("after", 5*time.Second, "load after each fault")
	giveUp := flag.Duration("give-up", 45*time.Second, "how long an agent keeps retrying its last visit once the load stops")
	phases := flag.String("phases", "kill9,dbrestart", "faults to cause, in order: kill9, dbrestart")
	flag.Parse()
	if err := run(config{bin: *bin, pgBin: *pgBin, pgPort: *pgPort, port: *port, agents: *agents,
		before: *before, after: *after, giveUp: *giveUp, phases: strings.Split(*phases, ",")}); err != nil {
		log.Fatal(err)
	}
}

type config struct {
	bin, pgBin            string
	pgPort, port, agents  int
	before, after, giveUp time.Duration
	phases                []string
}

func run(cfg config) error {
	tmp, err := os.MkdirTemp("", "faults-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil { // the postgres user works below it
		return err
	}
	if cfg.bin == "" {
		cfg.bin = filepath.Join(tmp, "estatecrm")
		if out, err := exec.Command("go", "build", "-o", cfg.bin, "./server").CombinedOutput(); err != nil {
			return fmt.Errorf("build the server: %v: %s", err, out)
		}
	}
	pg, err := newCluster(cfg.pgBin, tmp, cfg.pgPort)
	if err != nil {
		return err
	}
	defer pg.remove()
	if err := pg.start(); err != nil {
		return err
	}
	admin, err := sql.Open("postgres", pg.URL("postgres"))
	if err != nil {
		return err
	}
	_, err = admin.Exec("CREATE DATABASE estatecrm")
	admin.Close()
	if err != nil {
		return err
	}
	srv := &server{bin: cfg.bin, addr: fmt.Sprintf("127.0.0.1:%d", cfg.port), dbURL: pg.URL("estatecrm"), dir: tmp}
	log.Printf("starting the server on a scratch cluster (seeding the demo data)")
	if err := srv.start(); err != nil {
		return err
	}
	defer srv.stop()
	a, err := signIn("http://"+srv.addr+"/query", "agent.hz1", "demo-2026")
	if err != nil {
		return err
	}
	db, err := sql.Open("postgres", pg.URL("estatecrm"))
	if err != nil {
		return err
	}
	defer db.Close()

	faults := map[string]func() error{
		"kill9": func() error {
			if err := srv.kill(); err != nil {
				return err
			}
			return srv.start()
		},
		"dbrestart": func() error {
			if err := pg.stop("immediate"); err != nil { // a crash: no checkpoint, connections cut
				return err
			}
			time.Sleep(2 * time.Second)
			return pg.start()
		},
	}
	fmt.Printf("%-10s %6s %6s %5s %10s %6s %11s %13s %12s  %s\n",
		"fault", "visits", "acked", "lost", "duplicated", "stuck", "unanswered", "stored-unack", "max-wait", "answers while retrying")
	for _, name := range cfg.phases {
		fault, ok := faults[name]
		if !ok {
			return fmt.Errorf("unknown fault %q", name)
		}
		r, err := phase(cfg, name, a, fault, db)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		fmt.Println(r)
	}
	return nil
}

// phase runs the agents, causes the fault, stops the load, lets each agent
// retry its last visit until cfg.giveUp, and counts.
func phase(cfg config, name string, a *agent, fault func() error, db *sql.DB) (string, error) {
	t := &tally{codes: map[string]int{}}
	stop := make(chan struct{})
	var mu sync.Mutex
	var giveUp time.Time
	var wg sync.WaitGroup
	for i := range cfg.agents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.logVisits(name, i, t, stop, &giveUp, &mu)
		}()
	}
	time.Sleep(cfg.before)
	log.Printf("%s: causing the fault", name)
	if err := fault(); err != nil {
		close(stop)
		return "", err
	}
	time.Sleep(cfg.after)
	mu.Lock()
	giveUp = time.Now().Add(cfg.giveUp)
	mu.Unlock()
	close(stop)
	wg.Wait()

	stored := map[string]int{}
	rows, err := db.Query(`SELECT notes, count(*) FROM visits WHERE notes LIKE $1 GROUP BY notes`, "faults "+name+" %")
	if err != nil {
		return "", err
	}
	for rows.Next() {
		var notes string
		var n int
		if err := rows.Scan(&notes, &n); err != nil {
			return "", err
		}
		stored[notes] = n
	}
	rows.Close()
	var unanswered int
	if err := db.QueryRow(`SELECT count(*) FROM idempotency_keys WHERE key LIKE $1 AND response IS NULL`,
		"faults-"+name+"-%").Scan(&unanswered); err != nil {
		return "", err
	}
	var acked, lost, dup, stuck, storedUnacked int
	var maxWait time.Duration
	for _, o := range t.ops {
		switch {
		case !o.acked.IsZero():
			acked++
			maxWait = max(maxWait, o.acked.Sub(o.first))
			if stored[o.notes] == 0 {
				lost++
			}
		case o.refused == "":
			stuck++
			if stored[o.notes] > 0 {
				storedUnacked++
			}
		}
		if stored[o.notes] > 1 {
			dup++
		}
	}
	var codes []string
	for c, n := range t.codes {
		codes = append(codes, fmt.Sprintf("%s×%d", c, n))
	}
	slices.Sort(codes)
	return fmt.Sprintf("%-10s %6d %6d %5d %10d %6d %11d %13d %12s  %s",
		name, len(t.ops), acked, lost, dup, stuck, unanswered, storedUnacked, maxWait.Round(100*time.Millisecond), strings.Join(codes, " ")), nil
}
