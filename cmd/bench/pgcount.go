package main

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
)

// counter is a TCP proxy in front of PostgreSQL that counts the statements
// its clients send, read from the wire protocol: each simple Query message
// and each Execute of the extended protocol (what lib/pq sends for a
// statement with arguments, prepared or not) is one statement. It only
// reads what goes by; it changes nothing. Parse messages are not counted:
// preparing is not running.
type counter struct {
	target string
	ln     net.Listener
	stmts  atomic.Int64
	txctl  atomic.Int64 // of which BEGIN, COMMIT and ROLLBACK

	mu    sync.Mutex
	conns []net.Conn
}

// newCounter proxies the database of rawURL and returns the counter and a
// URL like rawURL that goes through it (without TLS, so that it can read).
func newCounter(rawURL string) (*counter, string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, "", err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	target := u.Host
	if u.Port() == "" {
		target = net.JoinHostPort(u.Hostname(), "5432")
	}
	c := &counter{target: target, ln: ln}
	go c.serve()
	q := u.Query()
	q.Set("sslmode", "disable")
	u.RawQuery, u.Host = q.Encode(), ln.Addr().String()
	return c, u.String(), nil
}

func (c *counter) serve() {
	for {
		client, err := c.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", c.target)
		if err != nil {
			client.Close()
			continue
		}
		c.mu.Lock()
		c.conns = append(c.conns, client, server)
		c.mu.Unlock()
		go func() {
			_, _ = io.Copy(client, server)
			client.Close()
		}()
		go func() {
			c.forward(server, client)
			server.Close()
		}()
	}
}

// forward copies the client's messages to the server, counting statements.
func (c *counter) forward(dst io.Writer, src io.Reader) {
	r := bufio.NewReader(src)
	head := make([]byte, 5)
	// The start-up message (and an SSL or GSS request before it) has no type byte.
	for {
		if _, err := io.ReadFull(r, head[:4]); err != nil {
			return
		}
		body := make([]byte, binary.BigEndian.Uint32(head[:4])-4)
		if _, err := io.ReadFull(r, body); err != nil {
			return
		}
		if _, err := dst.Write(append(head[:4:4], body...)); err != nil {
			return
		}
		if code := binary.BigEndian.Uint32(body[:4]); code != 80877103 && code != 80877104 { // SSLRequest, GSSENCRequest
			break
		}
	}
	for {
		if _, err := io.ReadFull(r, head); err != nil {
			return
		}
		body := make([]byte, binary.BigEndian.Uint32(head[1:])-4)
		if _, err := io.ReadFull(r, body); err != nil {
			return
		}
		switch head[0] {
		case 'Q':
			c.stmts.Add(1)
			switch s := strings.ToUpper(strings.TrimSpace(strings.TrimRight(string(body), "\x00"))); {
			case strings.HasPrefix(s, "BEGIN"), strings.HasPrefix(s, "COMMIT"), strings.HasPrefix(s, "ROLLBACK"):
				c.txctl.Add(1)
			}
		case 'E':
			c.stmts.Add(1)
		}
		if _, err := dst.Write(append(head, body...)); err != nil {
			return
		}
	}
}

// read returns the statements counted so far and how many of them were
// BEGIN, COMMIT or ROLLBACK.
func (c *counter) read() (stmts, txctl int64) { return c.stmts.Load(), c.txctl.Load() }

func (c *counter) close() {
	c.ln.Close()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, conn := range c.conns {
		conn.Close()
	}
}
