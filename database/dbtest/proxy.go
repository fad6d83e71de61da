package dbtest

import (
	"encoding/binary"
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Proxy is a TCP proxy in front of a database server, so that a test can
// take the database away from a server under test (as a restart or a
// network failure would) without touching the database server itself,
// which other tests share.
type Proxy struct {
	target string

	mu    sync.Mutex
	ln    net.Listener
	addr  string
	conns map[net.Conn]struct{}
	done  bool

	// sent counts the messages clients sent, by PostgreSQL message type.
	sent [256]atomic.Int64
}

// Sent returns how many messages of type typ ('P' for Parse, 'B' for Bind,
// 'Q' for a simple query…) clients have sent through the proxy, so that a
// test can see what a driver asks of the server.
func (p *Proxy) Sent(typ byte) int64 { return p.sent[typ].Load() }

// NewProxy listens on a free local port and forwards every connection to
// target (host:port); it is closed when t ends.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{target: target, ln: ln, addr: ln.Addr().String(), conns: map[net.Conn]struct{}{}}
	go p.serve(ln)
	t.Cleanup(p.close)
	return p
}

// ProxyURL returns rawURL (a postgres:// URL) going through a new proxy.
func ProxyURL(t testing.TB, rawURL string) (*Proxy, string) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	p := NewProxy(t, u.Host)
	u.Host = p.addr
	return p, u.String()
}

// Down drops every connection and refuses new ones until Up: what a client
// sees of a database server that stopped.
func (p *Proxy) Down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

// Up accepts connections again, on the same address.
func (p *Proxy) Up() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil || p.done {
		return nil
	}
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		return err
	}
	p.ln = ln
	go p.serve(ln)
	return nil
}

func (p *Proxy) close() {
	p.Down()
	p.mu.Lock()
	p.done = true
	p.mu.Unlock()
}

func (p *Proxy) serve(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return // closed by Down
		}
		go p.forward(c)
	}
}

func (p *Proxy) forward(c net.Conn) {
	s, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.ln == nil { // went down meanwhile
		p.mu.Unlock()
		c.Close()
		s.Close()
		return
	}
	p.conns[c], p.conns[s] = struct{}{}, struct{}{}
	p.mu.Unlock()
	var wg sync.WaitGroup
	wg.Add(2)
	pipe := func(dst, src net.Conn) {
		defer wg.Done()
		_, _ = io.Copy(dst, src) // ends with either side, or with Down
		dst.Close()
		src.Close()
	}
	go pipe(s, &frontendTap{Conn: c, p: p})
	go pipe(c, s)
	wg.Wait()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, s)
	p.mu.Unlock()
}

// frontendTap reads what a client sends and counts its messages by type.
// A connection starts with untyped messages (an SSL or GSS encryption
// request, answered by one byte, then the startup message or a cancel
// request: a length that counts itself, then a code); every later message
// is a type byte and a length that counts itself.
type frontendTap struct {
	net.Conn
	p *Proxy

	typed bool
	hdr   [8]byte
	nhdr  int
	skip  int // bytes left of the current message's body
}

func (f *frontendTap) Read(b []byte) (int, error) {
	n, err := f.Conn.Read(b)
	f.scan(b[:n])
	return n, err
}

func (f *frontendTap) scan(b []byte) {
	for len(b) > 0 {
		if f.skip > 0 {
			k := min(f.skip, len(b))
			f.skip -= k
			b = b[k:]
			continue
		}
		want := 8 // untyped: length, code
		if f.typed {
			want = 5 // type, length
		}
		k := copy(f.hdr[f.nhdr:want], b)
		f.nhdr += k
		b = b[k:]
		if f.nhdr < want {
			continue
		}
		f.nhdr = 0
		if f.typed {
			f.p.sent[f.hdr[0]].Add(1)
			f.skip = int(binary.BigEndian.Uint32(f.hdr[1:5])) - 4
			continue
		}
		f.skip = int(binary.BigEndian.Uint32(f.hdr[0:4])) - 8
		code := binary.BigEndian.Uint32(f.hdr[4:8])
		// SSLRequest and GSSENCRequest are followed by another untyped
		// message; a startup message by typed ones.
		f.typed = code != 80877103 && code != 80877104
	}
}
