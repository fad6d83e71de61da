package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"estatecrm/internal/loadgen"
)

// dockerfileGC returns the GOGC and GOMEMLIMIT settings of the Dockerfile's
// ENV lines ("GOGC=400", "GOMEMLIMIT=80MiB"): the benchmark runs the server
// as the image does, and the Dockerfile stays the one place they are set.
func dockerfileGC() ([]string, error) {
	path := filepath.Join(moduleRoot(), "Dockerfile")
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	found := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 || fields[0] != "ENV" {
			continue
		}
		for _, kv := range fields[1:] {
			if k, v, ok := strings.Cut(kv, "="); ok && (k == "GOGC" || k == "GOMEMLIMIT") {
				found[k] = v
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	var gc []string
	for _, k := range []string{"GOGC", "GOMEMLIMIT"} {
		v, ok := found[k]
		if !ok {
			return nil, fmt.Errorf("%s sets no %s in an ENV line", path, k)
		}
		gc = append(gc, k+"="+v)
	}
	return gc, nil
}

// maxProfile is the longest profile asked for: the metrics listener's
// server writes a response within 30 s.
const maxProfile = 25 * time.Second

// profile takes a CPU profile of the real server (its pprof endpoint at
// url) under each request's load in turn, writes it to o.cpuprofile and
// prints its top 10 functions by their own CPU time (go tool pprof -top).
// An allocation profile of the same seconds is written beside it
// (NAME.allocs.pprof: go tool pprof -sample_index=alloc_space).
func profile(ctx context.Context, o options, reqs []*request, url string) error {
	if err := os.MkdirAll(o.cpuprofile, 0o755); err != nil {
		return err
	}
	d := min(max(o.duration.Truncate(time.Second), time.Second), maxProfile)
	fmt.Printf("\nCPU profiles of the real server, %s under each request's load (go tool pprof -top -nodecount=10; files in %s)\n", d, o.cpuprofile)
	hc := &http.Client{Timeout: d + 30*time.Second}
	for _, r := range reqs {
		file := filepath.Join(o.cpuprofile, slug(r.name)+".pprof")
		load := make(chan loadgen.Result, 1)
		// The load starts first and outlasts the profile by a little, so
		// that the profile sees the request's steady state only.
		go func() {
			load <- loadgen.Drive(r.clients, d+time.Second, func(i int) error { _, err := r.real(i); return err })
		}()
		time.Sleep(300 * time.Millisecond)
		// The allocations of the same seconds (a delta of the heap
		// profile's allocation counts) come beside the CPU profile: the
		// allocations are what the collector's share of the CPU comes from.
		allocs := make(chan error, 1)
		go func() {
			allocsURL := strings.TrimSuffix(url, "profile") + "allocs"
			allocs <- fetch(ctx, hc, fmt.Sprintf("%s?seconds=%d", allocsURL, int(d.Seconds())), strings.TrimSuffix(file, ".pprof")+".allocs.pprof")
		}()
		err := fetch(ctx, hc, fmt.Sprintf("%s?seconds=%d", url, int(d.Seconds())), file)
		res := <-load
		if aerr := <-allocs; err == nil && aerr != nil {
			err = aerr
		}
		if err != nil {
			return fmt.Errorf("profile %s: %w", r.name, err)
		}
		out, err := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", "-nodecount=10", file).CombinedOutput()
		if err != nil {
			return fmt.Errorf("go tool pprof %s: %w\n%s", file, err, out)
		}
		fmt.Printf("\n== %s, %d clients: %.0f req/s, %d errors while profiled\n%s", r.name, r.clients, res.PerSecond(), res.Errors, out)
	}
	return nil
}

// fetch saves what url answers to file.
func fetch(ctx context.Context, hc *http.Client, url, file string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	res, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		return fmt.Errorf("%s: %s: %s", url, res.Status, b)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// slug makes a request's name a file name: "holdUnit+releaseHold" →
// "holdUnit-releaseHold".
func slug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
		switch {
		case ok:
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}
