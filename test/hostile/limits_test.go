package hostile

import (
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/utils/ptr"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/release"
	"github.com/twelvefactor/twelvefactor-operator/internal/render"
)

// TestLimitsAndAdminRuns: the longest names the API admits derive valid
// names everywhere, and an AdminRun never runs from a release Secret that is
// not the release's.
func TestLimitsAndAdminRuns(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"LongestNamesDeriveValidNames", testLongestNamesDeriveValidNames},
		{"AdminRunFromAReplacedSecretFails", testAdminRunFromAReplacedSecretFails},
		{"AdminRunFromAMissingSecretOfAnOldReleaseFails", testAdminRunFromAMissingSecretFails},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t)
		})
	}
}

// name returns a DNS label of n characters that starts with prefix.
func name(prefix string, n int) string {
	return prefix + strings.Repeat("x", n-len(prefix))
}

// testLongestNamesDeriveValidNames: a 40-character app, a 20-character
// process with a port and two replicas, a 40-character binding and a
// 52-character AdminRun (each the API's maximum): every derived object is
// made and the app is Ready; the run succeeds.
func testLongestNamesDeriveValidNames(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	appName, process, binding, run := name("app", 40), name("proc", 20), name("bind", 40), name("run", 52)
	app := withBinding(newApp(ns, appName), binding)
	app.Spec.Processes[0].Name = process
	app.Spec.Release = &tfv1.ReleasePhaseSpec{Command: []string{"migrate"}}
	create(t, dbSecret(ns), app)
	waitReady(t, ns, appName, 1)
	g.Eventually(func(g Gomega) {
		expectServing(g, ns, appName, process, 1, 2)
		svc := service(g, ns, release.ProcessName(appName, process))
		g.Expect(len(svc.Name)).To(Equal(61))
		secret(g, ns, release.BindingSecretName(appName, 1, binding))
	}, timeout).Should(Succeed())

	create(t, &tfv1.AdminRun{ObjectMeta: objectMeta(ns, run), Spec: tfv1.AdminRunSpec{App: appName, Command: []string{"rake", "x"}}})
	g.Eventually(func(g Gomega) {
		r := getRun(g, ns, run)
		g.Expect(r.Status.Phase).To(Equal(tfv1.PhaseSucceeded))
		g.Expect(meta.IsStatusConditionTrue(r.Status.Conditions, tfv1.ConditionSucceeded)).To(BeTrue())
	}, timeout).Should(Succeed())
	job := &batchv1.Job{}
	g.Expect(cluster.Client.Get(ctx(), objectKey(ns, render.AdminJobName(run)), job)).To(Succeed())
	expectControlledBy(g, job, getRun(g, ns, run))
	expectOperatorSecretsOnly(g, ns, appName, job.Spec.Template.Spec)
}

// expectRunFails waits until the run fails with reason, and checks that it
// made no Job and no pod, and never succeeds.
func expectRunFails(t *testing.T, ns, run, app, reason, msg string) {
	t.Helper()
	g := NewWithT(t)
	g.Eventually(func(g Gomega) {
		r := getRun(g, ns, run)
		g.Expect(r.Status.Phase).To(Equal(tfv1.PhaseFailed))
		c := meta.FindStatusCondition(r.Status.Conditions, tfv1.ConditionFailed)
		g.Expect(c).NotTo(BeNil())
		g.Expect(string(c.Status) + "/" + c.Reason).To(Equal("True/" + reason))
		g.Expect(c.Message).To(ContainSubstring(msg))
	}, timeout).Should(Succeed())
	g.Consistently(func(g Gomega) {
		r := getRun(g, ns, run)
		g.Expect(r.Status.Phase).To(Equal(tfv1.PhaseFailed))
		g.Expect(r.Status.JobName).To(BeEmpty())
		g.Expect(meta.FindStatusCondition(r.Status.Conditions, tfv1.ConditionSucceeded)).To(BeNil())
		expectGone(g, &batchv1.Job{ObjectMeta: objectMeta(ns, render.AdminJobName(run))})
		g.Expect(appPods(g, ns, app, map[string]string{tfv1.LabelProcess: "run"})).To(BeEmpty())
	}, 3*time.Second, 250*time.Millisecond).Should(Succeed())
}

// testAdminRunFromAReplacedSecretFails: the running release's env Secret is
// replaced with other data; an AdminRun of that release fails and starts no
// pod.
func testAdminRunFromAReplacedSecretFails(t *testing.T) {
	ns := deployed(t)
	replaceSecret(t, ns, "shop-v1-env", func(s *corev1.Secret) { s.Data["LOG_LEVEL"] = []byte("evil") })
	create(t, &tfv1.AdminRun{ObjectMeta: objectMeta(ns, "console"), Spec: tfv1.AdminRunSpec{App: "shop", Command: []string{"env"}}})
	expectRunFails(t, ns, "console", "shop", tfv1.ReasonReleaseSecretAltered, `Secret "shop-v1-env" of release v1 does not hold the data`)
}

// testAdminRunFromAMissingSecretFails: an AdminRun of release 1, whose env
// Secret was deleted after release 2 rolled out, fails and starts no pod.
func testAdminRunFromAMissingSecretFails(t *testing.T) {
	g := NewWithT(t)
	ns := deployed(t)
	update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) { a.Spec.Config.Env[0].Value = "debug" })
	waitReady(t, ns, "shop", 2)
	g.Expect(cluster.Client.Delete(ctx(), secret(g, ns, "shop-v1-env"))).To(Succeed())
	create(t, &tfv1.AdminRun{ObjectMeta: objectMeta(ns, "console"),
		Spec: tfv1.AdminRunSpec{App: "shop", Release: ptr.To[int32](1), Command: []string{"env"}}})
	expectRunFails(t, ns, "console", "shop", tfv1.ReasonReleaseSecretMissing, `Secret "shop-v1-env" of release v1 is gone`)
}
