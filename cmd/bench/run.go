package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"time"
)

// agentLogin is the demo agent whose phone sends the requests.
const agentLogin = "agent.hz1"

func run(ctx context.Context, o options) (err error) {
	db, err := newScratch(ctx, o.pgURL)
	if err != nil {
		return err
	}
	fmt.Printf("scratch database %s\n", db.name)
	defer func() {
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
	if err := runOnce(ctx, bin, env, "seed"); err != nil {
		return err
	}
	data, err := sql.Open("postgres", db.url)
	if err != nil {
		return err
	}
	defer data.Close()
	// The demo portal's key allows 600 requests a minute; the benchmark is
	// one portal asking as fast as it can.
	if _, err := data.ExecContext(ctx, `UPDATE api_keys SET rate_limit_per_minute = 1000000000`); err != nil {
		return err
	}
	fmt.Printf("migrated and seeded with the demo data in %.1f s\n", time.Since(start).Seconds())

	srv, err := startServer(ctx, bin, env)
	if err != nil {
		return err
	}
	defer srv.stop()
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: max(o.clients, o.write) + 4}}
	f, err := loadFixtures(ctx, data, srv.url, hc)
	if err != nil {
		return err
	}
	fmt.Printf("real server pid %d at %s; %d demo agents logged in\n", srv.pid(), srv.url, len(f.agents))
	// The baseline gets as many connections as the real server's pool (DB_MAX_CONNS, 16 by default).
	base, err := startBaseline(ctx, db.url, []byte(secret), 16)
	if err != nil {
		return err
	}
	defer base.close()
	reqs := requests(f, o, srv.url, base.url, hc)
	for _, r := range reqs {
		if r.baseline != nil {
			if err := check(r); err != nil {
				return err
			}
		}
	}
	fmt.Println("the baseline answers the first request of each kind exactly as the real server does")
	return nil
}
