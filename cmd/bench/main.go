// Command bench measures estatecrm against a minimal hand-written server on
// the same data, in the same run, on PostgreSQL. It creates a scratch
// database on the PostgreSQL server it is given (loopback only), migrates it
// with the real migrations, fills it with the demo seed plus a project of
// -grid-units units for the sales grid (and -scale more customers and
// visits), builds and starts the real server on it, starts the baseline
// (net/http, database/sql, lib/pq, one prepared statement per request, the
// same token check) beside it, checks once that both answer the same request
// alike, then drives both with the same requests in interleaved rounds and
// prints req/s, p50, p99, the ratio, the real server's peak RSS and the SQL
// statements per request (counted on the wire by a proxy in front of a
// second, untimed instance). The scratch database is dropped at the end.
//
// The server runs as the Dockerfile runs it (its GOGC and GOMEMLIMIT, read
// from the Dockerfile). The writes come from a sales floor added to the
// grid project: one agent per write client, each with customers of its own
// and a unit of its own to hold, and a manager who cancels reservations.
// With -cpuprofile the real server also serves pprof on an internal
// listener (PPROF=true, METRICS_ADDR), and after the timed rounds the
// command takes a CPU profile under each request's load and prints its top
// 10 functions.
//
//	go run ./cmd/bench                       # 16 clients (50 for grid and writes), 3 rounds of 5 s
//	go run ./cmd/bench -clients 50 -duration 10s -rounds 2 -scale 100   # 1 M customers, 200 k units, ~10 M visits
//	go run ./cmd/bench -cpuprofile /tmp/prof # and a CPU profile under each request
//	go run ./cmd/bench -only 'grid|hold'    # only these requests
//	go run ./cmd/bench -short                # a few seconds: checks that it works (CI)
//	go run ./cmd/bench -db estatecrm_bench_… # again on a database kept with -keep (no seeding nor loading)
package main

import (
	"context"
	"flag"
	"log"
	"net"
	"os"
	"os/signal"
	"regexp"
	"syscall"
	"time"
)

// options are the command's settings.
type options struct {
	pgURL    string
	clients  int
	write    int // clients for the write requests and the grid (the targets are at 50)
	duration time.Duration
	rounds   int
	counted  int // requests of each kind whose statements are counted
	keep     bool
	// db is a database kept by an earlier run (-keep) to run on again:
	// migrated (new migrations apply), but not seeded nor loaded again.
	db string
	// gridUnits is the size of the project added for the sales grid.
	gridUnits int
	// scale adds scale × (10,000 customers, ~100,000 visits, 2,000 units): see addScale.
	scale int
	// cpuprofile is a directory for a CPU profile of the real server under
	// each request; empty: none.
	cpuprofile string
	// stmtsLog is a file that receives every statement the counted server
	// sends, with marks where each counted request is sent and answered
	// (empty: none).
	stmtsLog string
	// keepIndexes loads the scale data with the indexes in place instead
	// of rebuilding them after the copy.
	keepIndexes bool
	// only keeps the requests whose names match it (all when nil).
	only *regexp.Regexp
}

func main() {
	var o options
	flag.StringVar(&o.pgURL, "pg", envOr("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"),
		"a PostgreSQL URL on loopback allowed to create databases (BENCH_PG_URL); a scratch database is created beside the one named and dropped at the end")
	flag.IntVar(&o.clients, "clients", 16, "concurrent clients for the reads compared with the baseline")
	flag.IntVar(&o.write, "write-clients", 50, "concurrent clients for the sales grid and the writes; as many bench agents are added, one per client")
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "how long each request runs against each server in one round")
	flag.IntVar(&o.rounds, "rounds", 3, "rounds: each runs every request on the real server, then on the baseline")
	flag.IntVar(&o.counted, "count", 50, "requests of each kind sent one at a time to count SQL statements")
	flag.BoolVar(&o.keep, "keep", false, "keep the scratch database (its name is printed) instead of dropping it")
	flag.StringVar(&o.db, "db", "", "run on this database, kept by an earlier run (-keep), instead of a new scratch one: it is migrated (new migrations apply) but neither seeded nor loaded again (-grid-units and -scale are ignored), and never dropped; -write-clients at most the kept run's")
	flag.IntVar(&o.gridUnits, "grid-units", 600, "units of the project added to the demo data for the sales grid")
	flag.IntVar(&o.scale, "scale", 0, "add scale × (10,000 customers, ~100,000 visits, a project of 2,000 units) to the demo data, by COPY (100: 1 M customers, 200 k units, ~10 M visits)")
	flag.BoolVar(&o.keepIndexes, "scale-keep-indexes", false, "copy the scale data with the indexes and foreign keys in place (slower) instead of rebuilding them after the copy")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "after the timed rounds, take a CPU profile of the real server under each request's load into this directory and print each one's top 10 (go tool pprof -top)")
	flag.StringVar(&o.stmtsLog, "stmts-log", "", "write every statement the counted (second) server sends to this file, one a line, with marks where each counted request is sent and answered")
	only := flag.String("only", "", "run only the requests whose names match this regular expression (e.g. 'grid|logVisit')")
	short := flag.Bool("short", false, "a run of a few seconds that checks the command works (figures mean nothing)")
	flag.Parse()
	if *only != "" {
		re, err := regexp.Compile(*only)
		if err != nil {
			log.Fatal("bench: -only: ", err)
		}
		o.only = re
	}
	if *short {
		o.clients, o.write, o.duration, o.rounds, o.counted = 2, 4, 300*time.Millisecond, 1, 3
	}
	if o.clients < 1 || o.write < 1 || o.rounds < 1 || o.counted < 1 || o.gridUnits < 1 || o.scale < 0 || o.duration <= 0 {
		log.Fatal("bench: clients, write-clients, rounds, count and grid-units must be positive, and so must duration")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		log.Fatal("bench: ", err)
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// freeAddr returns a loopback address with a port free at the moment.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
