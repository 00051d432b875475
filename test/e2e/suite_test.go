package e2e

import (
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/testenv"
)

// canary is a secret value that must never leave its Secrets.
const canary = "canary-e2e-7Hq2xVb9-never-print"

// TestEndToEnd runs every scenario in parallel on the shared simulated
// cluster, then scans the whole run for a leaked secret.
func TestEndToEnd(t *testing.T) {
	testenv.SkipIfShort(t)
	scenarios := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"DeployConfigChangeScaleAndRollback", testDeployConfigChangeScaleAndRollback},
		{"ReleasePhaseCompletesAndTheRolloutFollows", testReleasePhaseCompletesAndTheRolloutFollows},
		{"FailingReleasePhaseBlocksTheRollout", testFailingReleasePhaseBlocksTheRollout},
		{"NeverReadyRolloutIsReportedAndAutoRolledBack", testNeverReadyRolloutIsReportedAndAutoRolledBack},
		{"DeletingTheAppCollectsWhatItOwnedAndNothingElse", testDeletingTheAppCollectsWhatItOwnedAndNothingElse},
		{"DeletingANamespaceWithInUseReleasesCompletes", testDeletingANamespaceWithInUseReleasesCompletes},
		{"AdminRunSucceeds", testAdminRunSucceeds},
		{"StartupTimeIsRecordedAndSlowStartWarns", testStartupTimeIsRecordedAndSlowStartWarns},
		{"ManagerRunsWithLeastPrivilege", testManagerRunsWithLeastPrivilege},
		{"SecretsFlowThroughReleases", testSecretsFlowThroughReleases},
		{"PluginRunSucceedsForReal", testPluginRunSucceedsForReal},
		{"BinarySecretRotationMakesARelease", testBinarySecretRotationMakesARelease},
		{"EnvironmentOverOneMiBIsRefusedUntilShrunk", testEnvironmentOverOneMiBIsRefusedUntilShrunk},
		{"MoreKeysThanAReleaseListsIsRefused", testMoreKeysThanAReleaseListsIsRefused},
		{"LongKeysShortenTheDescription", testLongKeysShortenTheDescription},
		{"MalformedImageReferencesAreRefusedAtAdmission", testMalformedImageReferencesAreRefusedAtAdmission},
		{"PinnedReleaseStaysReadyWhenItsConfigMapGoes", testPinnedReleaseStaysReadyWhenItsConfigMapGoes},
		{"RollbackToAPrunedReleaseStallsAndChangesNothing", testRollbackToAPrunedReleaseStallsAndChangesNothing},
		{"HistoryLimitNeverPrunesThePinnedRelease", testHistoryLimitNeverPrunesThePinnedRelease},
		{"AdminRunPastItsDeadlineFails", testAdminRunPastItsDeadlineFails},
		{"SwitchingANamespaceToWarnReleasesAStalledApp", testSwitchingANamespaceToWarnReleasesAStalledApp},
	}
	t.Run("scenarios", func(t *testing.T) {
		for _, sc := range scenarios {
			t.Run(sc.name, func(t *testing.T) {
				t.Parallel()
				sc.fn(t)
			})
		}
	})
	t.Run("NoSecretLeaks", testNoSecretLeaks)
}

// testSecretsFlowThroughReleases puts the canary in an envFrom Secret, a
// binding, a rotated binding and an admin run.
func testSecretsFlowThroughReleases(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	g.Expect(cluster.Client.Create(ctx(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "shop-secrets", Namespace: ns},
		StringData: map[string]string{"API_TOKEN": canary}})).To(Succeed())
	g.Expect(cluster.Client.Create(ctx(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "shop-db", Namespace: ns},
		StringData: map[string]string{"type": "postgresql", "password": canary, "uri": "postgres://shop:" + canary + "@db/shop"}})).To(Succeed())
	app := newApp(ns, "shop")
	app.Spec.Config.EnvFrom = []tfv1.EnvFromSource{{SecretRef: &tfv1.LocalObjectReference{Name: "shop-secrets"}}}
	app.Spec.Services = []tfv1.BackingService{{Name: "db", SecretRef: &tfv1.LocalObjectReference{Name: "shop-db"},
		Env: []tfv1.BindingEnv{{Name: "DATABASE_URL", Key: "uri"}}}}
	g.Expect(cluster.Client.Create(ctx(), app)).To(Succeed())
	waitReady(t, ns, "shop", 1)

	db := &corev1.Secret{}
	g.Expect(cluster.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "shop-db"}, db)).To(Succeed())
	db.Data["password"] = []byte("rotated-" + canary)
	g.Expect(cluster.Client.Update(ctx(), db)).To(Succeed())
	waitReady(t, ns, "shop", 2)
	// A binding key that does not exist is reported by name, never by value.
	update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) { a.Spec.Services[0].Env[0].Key = "nope" })
	g.Eventually(func(g Gomega) {
		g.Expect(conditionReason(g, ns, "shop", tfv1.ConditionReleased)).To(Equal("False/" + tfv1.ReasonBindingNotReady))
	}, timeout).Should(Succeed())
	run := &tfv1.AdminRun{ObjectMeta: metav1.ObjectMeta{Name: "console", Namespace: ns},
		Spec: tfv1.AdminRunSpec{App: "shop", Command: []string{"env"}}}
	g.Expect(cluster.Client.Create(ctx(), run)).To(Succeed())
	g.Eventually(func(g Gomega) {
		r := &tfv1.AdminRun{}
		g.Expect(cluster.Client.Get(ctx(), client.ObjectKeyFromObject(run), r)).To(Succeed())
		g.Expect(r.Status.Phase).To(Equal(tfv1.PhaseSucceeded))
	}, timeout).Should(Succeed())
}

// testNoSecretLeaks scans, after every scenario, the manager's logs, every
// event, every app's and run's status, and every release for the canary.
func testNoSecretLeaks(t *testing.T) {
	g := NewWithT(t)
	g.Expect(logs.String()).NotTo(BeEmpty())
	g.Expect(logs.String()).NotTo(ContainSubstring(canary), "the manager logged a secret")
	evs := &eventsv1.EventList{}
	g.Expect(cluster.Client.List(ctx(), evs)).To(Succeed())
	g.Expect(evs.Items).NotTo(BeEmpty())
	for _, e := range evs.Items {
		g.Expect(e.Note).NotTo(ContainSubstring(canary), "event %s/%s", e.Namespace, e.Name)
	}
	coreEvs := &corev1.EventList{}
	g.Expect(cluster.Client.List(ctx(), coreEvs)).To(Succeed())
	for _, e := range coreEvs.Items {
		g.Expect(e.Message).NotTo(ContainSubstring(canary), "event %s/%s", e.Namespace, e.Name)
	}
	for _, list := range []client.ObjectList{&tfv1.TwelveFactorAppList{}, &tfv1.ReleaseList{}, &tfv1.AdminRunList{}} {
		g.Expect(cluster.Client.List(ctx(), list)).To(Succeed())
		g.Expect(strings.Contains(toJSON(list), canary)).To(BeFalse(), "a %T holds the secret", list)
	}
}
