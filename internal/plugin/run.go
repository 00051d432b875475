package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
)

// Polling intervals of run. They are variables so tests can shorten them.
var (
	runPollInterval = 500 * time.Millisecond
	logRetryAfter   = 5 * time.Second
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
		Use:   "run APP [flags] -- COMMAND [ARG...]",
		Short: "Run a one-off admin process from a release (an AdminRun) and wait for it",
		Long: "run creates an AdminRun (named APP-run-xxxxx) that runs COMMAND in a Job from a release's image,\n" +
			"config and bindings: the current release, or --release N. It reports the run's progress, streams\n" +
			"the pod's logs once the pod runs, and exits 0 when the run succeeds and 1 when it\n" +
			"fails. --serial waits while another serial run of the app is active, so two migrations never\n" +
			"overlap. When --timeout passes, or on Ctrl-C, the plugin stops waiting (exit 2); the run goes on.",
		Example: "  kubectl twelvefactor run shop -- bin/rails db:migrate\n" +
			"  kubectl twelvefactor run shop --release 4 --serial --timeout 10m -- rake data:backfill",
		Args: func(cmd *cobra.Command, args []string) error {
			if dash := cmd.ArgsLenAtDash(); dash != -1 && dash != 1 {
				return fmt.Errorf("usage: run APP [flags] -- COMMAND [ARG...]: name exactly one app before --")
			}
			if len(args) < 2 {
				return fmt.Errorf("usage: run APP [flags] -- COMMAND [ARG...]: a command is required")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("release") && rel < 1 {
				return fmt.Errorf("--release must be a release number, 1 or more")
			}
			s, err := o.connect()
			if err != nil {
				return err
			}
			app, err := s.app(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			run := &tfv1.AdminRun{
				ObjectMeta: metav1.ObjectMeta{GenerateName: app.Name + "-run-", Namespace: s.namespace},
				Spec:       tfv1.AdminRunSpec{App: app.Name, Command: args[1:], Serial: serial},
			}
			from := "the current release"
			if rel > 0 {
				run.Spec.Release = &rel
				from = fmt.Sprintf("release v%d", rel)
			}
			if err := s.Create(cmd.Context(), run); err != nil {
				return fmt.Errorf("creating an AdminRun for %s: %w", app.Name, err)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Running `%s` on %s from %s as adminrun/%s\n", strings.Join(run.Spec.Command, " "), app.Name, from, run.Name)
			ctx := cmd.Context()
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			return s.follow(ctx, run, out, cmd.ErrOrStderr())
		},
	}
	cmd.Flags().Int32Var(&rel, "release", 0, "release number to run (default: the current release)")
	cmd.Flags().BoolVar(&serial, "serial", false, "wait while another serial run of the app is active")
	cmd.Flags().DurationVar(&timeout, "timeout", 30*time.Minute, "how long to wait for the run to finish (0: no limit)")
	return cmd
}

// follow polls the run until it finishes. It prints each change of state and
// the pod's logs on out, a failure and notes on errOut, and returns an exit
// error unless the run succeeded.
func (s *session) follow(ctx context.Context, run *tfv1.AdminRun, out, errOut io.Writer) error {
	var (
		last      string
		streamed  = map[string]bool{} // pods whose logs were streamed
		noted     = map[string]bool{} // pods whose logs were unavailable
		announced = map[string]bool{} // pods whose name was printed
		retryAt   time.Time
	)
	key := client.ObjectKeyFromObject(run)
	for {
		cur := &tfv1.AdminRun{}
		err := s.Get(ctx, key, cur)
		switch {
		case apierrors.IsNotFound(err):
			return fmt.Errorf("adminrun/%s was deleted before it finished", run.Name)
		case ctx.Err() != nil:
			return s.gaveUp(ctx, run, errOut)
		case err != nil:
			return err
		}
		if state := runState(cur); state != last {
			fmt.Fprintf(out, "  %s\n", state)
			last = state
		}
		if pod := cur.Status.PodName; pod != "" && !announced[pod] {
			fmt.Fprintf(out, "  pod/%s\n", pod)
			announced[pod] = true
		}
		if pod := cur.Status.PodName; pod != "" && !streamed[pod] && time.Now().After(retryAt) {
			ok, err := s.streamLogs(ctx, pod, out)
			switch {
			case ok:
				streamed[pod] = true
			case err != nil:
				if !noted[pod] {
					fmt.Fprintf(errOut, "  (logs of pod %s are not available yet: %v; still waiting for the run)\n", pod, err)
					noted[pod] = true
				}
				retryAt = time.Now().Add(logRetryAfter)
			}
			if ctx.Err() != nil {
				return s.gaveUp(ctx, run, errOut)
			}
			if ok {
				continue // read the state again right away
			}
		}
		switch cur.Status.Phase {
		case tfv1.PhaseSucceeded:
			fmt.Fprintf(out, "Run succeeded: adminrun/%s\n", run.Name)
			return nil
		case tfv1.PhaseFailed:
			msg := "the run failed"
			if c := meta.FindStatusCondition(cur.Status.Conditions, tfv1.ConditionFailed); c != nil && strings.TrimSpace(c.Message) != "" {
				msg = strings.TrimSpace(c.Message)
			}
			fmt.Fprintf(errOut, "Run failed: adminrun/%s: %s\n", run.Name, msg)
			return exitError{code: ExitFail}
		}
		select {
		case <-ctx.Done():
			return s.gaveUp(ctx, run, errOut)
		case <-time.After(runPollInterval):
		}
	}
}

// runState is the progress line of a run: Waiting, Pending or Running.
func runState(run *tfv1.AdminRun) string {
	st := run.Status
	if w := meta.FindStatusCondition(st.Conditions, tfv1.ConditionWaiting); w != nil && w.Status == metav1.ConditionTrue && st.JobName == "" {
		return "Waiting: " + w.Message
	}
	switch st.Phase {
	case "":
		return "Waiting for the operator to start the run"
	case tfv1.PhaseFailed:
		return string(st.Phase)
	default:
		return fmt.Sprintf("%s (release v%d)", st.Phase, st.Release)
	}
}

func (s *session) gaveUp(ctx context.Context, run *tfv1.AdminRun, errOut io.Writer) error {
	why := "interrupted"
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		why = "timed out"
	}
	fmt.Fprintf(errOut, "Stopped waiting (%s); the run goes on: kubectl get adminrun %s -n %s\n", why, run.Name, s.namespace)
	return exitError{code: ExitError}
}

// streamLogs copies the pod's logs to out once its container has started:
// following them while it runs, or all of them once it has finished. It
// returns false with no error while the pod has not started, and an error
// when the logs cannot be read, as in a cluster without kubelets.
func (s *session) streamLogs(ctx context.Context, name string, out io.Writer) (bool, error) {
	pod := &corev1.Pod{}
	if err := s.Get(ctx, client.ObjectKey{Namespace: s.namespace, Name: name}, pod); err != nil {
		return false, client.IgnoreNotFound(err)
	}
	switch pod.Status.Phase {
	case corev1.PodRunning, corev1.PodSucceeded, corev1.PodFailed:
	default:
		return false, nil
	}
	cs, err := kubernetes.NewForConfig(s.rest)
	if err != nil {
		return false, err
	}
	opts := &corev1.PodLogOptions{Follow: pod.Status.Phase == corev1.PodRunning}
	stream, err := cs.CoreV1().Pods(s.namespace).GetLogs(name, opts).Stream(ctx)
	if err != nil {
		return false, err
	}
	defer func() { _ = stream.Close() }()
	// A stream that breaks off is not an error: the run's result still comes.
	_, _ = io.Copy(out, stream)
	return true, nil
}
