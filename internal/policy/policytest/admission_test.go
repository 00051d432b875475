package policytest_test

// The agreement test: every rule fixture goes through the
// ValidatingAdmissionPolicies in config/policy on a real kube-apiserver
// (envtest) and through the Go rules, and the two must agree, message for
// message.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/policy"
	"github.com/twelvefactor/twelvefactor-operator/internal/policy/policytest"
	"github.com/twelvefactor/twelvefactor-operator/internal/scheme"
	"github.com/twelvefactor/twelvefactor-operator/internal/testenv"
)

const (
	policyName     = "twelvefactor-policy"
	advisoryName   = "twelvefactor-advisory"
	enforceBinding = "twelvefactor-policy-enforce"
	warnBinding    = "twelvefactor-policy-warn"

	nsEnforce    = "policy-enforce"
	nsWarn       = "policy-warn"
	nsUnlabelled = "policy-unlabelled"
)

var (
	env *testenv.Env
	// wc is a client whose requests collect the apiserver's warnings into the
	// collector in their context.
	wc client.Client
)

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	var err error
	env, err = testenv.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	err = setup()
	code := 1
	if err == nil {
		code = m.Run()
	} else {
		fmt.Fprintln(os.Stderr, "setup:", err)
	}
	_ = env.Stop()
	os.Exit(code)
}

// setup installs config/policy, creates one namespace per mode and waits
// until every binding acts.
func setup() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	cfg := rest.CopyConfig(env.Config)
	cfg.WarningHandler = nil
	cfg.WarningHandlerWithContext = collectWarnings{}
	var err error
	wc, err = client.New(cfg, client.Options{Scheme: scheme.New()})
	if err != nil {
		return err
	}

	objs, err := policytest.AdmissionPolicy(filepath.Join(testenv.RepoRoot(), "config", "policy"))
	if err != nil {
		return err
	}
	for _, o := range objs {
		if err := env.Client.Create(ctx, o); err != nil {
			return fmt.Errorf("installing %s: %w", o.GetName(), err)
		}
	}
	for ns, mode := range map[string]string{nsEnforce: tfv1.PolicyEnforce, nsWarn: tfv1.PolicyWarn, nsUnlabelled: ""} {
		n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}
		if mode != "" {
			n.Labels = map[string]string{tfv1.LabelPolicy: mode}
		}
		if err := env.Client.Create(ctx, n); err != nil {
			return err
		}
	}

	// The policies are type-checked and the bindings picked up
	// asynchronously: wait until a known-bad app is denied in the enforce
	// namespace and warned about in the warn namespace, by both policies.
	bad := policytest.App()
	bad.Spec.Build.Image = "shop:latest"
	bad.Spec.Processes[0].Replicas = nil
	for {
		_, denyErr := dryRunCreate(ctx, nsEnforce, bad)
		warnings, warnErr := dryRunCreate(ctx, nsWarn, bad)
		if denyErr != nil && strings.Contains(denyErr.Error(), "denied request") && warnErr == nil &&
			len(warnings.of(policyName)) > 0 && len(warnings.of(advisoryName)) > 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the policy did not become active: enforce: %v, warn: %v %v", denyErr, warnings, warnErr)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

type warningsKey struct{}

// warning is one ValidatingAdmissionPolicy warning, parsed.
type warning struct{ policy, binding, message string }

type warnings []warning

// of returns the messages of the warnings from one policy.
func (ws warnings) of(policy string) []string {
	var out []string
	for _, w := range ws {
		if w.policy == policy {
			out = append(out, w.message)
		}
	}
	return out
}

type collector struct {
	mu sync.Mutex
	ws warnings
}

var vapWarning = regexp.MustCompile(`^Validation failed for ValidatingAdmissionPolicy '([^']+)' with binding '([^']+)': (.*)$`)

// collectWarnings is a rest.WarningHandlerWithContext that appends each
// warning to the collector in the request's context.
type collectWarnings struct{}

func (collectWarnings) HandleWarningHeaderWithContext(ctx context.Context, _ int, _ string, text string) {
	c, ok := ctx.Value(warningsKey{}).(*collector)
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if m := vapWarning.FindStringSubmatch(text); m != nil {
		c.ws = append(c.ws, warning{policy: m[1], binding: m[2], message: m[3]})
	} else {
		c.ws = append(c.ws, warning{message: text})
	}
}

// dryRunCreate creates app in ns with a server-side dry run and returns the
// warnings of the response.
func dryRunCreate(ctx context.Context, ns string, app *tfv1.TwelveFactorApp) (warnings, error) {
	a := app.DeepCopy()
	a.Namespace = ns
	c := &collector{}
	err := wc.Create(context.WithValue(ctx, warningsKey{}, c), a, client.DryRunAll)
	return c.ws, err
}

// expected is what admission must say about an app, from the Go rules.
type expected struct {
	fail, warn []string
}

func expect(app *tfv1.TwelveFactorApp) expected {
	var e expected
	for _, f := range policy.StaticFindings(app) {
		if f.Rule.Status == tfv1.FactorFail {
			e.fail = append(e.fail, f.Message)
		} else {
			e.warn = append(e.warn, f.Message)
		}
	}
	return e
}

// assertAgreement runs app through admission in each namespace and checks
// that the apiserver says exactly what the static Go rules say.
func assertAgreement(g Gomega, app *tfv1.TwelveFactorApp) {
	ctx := context.Background()
	want := expect(app)

	// Outside enforce namespaces every failing rule is a warning, and the app
	// is admitted.
	for _, ns := range []string{nsWarn, nsUnlabelled} {
		ws, err := dryRunCreate(ctx, ns, app)
		g.Expect(err).NotTo(HaveOccurred(), "namespace %s", ns)
		g.Expect(ws.of(policyName)).To(Equal(want.fail), "failing rules warned in namespace %s", ns)
		g.Expect(ws.of(advisoryName)).To(Equal(want.warn), "warning rules in namespace %s", ns)
		for _, w := range ws {
			g.Expect(w.binding).To(BeElementOf(warnBinding, advisoryName), "unexpected warning %+v", w)
		}
	}

	// In an enforce namespace the first failing rule denies the app.
	ws, err := dryRunCreate(ctx, nsEnforce, app)
	if len(want.fail) == 0 {
		g.Expect(err).NotTo(HaveOccurred(), "a passing app is admitted in the enforce namespace")
		g.Expect(ws.of(policyName)).To(BeEmpty())
		g.Expect(ws.of(advisoryName)).To(Equal(want.warn), "warning rules in the enforce namespace")
		return
	}
	g.Expect(err).To(HaveOccurred(), "a failing app is denied in the enforce namespace")
	g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "denial is Invalid: %v", err)
	g.Expect(err.Error()).To(HaveSuffix(fmt.Sprintf("ValidatingAdmissionPolicy '%s' with binding '%s' denied request: %s",
		policyName, enforceBinding, want.fail[0])))
}

func TestAdmissionAgreesWithTheGoRulesOnEveryFixture(t *testing.T) {
	testenv.SkipIfShort(t)
	for _, f := range policytest.Fixtures() {
		t.Run(f.Name, func(t *testing.T) {
			assertAgreement(NewWithT(t), f.App)
		})
	}
}

func TestEveryStaticRuleIsCoveredByTheAgreementFixtures(t *testing.T) {
	g := NewWithT(t)
	fired := map[string]bool{}
	for _, f := range policytest.Fixtures() {
		for _, x := range policy.StaticFindings(f.App) {
			fired[x.Rule.Reason] = true
		}
	}
	for _, r := range policy.Rules() {
		if r.Static {
			g.Expect(fired).To(HaveKey(r.Reason))
		}
	}
}

func TestTheSampleAppIsAdmittedInEnforceNamespaces(t *testing.T) {
	testenv.SkipIfShort(t)
	g := NewWithT(t)
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "samples", "twelvefactor_v1alpha1_twelvefactorapp.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	first, _, _ := strings.Cut(string(b), "\n---")
	app := &tfv1.TwelveFactorApp{}
	g.Expect(yaml.UnmarshalStrict([]byte(first), app)).To(Succeed())
	g.Expect(app.Kind).To(Equal("TwelveFactorApp"))
	assertAgreement(g, app)
	g.Expect(policy.StaticFindings(app)).To(BeEmpty())
}

// The apiserver evaluates the CEL untyped; type-checking against the CRD's
// schema is done by kube-controller-manager's
// validatingadmissionpolicy-status-controller, which reports into the
// policies' status. Run just that controller.
func TestThePoliciesTypeCheckAgainstTheCRD(t *testing.T) {
	testenv.SkipIfShort(t)
	g := NewWithT(t)
	startStatusController(t)
	for _, name := range []string{policyName, advisoryName} {
		vap := &admissionregistrationv1.ValidatingAdmissionPolicy{}
		g.Eventually(func(g Gomega) {
			g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Name: name}, vap)).To(Succeed())
			g.Expect(vap.Status.ObservedGeneration).To(Equal(vap.Generation))
		}).WithTimeout(time.Minute).Should(Succeed())
		g.Expect(vap.Status.TypeChecking).NotTo(BeNil())
		g.Expect(vap.Status.TypeChecking.ExpressionWarnings).To(BeEmpty(), "policy %s", name)
	}
}

func startStatusController(t *testing.T) {
	t.Helper()
	bin := filepath.Join(testenv.AssetsDir(), "kube-controller-manager")
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("kube-controller-manager is missing in %s: run 'make controlplane'", testenv.AssetsDir())
	}
	user, err := env.ControlPlane.AddUser(envtest.User{Name: "policy-status", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	cmd := exec.Command(bin, "--kubeconfig="+path, "--secure-port=0", "--leader-elect=false",
		"--controllers=validatingadmissionpolicy-status-controller")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("kube-controller-manager output:\n%s", logs.String())
		}
	})
}

// An app created before its namespace was set to enforce keeps working: only
// changes to its spec are checked, so metadata updates (finalizers, labels)
// still go through, while a spec change must fix the failure.
func TestOnlySpecChangesAreCheckedOnUpdate(t *testing.T) {
	testenv.SkipIfShort(t)
	g := NewWithT(t)
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "policy-relabelled", Labels: map[string]string{tfv1.LabelPolicy: tfv1.PolicyWarn}}}
	g.Expect(env.Client.Create(ctx, ns)).To(Succeed())

	app := policytest.App()
	app.Namespace = ns.Name
	app.Spec.Build.Image = "ghcr.io/acme/shop:latest"
	g.Expect(wc.Create(ctx, app)).To(Succeed())

	ns.Labels[tfv1.LabelPolicy] = tfv1.PolicyEnforce
	g.Expect(env.Client.Update(ctx, ns)).To(Succeed())

	// A spec change that keeps the failure is denied once the label is seen.
	g.Eventually(func() error {
		latest := &tfv1.TwelveFactorApp{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(app), latest); err != nil {
			return err
		}
		latest.Spec.Config.Env = append(latest.Spec.Config.Env, tfv1.EnvVar{Name: "FEATURE_X", Value: "on"})
		err := env.Client.Update(ctx, latest, client.DryRunAll)
		if err == nil {
			return errors.New("spec update of a failing app was admitted in an enforce namespace")
		}
		if !strings.Contains(err.Error(), policy.ReasonImageNotPinned) && !strings.Contains(err.Error(), "spec.build.image is not pinned") {
			return err
		}
		return nil
	}).WithTimeout(30 * time.Second).Should(Succeed())

	// Metadata-only updates are admitted.
	latest := &tfv1.TwelveFactorApp{}
	g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(app), latest)).To(Succeed())
	latest.Finalizers = append(latest.Finalizers, "example.com/hold")
	latest.Labels = map[string]string{"team": "checkout"}
	g.Expect(env.Client.Update(ctx, latest)).To(Succeed())

	// A spec change that fixes the failure is admitted.
	latest.Spec.Build.Image = "ghcr.io/acme/shop:1.4.2"
	latest.Finalizers = nil
	g.Expect(env.Client.Update(ctx, latest)).To(Succeed())
}

// The largest app the CRD allows must stay within the apiserver's CEL cost
// budget; otherwise admission would fail closed with a cost error instead of
// agreeing with the Go rules.
func TestTheLargestAppStaysWithinTheCELCostBudget(t *testing.T) {
	testenv.SkipIfShort(t)
	g := NewWithT(t)
	app := policytest.App()
	app.Spec.Config.Env = nil
	long := func(head, tail string) string { return head + strings.Repeat("x", 4096-len(head)-len(tail)) + tail }
	for _, name := range policy.EnvironmentGroupNames {
		app.Spec.Config.Env = append(app.Spec.Config.Env, tfv1.EnvVar{Name: name, Value: long("production.", ".settings")})
	}
	for i := len(app.Spec.Config.Env); i < 256; i++ {
		// Every value is a URL with credentials that also names a log file,
		// under a name that looks like a secret and a log file.
		app.Spec.Config.Env = append(app.Spec.Config.Env, tfv1.EnvVar{
			Name:  fmt.Sprintf("APP_%03d_LOG_FILE_TOKEN", i),
			Value: long("postgres://user:pass@db/", ".log"),
		})
	}
	var procs []tfv1.ProcessSpec
	for i := range 16 {
		procs = append(procs, tfv1.ProcessSpec{Name: fmt.Sprintf("p%d", i), Port: ptr.To[int32](8080)})
	}
	app.Spec.Processes = procs
	g.Expect(app.Spec.Config.Env[255].Value).To(HaveLen(4096))
	g.Expect(reasons(policy.StaticFindings(app))).To(Equal([]string{
		policy.ReasonSecretInLiteral, policy.ReasonEnvironmentGroup, policy.ReasonCredentialsInURL,
		policy.ReasonSingleReplica, policy.ReasonLogToFile,
	}))
	assertAgreement(g, app)
}

func reasons(fs []policy.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Rule.Reason)
	}
	return out
}
