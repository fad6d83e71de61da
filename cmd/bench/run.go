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

	"estatecrm/internal/loadgen"
	"estatecrm/seed"
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
	agent := &loadgen.Client{URL: srv.url, HTTP: hc}
	var login struct{ Login struct{ AccessToken string } }
	if err := agent.Do(`mutation($l: String!, $p: String!) { login(input: {login: $l, password: $p}) { accessToken } }`,
		map[string]any{"l": agentLogin, "p": seed.DemoPassword}, &login); err != nil {
		return fmt.Errorf("log in %s: %w", agentLogin, err)
	}
	agent.Token = login.Login.AccessToken
	fmt.Printf("real server pid %d at %s, logged in as %s\n", srv.pid(), srv.url, agentLogin)
	return nil
}
