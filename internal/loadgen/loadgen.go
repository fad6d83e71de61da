// Package loadgen is what the load and bench commands share to drive a
// GraphQL server over HTTP: a client, a closed-loop driver that records
// latencies, percentiles and a process's resident memory.
package loadgen

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Client posts GraphQL requests, with a bearer token or an API key when set.
type Client struct {
	URL, Token, APIKey string
	HTTP               *http.Client
}

// Do posts query with vars and decodes the response's data into out (when
// not nil); a response with errors is an error carrying the first message.
func (c *Client) Do(query string, vars map[string]any, out any) error {
	data, err := c.Raw(query, vars)
	if err != nil {
		return err
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// Raw posts query with vars and returns the response's data as sent.
func (c *Client) Raw(query string, vars map[string]any) (json.RawMessage, error) {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	return c.Post(c.URL, body)
}

// Post sends body to url with the client's credentials and returns the
// "data" of a GraphQL-shaped answer, or its first error.
func (c *Client) Post(url string, body []byte) (json.RawMessage, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if c.APIKey != "" {
		req.Header.Set("X-API-Key", c.APIKey)
	}
	res, err := c.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := readBody(res)
	if err != nil {
		return nil, err
	}
	if data, ok := plainData(res.StatusCode, b); ok {
		return data, nil
	}
	var env struct {
		Data   json.RawMessage
		Errors []struct{ Message string }
	}
	if err := json.Unmarshal(b, &env); err != nil {
		return nil, fmt.Errorf("HTTP %d: %.200s", res.StatusCode, b)
	}
	if len(env.Errors) > 0 {
		return nil, errors.New(env.Errors[0].Message)
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d: %.200s", res.StatusCode, b)
	}
	return env.Data, nil
}

// readBody reads an answer into one buffer of its announced length (the
// server sends it), or grows one when it is not announced.
func readBody(res *http.Response) ([]byte, error) {
	if res.ContentLength < 0 || res.ContentLength > 64<<20 {
		return io.ReadAll(res.Body)
	}
	b := make([]byte, res.ContentLength)
	if _, err := io.ReadFull(res.Body, b); err != nil {
		return nil, err
	}
	return b, nil
}

// dataPrefix opens an answer that has no errors: estatecrm's server (and the
// bench's baseline) write "errors" before "data" (graph/guard.writeResponse).
var dataPrefix = []byte(`{"data":`)

// plainData returns the data of an answer of the shape {"data":…} or
// {"data":…,"extensions":…} (with or without a newline), without decoding
// the data. The load commands share the machine with the server they
// measure: decoding every 100 KB sales grid took a share of the two cores
// that the server then did not have, and put the client's queueing into the
// latencies (and so did searching all of it for the envelope's keys: a grid
// is mostly quotes). Anything else (errors, another status) is left to the
// full decode. The keys that may follow the data are looked for in the
// answer's last tailBytes only, where estatecrm's server and the bench's
// baseline put them (errors come first, extensions.cost last); what follows
// the data must be valid JSON, so a key in the data named like one of them
// only sends the answer to the full decode.
func plainData(status int, b []byte) (json.RawMessage, bool) {
	b = bytes.TrimRight(b, "\n")
	if status != http.StatusOK || !bytes.HasPrefix(b, dataPrefix) || !bytes.HasSuffix(b, []byte("}")) {
		return nil, false
	}
	from := max(len(dataPrefix), len(b)-tailBytes)
	end := b[from:]
	for _, key := range otherKeys {
		if bytes.Contains(end, key) {
			return nil, false
		}
	}
	dataEnd := len(b) - 1
	if i := bytes.LastIndex(end, extensionsKey); i >= 0 {
		dataEnd = from + i
		if !json.Valid(append([]byte("{"), b[dataEnd+1:]...)) {
			return nil, false
		}
	}
	return b[len(dataPrefix):dataEnd], true
}

// tailBytes is how far from its end an answer is searched for the keys
// that may follow the data.
const tailBytes = 1 << 10

var (
	extensionsKey = []byte(`,"extensions":`)
	otherKeys     = [][]byte{[]byte(`"errors":`), []byte(`"label":`), []byte(`"path":`), []byte(`"hasNext":`)}
)

// Result is what Drive measured.
type Result struct {
	Latencies []time.Duration // of the successful calls, in no order
	Errors    int
	First     error // the first failure
	Elapsed   time.Duration
}

// Drive calls f from clients goroutines (f is told which), each calling
// again as soon as its call returns, for d.
func Drive(clients int, d time.Duration, f func(client int) error) Result {
	var mu sync.Mutex
	var r Result
	start := time.Now()
	stop := start.Add(d)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for time.Now().Before(stop) {
				t := time.Now()
				err := f(i)
				if err == nil {
					mine = append(mine, time.Since(t))
					continue
				}
				mu.Lock()
				r.Errors++
				if r.First == nil {
					r.First = err
				}
				mu.Unlock()
			}
			mu.Lock()
			r.Latencies = append(r.Latencies, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	r.Elapsed = time.Since(start)
	return r
}

// Add appends another run's figures (of the same request) to r.
func (r *Result) Add(o Result) {
	r.Latencies = append(r.Latencies, o.Latencies...)
	r.Errors += o.Errors
	if r.First == nil {
		r.First = o.First
	}
	r.Elapsed += o.Elapsed
}

// PerSecond is the successful calls a second.
func (r Result) PerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(len(r.Latencies)) / r.Elapsed.Seconds()
}

// Pct returns the p-th quantile (0..1) of the latencies in milliseconds.
func (r Result) Pct(p float64) float64 { return Pct(r.Latencies, p) }

// Pct returns the p-th quantile (0..1) of lat in milliseconds, 0 for none.
func Pct(lat []time.Duration, p float64) float64 {
	if len(lat) == 0 {
		return 0
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	return float64(s[int(float64(len(s)-1)*p)].Microseconds()) / 1000
}

// Status returns a field of /proc/PID/status in KiB (VmHWM is the peak
// resident memory, VmRSS the current), 0 when it cannot be read.
func Status(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, field+":"); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}

// CPU returns the processor time (user and system) process pid has used,
// from /proc/PID/stat, in clock ticks of 10 ms; 0 when it cannot be read.
func CPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces: count from its ")".
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	// Fields 14 and 15 (utime, stime) are the 12th and 13th after ")".
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// CPUOf returns the processor time used so far by every running process
// named name (its /proc/PID/comm: "postgres" counts the database's
// backends); the time of processes that ended is not counted.
func CPUOf(name string) time.Duration {
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	var total time.Duration
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); err == nil && strings.TrimSpace(string(comm)) == name {
			total += CPU(pid)
		}
	}
	return total
}

// Loopback refuses any host in raw (a URL) but this machine: the commands
// flood what they talk to, and the benchmark creates and drops databases.
func Loopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("only a loopback address, not %q", host)
}
