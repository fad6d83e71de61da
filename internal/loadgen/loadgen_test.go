package loadgen

import (
	"crypto/sha256"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

// The client reads the data of a plain answer without decoding it, and
// still reports every answer that carries errors, whatever their place.
func TestPostReturnsDataOrTheFirstError(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		status     int
		data, err  string
	}{
		{"plain", `{"data":{"units":[1,2]}}` + "\n", 200, `{"units":[1,2]}`, ""},
		{"errors first", `{"errors":[{"message":"boom"}],"data":null}`, 200, "", "boom"},
		{"errors after data", `{"data":{"a":1},"errors":[{"message":"late"}]}`, 200, "", "late"},
		{"extensions", `{"data":{"a":1},"extensions":{"cost":3}}`, 200, `{"a":1}`, ""},
		{"a data key named like the envelope", `{"data":{"path":"x"}}`, 200, `{"path":"x"}`, ""},
		{"a data key named extensions", `{"data":{"a":{"extensions":{"b":1}}}}`, 200, `{"a":{"extensions":{"b":1}}}`, ""},
		{"both", `{"data":{"extensions":1},"extensions":{"cost":{"requested":3}}}` + "\n", 200, `{"extensions":1}`, ""},
		{"refused", `{"errors":[{"message":"slow down"}]}`, 429, "", "slow down"},
		{"not json", `oops`, 502, "", "HTTP 502: oops"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			c := &Client{URL: srv.URL, HTTP: srv.Client()}
			data, err := c.Raw("{ a }", nil)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || string(data) != tc.data {
				t.Fatalf("data %s, err %v; want %s", data, err, tc.data)
			}
		})
	}
}

// CPU reads this process's processor time, which grows as it works.
func TestCPUOfThisProcessGrows(t *testing.T) {
	before := CPU(os.Getpid())
	deadline := time.Now().Add(10 * time.Second)
	for x := 0; CPU(os.Getpid()) < before+50*time.Millisecond; x++ {
		if time.Now().After(deadline) {
			t.Fatalf("CPU stayed at %v after 10 s of hashing", CPU(os.Getpid()))
		}
		_ = sha256.Sum256([]byte{byte(x)})
	}
	if CPU(1<<30) != 0 {
		t.Fatal("a process that does not exist has used processor time")
	}
}

// CPUOf adds up the processes of a name: this test's own, by its name.
func TestCPUOfCountsProcessesByName(t *testing.T) {
	comm, err := os.ReadFile("/proc/self/comm")
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimSpace(string(comm))
	for x, deadline := 0, time.Now().Add(10*time.Second); CPU(os.Getpid()) < 50*time.Millisecond && time.Now().Before(deadline); x++ {
		_ = sha256.Sum256([]byte{byte(x)})
	}
	own := CPU(os.Getpid())
	if own == 0 {
		t.Fatal("this process has used no processor time")
	}
	if all := CPUOf(name); all < own {
		t.Fatalf("CPUOf(%q) = %v, less than this process's own %v", name, all, own)
	}
	if CPUOf("no-such-process-name") != 0 {
		t.Fatal("a name no process has used processor time")
	}
}
