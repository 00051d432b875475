package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// appController is the name of the TwelveFactorApp controller in metrics.
const appController = "twelvefactorapp"

// managerProc is the operator, run as a child process built from ./cmd/manager,
// so that its peak RSS is its own.
type managerProc struct {
	cmd        *exec.Cmd
	done       chan struct{}
	metricsURL string
	log        *os.File
}

// buildManager builds ./cmd/manager into dir.
func buildManager(root, dir string) (string, error) {
	bin := filepath.Join(dir, "manager")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/manager")
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building ./cmd/manager: %w", err)
	}
	return bin, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startManager runs the manager with the admin kubeconfig and its metrics on a
// free loopback port, and waits until the metrics endpoint answers.
func startManager(ctx context.Context, bin, kubeconfig, logPath string, extra, env []string) (*managerProc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	args := append([]string{"--kubeconfig=" + kubeconfig,
		"--metrics-bind-address=127.0.0.1:" + strconv.Itoa(port),
		"--health-probe-bind-address=0"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, err
	}
	m := &managerProc{cmd: cmd, done: make(chan struct{}), log: log,
		metricsURL: fmt.Sprintf("http://127.0.0.1:%d/metrics", port)}
	go func() { _ = cmd.Wait(); close(m.done) }()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-m.done:
			return nil, fmt.Errorf("the manager exited at start; see %s", logPath)
		default:
		}
		if _, err := managerStats(ctx, m.metricsURL); err == nil {
			return m, nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	m.stop()
	return nil, fmt.Errorf("the manager's metrics endpoint did not answer within 60s; see %s", logPath)
}

// peakRSS returns the process's VmHWM in bytes.
func peakRSS(pid int) (int64, error) {
	return procStatus(pid, "VmHWM:")
}

func procStatus(pid int, field string) (int64, error) {
	path := "/proc/self/status"
	if pid != 0 {
		path = fmt.Sprintf("/proc/%d/status", pid)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, field) {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, err := strconv.ParseInt(f[1], 10, 64)
				return kb * 1024, err
			}
		}
	}
	return 0, fmt.Errorf("%s not in %s", field, path)
}

func (m *managerProc) peakRSS() (int64, error) { return peakRSS(m.cmd.Process.Pid) }

// stop sends SIGTERM and waits for a graceful stop (SIGKILL after 40s).
func (m *managerProc) stop() {
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.done:
	case <-time.After(40 * time.Second):
		_ = m.cmd.Process.Kill()
		<-m.done
	}
	m.log.Close()
}

// waitSettled waits until the app controller has run at least min reconciles,
// its queue is empty and its reconcile count has not moved for quiet.
func (m *managerProc) waitSettled(ctx context.Context, min float64, quiet, max time.Duration) (reconcileStats, time.Duration, error) {
	start := time.Now()
	var last reconcileStats
	stableSince := time.Now()
	for time.Since(start) < max {
		st, err := managerStats(ctx, m.metricsURL)
		if err != nil {
			return st, 0, err
		}
		if st.total != last.total || st.depth > 0 || st.total < min {
			stableSince = time.Now()
		}
		last = st
		if time.Since(stableSince) >= quiet {
			return st, time.Since(start), nil
		}
		select {
		case <-ctx.Done():
			return st, 0, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	return last, time.Since(start), fmt.Errorf("reconciles did not settle within %s (%v done)", max, last.total)
}
