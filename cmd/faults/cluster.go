package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
)

// cluster is a scratch PostgreSQL cluster of this command's own, on its own
// port and in a temporary directory, so that restarting it touches no
// database anyone else uses.
type cluster struct {
	bin  string // directory of initdb, pg_ctl
	dir  string
	port int
}

// newCluster creates the cluster's files in a new directory under parent.
func newCluster(bin, parent string, port int) (*cluster, error) {
	dir, err := os.MkdirTemp(parent, "pg-")
	if err != nil {
		return nil, err
	}
	c := &cluster{bin: bin, dir: dir, port: port}
	if err := c.own(dir); err != nil {
		return nil, err
	}
	if err := c.run("initdb", "-D", c.data(), "-U", "postgres", "-A", "trust", "--no-sync"); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *cluster) data() string { return filepath.Join(c.dir, "data") }

// URL is where database name of the cluster is reached.
func (c *cluster) URL(name string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, name)
}

func (c *cluster) start() error {
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", c.port, c.dir)
	return c.run("pg_ctl", "-D", c.data(), "-o", opts, "-l", filepath.Join(c.dir, "log"), "-w", "start")
}

// stop stops the server: mode "immediate" is a crash, "fast" a clean stop.
func (c *cluster) stop(mode string) error {
	return c.run("pg_ctl", "-D", c.data(), "-m", mode, "-w", "stop")
}

// remove stops the cluster if it runs and deletes its files.
func (c *cluster) remove() {
	_ = c.stop("immediate")
	_ = os.RemoveAll(c.dir)
}

// run runs a PostgreSQL program as the postgres user: the server refuses
// to run as root.
func (c *cluster) run(prog string, args ...string) error {
	path := filepath.Join(c.bin, prog)
	var cmd *exec.Cmd
	if os.Geteuid() == 0 {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", prog, err, out)
	}
	return nil
}

// own hands dir to the postgres user when we are root.
func (c *cluster) own(dir string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	out, err := exec.Command("id", "-u", "postgres").Output()
	if err != nil {
		return fmt.Errorf("no postgres user: %w", err)
	}
	uid, _ := strconv.Atoi(string(out[:len(out)-1]))
	out, err = exec.Command("id", "-g", "postgres").Output()
	if err != nil {
		return err
	}
	gid, _ := strconv.Atoi(string(out[:len(out)-1]))
	return os.Chown(dir, uid, gid)
}
