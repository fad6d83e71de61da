package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// server is the estatecrm binary run as a child process.
type server struct {
	name, bin, addr, dbURL, dir string
	seed                        bool
	cmd                         *exec.Cmd
	exited                      chan struct{}
	log                         *os.File
}

func (s *server) url() string { return "http://" + s.addr + "/query" }

// start starts the server and waits until /readyz answers 200.
func (s *server) start() error {
	if s.log == nil {
		f, err := os.Create(s.dir + "/server-" + s.name + ".log")
		if err != nil {
			return err
		}
		s.log = f
	}
	cmd := exec.Command(s.bin)
	cmd.Env = append(os.Environ(),
		"ADDR="+s.addr, "DATABASE_URL="+s.dbURL, "MIGRATE_ON_START=true", fmt.Sprintf("SEED=%v", s.seed),
		"JWT_SECRET=faults-faults-faults-faults-faults-faults", "PHOTO_DIR="+s.dir+"/photos", "LOG_LEVEL=warn",
		"SHUTDOWN_TIMEOUT=10s", "USER_RATE_LIMIT=0")
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd = cmd
	exited := make(chan struct{})
	s.exited = exited
	go func() { _ = cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(3 * time.Minute) // the first start seeds the demo data
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("server %s exited at start; see %s", s.name, s.log.Name())
		case <-time.After(50 * time.Millisecond):
		}
		res, err := http.Get("http://" + s.addr + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return fmt.Errorf("server %s was not ready within 3 minutes; see %s", s.name, s.log.Name())
}

// kill ends the server with SIGKILL: no shutdown, no cleanup.
func (s *server) kill() error { return s.signal(syscall.SIGKILL) }

// stop ends the server with SIGTERM (a graceful shutdown) and waits for it to exit.
func (s *server) stop() error { return s.signal(syscall.SIGTERM) }

func (s *server) signal(sig syscall.Signal) error {
	if s.cmd == nil || s.cmd.Process == nil {
		return nil
	}
	select {
	case <-s.exited:
		return nil
	default:
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		return err
	}
	select {
	case <-s.exited:
		return nil
	case <-time.After(30 * time.Second):
		return fmt.Errorf("server %s did not exit within 30 s of %v", s.name, sig)
	}
}
