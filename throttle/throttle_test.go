package throttle

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"
)

func TestParseRate(t *testing.T) {
	for in, want := range map[string]Rate{
		"600":   {PerMinute: 600, Burst: 60},
		"5":     {PerMinute: 5, Burst: 1},
		"5/15m": {PerMinute: 5.0 / 15, Burst: 5},
		"10/1s": {PerMinute: 600, Burst: 10},
		"0":     {},
		"0/1m":  {},
	} {
		got, err := ParseRate(in)
		if err != nil || got != want {
			t.Errorf("ParseRate(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "many", "-1", "5/", "5/soon", "5/-1m"} {
		if _, err := ParseRate(bad); err == nil {
			t.Errorf("ParseRate(%q) accepted", bad)
		}
	}
}

func TestBuckets(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	b := NewBuckets(Rate{PerMinute: 60, Burst: 3}) // one a second
	for i := range 3 {
		if ok, _ := b.Allow("a", now); !ok {
			t.Fatalf("request %d of a burst of 3 refused", i+1)
		}
	}
	ok, wait := b.Allow("a", now)
	if ok || wait <= 0 || wait > time.Second {
		t.Fatalf("over the burst: %v, wait %v; want refused for at most a second", ok, wait)
	}
	if ok, _ := b.Allow("b", now); !ok {
		t.Fatal("another key was refused")
	}
	if ok, _ := b.Allow("a", now.Add(wait)); !ok {
		t.Fatal("refused after the wait it was told")
	}
	// Taking into debt makes the wait longer; Forget makes the bucket new.
	for range 5 {
		b.Take("c", now)
	}
	if w := b.Wait("c", now); w < time.Second {
		t.Fatalf("5 taken from a burst of 3: wait %v, want at least 1s", w)
	}
	b.Forget("c")
	if w := b.Wait("c", now); w != 0 {
		t.Fatalf("a forgotten bucket waits %v", w)
	}
	var off *Buckets
	if ok, _ := off.Allow("x", now); !ok {
		t.Fatal("no buckets limits nothing")
	}
	if ok, _ := NewBuckets(Rate{}).Allow("x", now); !ok {
		t.Fatal("a zero rate limits nothing")
	}
}

// An attacker with many addresses cannot grow the buckets without end.
func TestBucketsStayBounded(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	b := NewBuckets(Rate{PerMinute: 1, Burst: 1})
	b.max = 100
	for i := range 1000 {
		b.Allow(string(rune(i)), now)
	}
	if n := len(b.m); n > 100 {
		t.Fatalf("%d buckets kept, want at most 100", n)
	}
}

func TestClientAddr(t *testing.T) {
	trusted, err := ParseProxies("10.0.0.1, 172.16.0.0/12")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, peer, xff string
		proxies         Proxies
		want            string
	}{
		{"no proxies: the peer", "203.0.113.7:5000", "", nil, "203.0.113.7"},
		{"no proxies: X-Forwarded-For ignored", "203.0.113.7:5000", "1.2.3.4", nil, "203.0.113.7"},
		{"untrusted peer: X-Forwarded-For ignored", "203.0.113.7:5000", "1.2.3.4", trusted, "203.0.113.7"},
		{"trusted proxy: the client it saw", "10.0.0.1:5000", "198.51.100.2", trusted, "198.51.100.2"},
		{"the client's own X-Forwarded-For is not believed", "10.0.0.1:5000", "1.2.3.4, 198.51.100.2", trusted, "198.51.100.2"},
		{"a chain of trusted proxies", "10.0.0.1:5000", "198.51.100.2, 172.16.3.4", trusted, "198.51.100.2"},
		{"garbage from the proxy: the proxy", "10.0.0.1:5000", "not-an-address", trusted, "10.0.0.1"},
		{"IPv6: its /64", "[2001:db8:1:2:3:4:5:6]:5000", "", nil, "2001:db8:1:2::/64"},
		{"IPv4 in IPv6", "[::ffff:203.0.113.7]:5000", "", nil, "203.0.113.7"},
	} {
		r := httptest.NewRequest("POST", "/query", nil)
		r.RemoteAddr = c.peer
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if got := c.proxies.ClientAddr(r); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	if _, err := ParseProxies("10.0.0.1, nonsense"); err == nil {
		t.Error("a bad proxy address was accepted")
	}
}

func TestLoginsSlowTheSourceNotTheName(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	l := NewLogins(LoginLimits{Pair: Rate{PerMinute: 1, Burst: 2}, Addr: Rate{PerMinute: 1, Burst: 3}, Name: Rate{PerMinute: 1, Burst: 4}, Remember: time.Hour})
	fail := func(addr, name string) time.Duration {
		a, wait := l.Begin(addr, name, now)
		if a != nil {
			a.Failed(now)
		}
		return wait
	}
	// Pair: 2 failures of one address on one login.
	if fail("a1", "root") != 0 || fail("a1", "root") != 0 || fail("a1", "root") == 0 {
		t.Fatal("the third failure in a row from one address on one login was let through")
	}
	if a, _ := l.Begin("a2", "root", now); a == nil {
		t.Fatal("another address was held back by a1's failures")
	} else {
		a.Succeeded(now) // the user logs in from a2
	}
	// Addr: a1 has 2 failures; one more on another login, then held back everywhere.
	if fail("a1", "other") != 0 || fail("a1", "third") == 0 {
		t.Fatal("an address over its failures was let through on another login")
	}
	// Name: 4 failures on root from unknown addresses (a1 spent 2).
	if fail("a3", "root") != 0 || fail("a4", "root") != 0 || fail("a5", "root") == 0 {
		t.Fatal("an unknown address was let through on a login over its failures")
	}
	if a, _ := l.Begin("a2", "root", now); a == nil {
		t.Fatal("the user was held back at an address they logged in from")
	}
}

func TestRefuseNotesTheWait(t *testing.T) {
	ctx := NewContext(context.Background(), "192.0.2.1")
	if Source(ctx) != "192.0.2.1" || RetryAfter(ctx) != 0 {
		t.Fatal("a new request: wrong source, or a wait already")
	}
	err := Refuse(ctx, 1500*time.Millisecond)
	if err == nil || RetryAfter(ctx) != 1500*time.Millisecond || Seconds(RetryAfter(ctx)) != 2 {
		t.Fatalf("Refuse: %v, wait %v", err, RetryAfter(ctx))
	}
	_ = Refuse(context.Background(), time.Second) // outside a request: just the error
}
