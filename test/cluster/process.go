package cluster

import (
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

var errStopping = errors.New("the cluster is stopping")

// child is a process this package started, in a process group of its own.
type child struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
}

// spawn starts the binary name from the assets directory. It dies with the
// calling process (Pdeathsig) and logs to LogDir/<name>.log.
func (c *Cluster) spawn(name string, args ...string) error {
	log, err := c.logFile(name)
	if err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(c.assets, name), args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}

	c.mu.Lock()
	defer c.mu.Unlock()
	// Checked under the lock so that a concurrent Stop cannot miss this child.
	if c.stopping {
		return errStopping
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", name, err)
	}
	p := &child{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	c.procs = append(c.procs, p)
	return nil
}

// stop sends SIGTERM to the child's process group, then SIGKILL after
// timeout, and waits until the child is reaped.
func (p *child) stop(timeout time.Duration) error {
	pgid := p.cmd.Process.Pid
	select {
	case <-p.done:
		return nil
	default:
	}
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(timeout):
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	select {
	case <-p.done:
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("%s (pid %d) did not exit after SIGKILL", p.name, pgid)
	}
}

// exited reports a child that has ended on its own.
func (c *Cluster) exited() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.procs {
		select {
		case <-p.done:
			return fmt.Errorf("%s exited early (%v); see %s", p.name, p.cmd.ProcessState, filepath.Join(c.LogDir, p.name+".log"))
		default:
		}
	}
	return nil
}
