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
	bin, addr, dbURL, dir string
	cmd                   *exec.Cmd
	log                   *os.File
}

// start starts the server and waits until /readyz answers 200.
func (s *server) start() error {
	if s.log == nil {
		f, err := os.Create(s.dir + "/server.log")
		if err != nil {
			return err
		}
		s.log = f
	}
	cmd := exec.Command(s.bin)
	cmd.Env = append(os.Environ(),
		"ADDR="+s.addr, "DATABASE_URL="+s.dbURL, "MIGRATE_ON_START=true", "SEED=true",
		"JWT_SECRET=faults-faults-faults-faults-faults-faults", "PHOTO_DIR="+s.dir+"/photos", "LOG_LEVEL=warn")
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd = cmd
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(3 * time.Minute) // the first start seeds the demo data
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("the server exited at start (%v); see %s", err, s.log.Name())
		case <-time.After(100 * time.Millisecond):
		}
		res, err := http.Get("http://" + s.addr + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				go func() { <-exited }()
				return nil
			}
		}
	}
	return fmt.Errorf("the server was not ready within 3 minutes; see %s", s.log.Name())
}

// kill ends the server with SIGKILL: no shutdown, no cleanup.
func (s *server) kill() error {
	return s.signal(syscall.SIGKILL)
}

// stop ends the server with SIGTERM.
func (s *server) stop() error {
	return s.signal(syscall.SIGTERM)
}

func (s *server) signal(sig syscall.Signal) error {
	if s.cmd == nil || s.cmd.Process == nil {
		return nil
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		return err
	}
	// The process is reaped by start's goroutine; wait until the port is free.
	for range 100 {
		if _, err := http.Get("http://" + s.addr + "/healthz"); err != nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("the server at %s did not stop", s.addr)
}
