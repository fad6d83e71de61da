package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/lib/pq"

	"estatecrm/internal/loadgen"
)

// scratch is a database the benchmark created and drops at the end.
type scratch struct {
	admin *sql.DB // on the database named in -pg, to create and drop
	name  string
	url   string // the scratch database's URL
}

// newScratch creates an empty database with a name of its own beside the
// one rawURL names; it never touches any other database.
func newScratch(ctx context.Context, rawURL string) (*scratch, error) {
	if err := loadgen.Loopback(rawURL); err != nil {
		return nil, err
	}
	admin, err := sql.Open("postgres", rawURL)
	if err != nil {
		return nil, err
	}
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	name := fmt.Sprintf("estatecrm_bench_%s_%s", time.Now().UTC().Format("20060102150405"), hex.EncodeToString(suffix))
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(name)); err != nil {
		admin.Close()
		return nil, fmt.Errorf("create the scratch database: %w", err)
	}
	u, _ := url.Parse(rawURL)
	u.Path = "/" + name
	return &scratch{admin: admin, name: name, url: u.String()}, nil
}

// keptScratch is a database an earlier run kept (-keep), named beside the
// one rawURL names, to run on again (-db). It must exist already.
func keptScratch(ctx context.Context, rawURL, name string) (*scratch, error) {
	if err := loadgen.Loopback(rawURL); err != nil {
		return nil, err
	}
	admin, err := sql.Open("postgres", rawURL)
	if err != nil {
		return nil, err
	}
	var found bool
	if err := admin.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&found); err != nil || !found {
		admin.Close()
		return nil, fmt.Errorf("no database %q to run on again (-db): %v", name, err)
	}
	u, _ := url.Parse(rawURL)
	u.Path = "/" + name
	return &scratch{admin: admin, name: name, url: u.String()}, nil
}

// drop removes the scratch database, ending the connections still on it.
func (s *scratch) drop() error {
	defer s.admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := s.admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(s.name)+" WITH (FORCE)")
	return err
}

// serverBinary builds the real server into dir and returns its path.
func serverBinary(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "estatecrm")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./server")
	cmd.Dir = moduleRoot()
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build the server: %w", err)
	}
	return bin, nil
}

// moduleRoot is the directory of go.mod, so that the command runs from
// anywhere in the repository.
func moduleRoot() string {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" || strings.TrimSpace(string(out)) == os.DevNull {
		return "."
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

// server is the real server running as a child process.
type server struct {
	cmd  *exec.Cmd
	url  string // its GraphQL endpoint
	done chan error
}

// serverEnv is the environment of every run of the server binary.
func serverEnv(dbURL, secret, dir string, extra ...string) []string {
	env := append(os.Environ(),
		"DATABASE_URL="+dbURL,
		"JWT_SECRET="+secret,
		"PHOTO_DIR="+filepath.Join(dir, "photos"),
		"UPLOAD_DIR="+dir,
		"LOG_LEVEL=warn",
		// One agent's phone sends every request of the benchmark: the
		// per-user and per-address budgets would measure the throttle.
		"USER_RATE_LIMIT=0",
		"ANONYMOUS_RATE_LIMIT=0",
	)
	return append(env, extra...)
}

// runOnce runs a one-shot command of the server binary (migrate, seed).
func runOnce(ctx context.Context, bin string, env []string, args ...string) error {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("server %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// startServer starts the server binary on a free loopback port and waits
// until it answers /healthz.
func startServer(ctx context.Context, bin string, env []string) (*server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(env, "ADDR="+addr)
	cmd.Stdout, cmd.Stderr = nil, os.Stderr // the banner is noise here; warnings are not
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, url: "http://" + addr + "/query", done: make(chan error, 1)}
	go func() { s.done <- cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case err := <-s.done:
			return nil, fmt.Errorf("the server stopped at start: %v", err)
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, errors.New("the server did not answer /healthz within 60 s")
		}
	}
}

// pid is the server's process id.
func (s *server) pid() int { return s.cmd.Process.Pid }

// stop asks the server to shut down and kills it if it has not within 10 s.
func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}
