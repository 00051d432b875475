package devcluster_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/twelvefactor/twelvefactor-operator/internal/devcluster"
)

// children lists the PIDs whose parent is pid.
func children(pid int) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(fields) > 1 {
			if ppid, _ := strconv.Atoi(fields[1]); ppid == pid {
				out = append(out, n)
			}
		}
	}
	return out
}

// TestNoProcessOutlivesAKilledParent starts a cluster in a child process,
// SIGKILLs that process, and checks that every process of the cluster
// (etcd and kube-apiserver included) dies with it.
func TestNoProcessOutlivesAKilledParent(t *testing.T) {
	if os.Getenv("DEVCLUSTER_CHILD") == "1" {
		c, err := devcluster.Start(context.Background(), devcluster.Options{Nodes: 1})
		if err != nil {
			fmt.Println("ERROR", err)
			os.Exit(1)
		}
		_ = c
		fmt.Println("UP")
		time.Sleep(10 * time.Minute)
		return
	}
	if testing.Short() {
		t.Skip("needs the control plane")
	}
	g := NewWithT(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestNoProcessOutlivesAKilledParent$")
	cmd.Env = append(os.Environ(), "DEVCLUSTER_CHILD=1")
	out, err := cmd.StdoutPipe()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cmd.Start()).To(Succeed())
	up := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(out)
		for s.Scan() {
			if strings.HasPrefix(s.Text(), "UP") || strings.HasPrefix(s.Text(), "ERROR") {
				up <- s.Text()
			}
		}
	}()
	g.Eventually(up, 2*time.Minute).Should(Receive(Equal("UP")))
	procs := children(cmd.Process.Pid)
	g.Expect(len(procs)).To(BeNumerically(">=", 5), "etcd, kube-apiserver, controller-manager, scheduler and kwok")
	g.Expect(cmd.Process.Signal(syscall.SIGKILL)).To(Succeed())
	_ = cmd.Wait()
	g.Eventually(func() []int {
		var alive []int
		for _, pid := range procs {
			if syscall.Kill(pid, 0) == nil {
				if stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); !strings.Contains(string(stat), ") Z ") {
					alive = append(alive, pid)
				}
			}
		}
		return alive
	}, 30*time.Second).Should(BeEmpty(), "processes outlived their killed parent")
}
