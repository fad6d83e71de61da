package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"estatecrm/internal/loadgen"
)

// flood is the login-flood benchmark: attempts anonymous logins with unknown
// names, all at once, while a logged-in user keeps asking { me }; it reports
// the user's latency before and during the flood, how the attempts were
// answered, and the server's peak resident memory while they ran. It is an
// attack tool, so it refuses any address but loopback, sends a bounded
// number of requests and stops after the given duration whatever happens.
type flood struct {
	url, login, password string
	attempts, clients    int
	// spread sends each attempt from a made-up address in X-Forwarded-For,
	// as a botnet would from many; the server trusts it only when started
	// with -trusted-proxies 127.0.0.1/32.
	spread   bool
	meEvery  time.Duration
	duration time.Duration
	pid      int
}

func (f flood) run() error {
	if err := loadgen.Loopback(f.url); err != nil {
		return err
	}
	me := &loadgen.Client{URL: f.url, HTTP: &http.Client{Timeout: 30 * time.Second}}
	var auth struct{ Login struct{ AccessToken string } }
	if err := me.Do(`mutation($l: String!, $p: String!) { login(input: {login: $l, password: $p}) { accessToken } }`,
		map[string]any{"l": f.login, "p": f.password}, &auth); err != nil {
		return fmt.Errorf("login: %w", err)
	}
	me.Token = auth.Login.AccessToken
	askMe := func() error { return me.Do(`{ me { id login } }`, nil, nil) }

	// { me } alone first, for comparison.
	idle, idleErrs := paced(askMe, f.meEvery, 2*time.Second, nil)

	deadline := time.Now().Add(f.duration)
	done := make(chan struct{})
	var rss rssPeak
	go rss.watch(f.pid, done)
	var during []time.Duration
	var duringErrs int
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		during, duringErrs = paced(askMe, f.meEvery, time.Until(deadline), done)
	}()
	answers, lat := f.attack(deadline)
	close(done)
	wg.Wait()

	fmt.Printf("%-16s %8s %9s %9s %7s\n", "kind", "requests", "p50 ms", "p99 ms", "errors")
	line := func(name string, lat []time.Duration, errs int) {
		fmt.Printf("%-16s %8d %9.1f %9.1f %7d\n", name, len(lat), loadgen.Pct(lat, 0.5), loadgen.Pct(lat, 0.99), errs)
	}
	line("me idle", idle, idleErrs)
	line("me during flood", during, duringErrs)
	line("bad logins", lat, 0)
	keys := make([]string, 0, len(answers))
	for k := range answers {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Printf("  answered %-40s %d\n", k, answers[k])
	}
	if f.pid != 0 {
		fmt.Printf("server peak RSS during the flood: %.1f MiB (sampled every 5 ms)\n", float64(rss.max.Load())/1024)
		peakRSS(f.pid)
	}
	return nil
}

// attack sends the bad logins, clients at a time, and counts the answers by
// HTTP status, code and whether Retry-After came with them.
func (f flood) attack(deadline time.Time) (map[string]int, []time.Duration) {
	hc := &http.Client{Timeout: time.Until(deadline), Transport: &http.Transport{MaxIdleConnsPerHost: f.clients, MaxConnsPerHost: f.clients}}
	var mu sync.Mutex
	answers := map[string]int{}
	var lat []time.Duration
	var next atomic.Int64
	var wg sync.WaitGroup
	for range f.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(f.attempts) || time.Now().After(deadline) {
					return
				}
				start := time.Now()
				a := f.badLogin(hc, int(i))
				mu.Lock()
				answers[a]++
				lat = append(lat, time.Since(start))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return answers, lat
}

func (f flood) badLogin(hc *http.Client, i int) string {
	body, _ := json.Marshal(map[string]any{
		"query":     `mutation($l: String!, $p: String!) { login(input: {login: $l, password: $p}) { accessToken } }`,
		"variables": map[string]any{"l": fmt.Sprintf("nobody.%d", i), "p": "not-the-password"},
	})
	req, _ := http.NewRequest(http.MethodPost, f.url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if f.spread {
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255))
	}
	res, err := hc.Do(req)
	if err != nil {
		return "transport error"
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var env struct {
		Errors []struct {
			Extensions struct{ Code string }
		}
	}
	_ = json.Unmarshal(b, &env)
	code := "no error"
	if len(env.Errors) > 0 {
		code = env.Errors[0].Extensions.Code
	}
	a := fmt.Sprintf("HTTP %d %s", res.StatusCode, code)
	if res.Header.Get("Retry-After") != "" {
		a += " Retry-After"
	}
	return a
}

// paced calls f every interval for d (or until stop closes) and returns the
// latencies of the successful calls and the number of failures.
func paced(f func() error, every, d time.Duration, stop <-chan struct{}) ([]time.Duration, int) {
	var lat []time.Duration
	var errs int
	end := time.Now().Add(d)
	t := time.NewTicker(every)
	defer t.Stop()
	for time.Now().Before(end) {
		start := time.Now()
		if err := f(); err != nil {
			errs++
		} else {
			lat = append(lat, time.Since(start))
		}
		select {
		case <-stop:
			return lat, errs
		case <-t.C:
		}
	}
	return lat, errs
}

// rssPeak samples a process's resident memory until done closes.
type rssPeak struct{ max atomic.Int64 } // KiB

func (r *rssPeak) watch(pid int, done <-chan struct{}) {
	if pid == 0 {
		return
	}
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		if kib := loadgen.Status(pid, "VmRSS"); kib > r.max.Load() {
			r.max.Store(kib)
		}
		select {
		case <-done:
			return
		case <-t.C:
		}
	}
}
