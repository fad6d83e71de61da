package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"estatecrm/outbox"
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
	bg     atomic.Int64 // of which the server's background work (background)

	mu    sync.Mutex
	conns []net.Conn

	// log, when set, receives every statement counted, one a line, with
	// the connection it came on and its parameters (-stmts-log): what a
	// request causes.
	logMu sync.Mutex
	log   io.Writer
	nconn atomic.Int64
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
		id := c.nconn.Add(1)
		go func() {
			c.forward(server, client, id)
			server.Close()
		}()
	}
}

// forward copies the client's messages to the server, counting statements.
func (c *counter) forward(dst io.Writer, src io.Reader, conn int64) {
	r := bufio.NewReader(src)
	// The text of the statements prepared on this connection, by name,
	// and of the portals bound to them: for background and the log.
	prepared, portals := map[string]string{}, map[string]string{}
	// The parameters bound to each portal, for the log (to EXPLAIN a
	// statement as it ran).
	params := map[string]string{}
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
			text := strings.TrimRight(string(body), "\x00")
			switch s := strings.ToUpper(strings.TrimSpace(text)); {
			case strings.HasPrefix(s, "BEGIN"), strings.HasPrefix(s, "COMMIT"), strings.HasPrefix(s, "ROLLBACK"):
				c.txctl.Add(1)
			}
			if background(text) {
				c.bg.Add(1)
			}
			c.logf(conn, text)
		case 'P':
			f := cstrings(body, 2)
			prepared[f[0]] = f[1]
		case 'B':
			f := cstrings(body, 2)
			portals[f[0]] = prepared[f[1]]
			if c.log != nil {
				params[f[0]] = bindParams(body)
			}
		case 'E':
			c.stmts.Add(1)
			portal := cstrings(body, 1)[0]
			text := portals[portal]
			if background(text) {
				c.bg.Add(1)
			}
			c.logf(conn, text+params[portal])
		}
		if _, err := dst.Write(append(head, body...)); err != nil {
			return
		}
	}
}

// bindParams renders the parameters of a Bind message for the log, as a
// comment after the statement: -- $1='text' $2=\x0102 (binary) $3=NULL.
func bindParams(body []byte) string {
	for range 2 { // the portal's and the statement's names
		i := bytes.IndexByte(body, 0)
		if i < 0 {
			return ""
		}
		body = body[i+1:]
	}
	u16 := func() int {
		if len(body) < 2 {
			return 0
		}
		n := int(binary.BigEndian.Uint16(body))
		body = body[2:]
		return n
	}
	formats := make([]int, u16())
	for i := range formats {
		formats[i] = u16()
	}
	n := u16()
	if n == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(" --")
	for i := range n {
		if len(body) < 4 {
			break
		}
		size := int32(binary.BigEndian.Uint32(body))
		body = body[4:]
		fmt.Fprintf(&b, " $%d=", i+1)
		if size < 0 {
			b.WriteString("NULL")
			continue
		}
		v := body[:min(int(size), len(body))]
		body = body[len(v):]
		binaryFormat := len(formats) == 1 && formats[0] == 1 || len(formats) > i && formats[i] == 1
		if binaryFormat {
			fmt.Fprintf(&b, "\\x%x", v)
		} else {
			b.WriteString("'" + strings.ReplaceAll(string(v), "'", "''") + "'")
		}
	}
	return b.String()
}

// cstrings returns the first n NUL-terminated strings of a message body.
func cstrings(body []byte, n int) []string {
	out := make([]string, 0, n)
	for range n {
		i := bytes.IndexByte(body, 0)
		if i < 0 {
			out = append(out, string(body))
			body = nil
			continue
		}
		out = append(out, string(body[:i]))
		body = body[i+1:]
	}
	return out
}

// logf writes a statement to the log, if there is one, on one line.
func (c *counter) logf(conn int64, text string) {
	if c.log == nil {
		return
	}
	c.logMu.Lock()
	defer c.logMu.Unlock()
	fmt.Fprintf(c.log, "%s c%d %s\n", time.Now().Format("15:04:05.000000"), conn, strings.Join(strings.Fields(text), " "))
}

// mark writes a line of the benchmark's own to the log (which request is
// sent), if there is one.
func (c *counter) mark(format string, args ...any) {
	if c.log == nil {
		return
	}
	c.logMu.Lock()
	defer c.logMu.Unlock()
	fmt.Fprintf(c.log, "%s --- "+format+"\n", append([]any{time.Now().Format("15:04:05.000000")}, args...)...)
}

// read returns the statements counted so far, how many of them were
// BEGIN, COMMIT or ROLLBACK, and how many were background work.
func (c *counter) read() (stmts, txctl, bg int64) { return c.stmts.Load(), c.txctl.Load(), c.bg.Load() }

// background reports whether a statement is the server's background work
// that a write sets off after its commit rather than the request's own:
// the live events' sequencer (package outbox: a run is one statement) and
// the hub's reads of the outbox. Counted one at a time, each write pays a
// run; under load one run serves the writes that committed meanwhile.
func background(text string) bool {
	t := strings.TrimSpace(text)
	return strings.HasPrefix(t, outbox.SequenceSQL) ||
		strings.HasPrefix(t, "SELECT seq, topic, kind, payload FROM outbox_events")
}

func (c *counter) close() {
	c.ln.Close()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, conn := range c.conns {
		conn.Close()
	}
}
