package plugin

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
)

// NewRunCommand runs a one-off admin process, like `heroku run`: it creates an
// AdminRun, reports its progress, streams the pod's logs when it can, and
// exits with the run's result.
func NewRunCommand(o *Options) *cobra.Command {
	var (
		rel     int32
		serial  bool
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "run APP -- COMMAND [ARG...]",
		Short: "Run a one-off admin process from a release (an AdminRun)",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := o.connect()
			if err != nil {
				return err
			}
			run := &tfv1.AdminRun{
				ObjectMeta: metav1.ObjectMeta{GenerateName: args[0] + "-run-", Namespace: s.namespace},
				Spec:       tfv1.AdminRunSpec{App: args[0], Command: args[1:], Serial: serial},
			}
			if rel > 0 {
				run.Spec.Release = &rel
			}
			if err := s.Create(cmd.Context(), run); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Running %v on %s as adminrun/%s\n", run.Spec.Command, args[0], run.Name)
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			return s.follow(ctx, o, run, out, cmd.ErrOrStderr())
		},
	}
	cmd.Flags().Int32Var(&rel, "release", 0, "release number to run (default: the current release)")
	cmd.Flags().BoolVar(&serial, "serial", false, "wait while another serial run of the app is active")
	cmd.Flags().DurationVar(&timeout, "timeout", 30*time.Minute, "how long to wait for the run to finish")
	return cmd
}

// follow polls the run, prints each change of state, streams logs once, and
// returns an exit error unless the run succeeded.
func (s *session) follow(ctx context.Context, o *Options, run *tfv1.AdminRun, out, errOut io.Writer) error {
	last, streamed := "", false
	for {
		cur := &tfv1.AdminRun{}
		if err := s.Get(ctx, client.ObjectKeyFromObject(run), cur); err != nil {
			return err
		}
		state := string(cur.Status.Phase)
		if w := meta.FindStatusCondition(cur.Status.Conditions, tfv1.ConditionWaiting); w != nil && w.Status == metav1.ConditionTrue && cur.Status.JobName == "" {
			state = "Waiting: " + w.Message
		}
		if state != "" && state != last {
			fmt.Fprintf(out, "  %s (release v%d)\n", state, cur.Status.Release)
			last = state
		}
		if !streamed && cur.Status.PodName != "" && cur.Status.Phase == tfv1.PhaseRunning {
			streamed = s.streamLogs(ctx, o, cur.Status.PodName, out, errOut)
		}
		switch cur.Status.Phase {
		case tfv1.PhaseSucceeded:
			fmt.Fprintln(out, "Run succeeded")
			return nil
		case tfv1.PhaseFailed:
			msg := "the run failed"
			if c := meta.FindStatusCondition(cur.Status.Conditions, tfv1.ConditionFailed); c != nil {
				msg = c.Message
			}
			fmt.Fprintln(errOut, "Run failed:", msg)
			return exitError{code: ExitFail}
		}
		select {
		case <-ctx.Done():
			fmt.Fprintf(errOut, "Gave up waiting for adminrun/%s: %v\n", run.Name, ctx.Err())
			return exitError{code: ExitError}
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// streamLogs follows the pod's logs. Without a kubelet (a simulated cluster)
// there are none; that is reported and the run is still followed.
func (s *session) streamLogs(ctx context.Context, o *Options, pod string, out, errOut io.Writer) bool {
	cfg, err := o.ConfigFlags.ToRESTConfig()
	if err != nil {
		return true
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return true
	}
	stream, err := cs.CoreV1().Pods(s.namespace).GetLogs(pod, &corev1.PodLogOptions{Follow: true}).Stream(ctx)
	if err != nil {
		fmt.Fprintf(errOut, "  (no logs from pod %s: %v)\n", pod, err)
		return true
	}
	defer stream.Close()
	_, _ = io.Copy(out, stream)
	return true
}
