package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/release"
	"github.com/twelvefactor/twelvefactor-operator/internal/render"
	"github.com/twelvefactor/twelvefactor-operator/internal/testenv"
)

const (
	image      = "registry.example/shop@sha256:0000000000000000000000000000000000000000000000000000000000000001"
	sharedName = "shared"
	// floorManagedBy replaces app.kubernetes.io/managed-by on the floor's
	// objects, so the operator's label-filtered caches do not hold them.
	floorManagedBy = "twelvefactor-bench-floor"
	labelAppName   = "app.kubernetes.io/name"
	labelConfig    = "bench.twelvefactor.dev/config"
)

func appName(i int) string { return fmt.Sprintf("app-%04d", i) }

// writer is the benchmark's own client. It counts every write it sends, by
// resource, so that they can be told apart from the operator's.
type writer struct {
	c  client.Client
	mu sync.Mutex
	w  writes
}

func newWriter(c client.Client) *writer { return &writer{c: c, w: writes{}} }

func (w *writer) count(key string) {
	w.mu.Lock()
	w.w.add(key, 1)
	w.mu.Unlock()
}

// own returns the writes sent so far.
func (w *writer) own() writes {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := writes{}
	for k, v := range w.w {
		out[k] = v
	}
	return out
}

// retry runs a write until it succeeds, a few times on transient errors;
// every attempt is counted, as the API server counts it.
func (w *writer) retry(key string, fn func() error) error {
	var err error
	for attempt := 0; attempt < 6; attempt++ {
		w.count(key)
		if err = fn(); err == nil {
			return nil
		}
		if apierrors.IsAlreadyExists(err) || apierrors.IsInvalid(err) || apierrors.IsForbidden(err) ||
			errors.Is(err, context.Canceled) {
			return err
		}
		if attempt == 2 {
			logf("    retrying a write to %s: %v", key, err)
		}
		time.Sleep(time.Duration(attempt+1) * 200 * time.Millisecond)
	}
	return err
}

func (w *writer) create(ctx context.Context, key string, obj client.Object) error {
	return w.retry(key, func() error { return w.c.Create(ctx, obj) })
}

func (w *writer) apply(ctx context.Context, key string, ac runtime.ApplyConfiguration) error {
	return w.retry(key, func() error {
		return w.c.Apply(ctx, ac, client.FieldOwner("twelvefactor-bench"), client.ForceOwnership)
	})
}

func (w *writer) patch(ctx context.Context, key string, obj client.Object, p client.Patch) error {
	return w.retry(key, func() error { return w.c.Patch(ctx, obj, p) })
}

// parallel runs fn for 0..n-1 with at most conc at a time.
func parallel(ctx context.Context, n, conc int, fn func(ctx context.Context, i int) error) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(conc)
	for i := range n {
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				return err
			}
			return fn(ctx, i)
		})
	}
	return g.Wait()
}

// configData is the data of an app's own ConfigMap and Secret, and of the
// shared ConfigMap at a version.
func appConfigData(i int) map[string]string {
	return map[string]string{"LOG_LEVEL": "info", "WEB_CONCURRENCY": "2", "APP_INDEX": strconv.Itoa(i)}
}

func appSecretData(i int) map[string][]byte {
	return map[string][]byte{"API_KEY": fmt.Appendf(nil, "key-%08d", i), "DATABASE_PASSWORD": []byte("s3cr3t")}
}

func sharedData(version int) map[string]string {
	return map[string]string{"SHARED_VERSION": strconv.Itoa(version), "REGION": "eu-1"}
}

func configObjects(ns string, i int) (*corev1.ConfigMap, *corev1.Secret) {
	name := appName(i)
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name + "-config", Namespace: ns}, Data: appConfigData(i)},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name + "-secrets", Namespace: ns}, Data: appSecretData(i)}
}

func sharedConfigMap(ns string, version int) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: sharedName, Namespace: ns}, Data: sharedData(version)}
}

// newApp is one benchmark app: web (port 8080) and worker, one replica each,
// reading the shared ConfigMap, its own ConfigMap and its own Secret.
func newApp(ns string, i int) *tfv1.TwelveFactorApp {
	name := appName(i)
	return &tfv1.TwelveFactorApp{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: tfv1.TwelveFactorAppSpec{
			Build: tfv1.BuildSpec{Image: image, Revision: "bench"},
			Config: tfv1.ConfigSpec{EnvFrom: []tfv1.EnvFromSource{
				{ConfigMapRef: &tfv1.LocalObjectReference{Name: sharedName}},
				{ConfigMapRef: &tfv1.LocalObjectReference{Name: name + "-config"}},
				{SecretRef: &tfv1.LocalObjectReference{Name: name + "-secrets"}},
			}},
			Processes: []tfv1.ProcessSpec{
				{Name: "web", Command: []string{"puma"}, Port: ptr.To[int32](8080), Replicas: ptr.To[int32](1)},
				{Name: "worker", Command: []string{"sidekiq"}, Replicas: ptr.To[int32](1)},
			},
		},
	}
}

// appEnv is the environment the operator resolves for app i at a shared version.
func appEnv(i, sharedVersion int) map[string]string {
	env := map[string]string{}
	for k, v := range sharedData(sharedVersion) {
		env[k] = v
	}
	for k, v := range appConfigData(i) {
		env[k] = v
	}
	for k, v := range appSecretData(i) {
		env[k] = string(v)
	}
	return env
}

// floorRelease builds the Release object the operator would create for app i
// at release n, without an owner (the floor has no TwelveFactorApp).
func floorRelease(app *tfv1.TwelveFactorApp, n int32, env map[string]string) *tfv1.Release {
	c := release.Content{Image: image, Revision: "bench", SourceImage: image, Env: env}
	for _, p := range app.Spec.Processes {
		c.Processes = append(c.Processes, tfv1.ReleaseProcess{Name: p.Name, Command: p.Command})
	}
	c.Normalize()
	hash := c.Hash()
	return &tfv1.Release{
		ObjectMeta: metav1.ObjectMeta{
			Name: release.Name(app.Name, n), Namespace: app.Namespace,
			Labels: map[string]string{
				tfv1.LabelApp: app.Name, tfv1.LabelManagedBy: floorManagedBy, tfv1.LabelName: app.Name,
				tfv1.LabelPartOf: app.Name, tfv1.LabelRelease: strconv.Itoa(int(n)),
				tfv1.LabelContentHash: release.ShortHash(hash),
			},
			Annotations: map[string]string{"twelvefactor.dev/source-image": image},
		},
		Spec: tfv1.ReleaseSpec{
			App: app.Name, Number: n, Image: image, Revision: "bench", Processes: c.Processes,
			EnvSecretName: release.EnvSecretName(app.Name, n), ConfigKeys: c.Keys(), ContentHash: hash,
			Description: fmt.Sprintf("Deploy %s", release.ShortDigest(image)),
		},
	}
}

// floorWrite writes directly what the operator writes for app i at release n:
// the Release, its env Secret, both Deployments and (at release 1) the Service.
func floorWrite(ctx context.Context, w *writer, ns string, i int, n int32, sharedVersion int) error {
	app := newApp(ns, i)
	app.UID = types.UID(fmt.Sprintf("floor-%s-%d", ns, i))
	env := appEnv(i, sharedVersion)
	rel := floorRelease(app, n, env)
	if err := w.create(ctx, resKey(tfv1.GroupVersion.Group, "releases", ""), rel); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating %s: %w", rel.Name, err)
	}
	sec := render.EnvSecret(rel, env)
	sec.Labels[tfv1.LabelManagedBy] = floorManagedBy
	if err := w.create(ctx, resKey("", "secrets", ""), sec); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating the env Secret of %s: %w", rel.Name, err)
	}
	return floorWorkloads(ctx, w, app, rel, n == 1)
}

// floorWorkloads applies both Deployments at rel, and the Service when withService.
func floorWorkloads(ctx context.Context, w *writer, app *tfv1.TwelveFactorApp, rel *tfv1.Release, withService bool) error {
	for _, p := range app.Spec.Processes {
		d := render.Deployment(app, rel, p, p.Command)
		d.OwnerReferences = nil
		d.Labels[tfv1.LabelManagedBy] = floorManagedBy
		if err := w.apply(ctx, resKey("apps", "deployments", ""), d); err != nil {
			return fmt.Errorf("applying Deployment %s: %w", *d.Name, err)
		}
		if svc := render.Service(app, p); svc != nil && withService {
			svc.OwnerReferences = nil
			svc.Labels[tfv1.LabelManagedBy] = floorManagedBy
			if err := w.apply(ctx, resKey("", "services", ""), svc); err != nil {
				return fmt.Errorf("applying Service %s: %w", *svc.Name, err)
			}
		}
	}
	return nil
}

// floorRollback applies both Deployments back at release 1.
func floorRollback(ctx context.Context, w *writer, ns string, i int) error {
	app := newApp(ns, i)
	app.UID = types.UID(fmt.Sprintf("floor-%s-%d", ns, i))
	rel := floorRelease(app, 1, appEnv(i, 1))
	return floorWorkloads(ctx, w, app, rel, false)
}

// appsAt counts the apps (grouped by app.kubernetes.io/name) in ns whose
// Deployments, selected by managedBy, all have the pod template label key=want,
// and, with available, have finished rolling out to it.
func appsAt(ctx context.Context, c client.Reader, ns, managedBy, key, want string, perApp int, available bool) (int, error) {
	list := &appsv1.DeploymentList{}
	if err := c.List(ctx, list, client.InNamespace(ns), client.MatchingLabels{tfv1.LabelManagedBy: managedBy}, client.UnsafeDisableDeepCopy); err != nil {
		return 0, err
	}
	ok := map[string]int{}
	for i := range list.Items {
		d := &list.Items[i]
		if d.Spec.Template.Labels[key] != want {
			continue
		}
		if available && !rolledOut(d) {
			continue
		}
		ok[d.Labels[labelAppName]]++
	}
	n := 0
	for _, v := range ok {
		if v >= perApp {
			n++
		}
	}
	return n, nil
}

func rolledOut(d *appsv1.Deployment) bool {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	st := d.Status
	return st.ObservedGeneration >= d.Generation && st.UpdatedReplicas == want &&
		st.AvailableReplicas >= want && st.Replicas == want
}

// appsReady counts the TwelveFactorApps in ns that are Ready at release n.
func appsReady(ctx context.Context, c client.Reader, ns string, n int32) (int, error) {
	list := &tfv1.TwelveFactorAppList{}
	if err := c.List(ctx, list, client.InNamespace(ns), client.UnsafeDisableDeepCopy); err != nil {
		return 0, err
	}
	ready := 0
	for _, a := range list.Items {
		cond := meta.FindStatusCondition(a.Status.Conditions, tfv1.ConditionReady)
		if a.Status.CurrentRelease == n && cond != nil && cond.Status == metav1.ConditionTrue &&
			cond.ObservedGeneration == a.Generation {
			ready++
		}
	}
	return ready, nil
}

// waitFor polls count every interval until it reaches n, and returns the time
// from start. It gives up after max.
func waitFor(ctx context.Context, start time.Time, n int, max time.Duration, what string, count func(context.Context) (int, error)) (time.Duration, error) {
	last := -1
	lastLog := time.Now()
	for {
		got, err := count(ctx)
		if err != nil {
			logf("    %s: %v (retrying)", what, err)
		}
		if got >= n {
			return time.Since(start), nil
		}
		if got != last && time.Since(lastLog) > 10*time.Second {
			logf("    %s: %d/%d after %s", what, got, n, time.Since(start).Round(time.Second))
			lastLog = time.Now()
		}
		last = got
		if time.Since(start) > max {
			return time.Since(start), fmt.Errorf("%s: %d of %d after %s", what, got, n, max)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// watchCache starts an informer cache of the namespaces' Deployments,
// TwelveFactorApps and Secrets (metadata), which the waits read: watches cost
// the API server far less than repeated Lists of thousands of objects, and
// the waits see a change within 200ms.
func watchCache(ctx context.Context, cfg *rest.Config, namespaces ...string) (client.Reader, context.CancelFunc, error) {
	cctx, cancel := context.WithCancel(ctx)
	nsMap := map[string]cache.Config{}
	for _, ns := range namespaces {
		nsMap[ns] = cache.Config{}
	}
	c, err := cache.New(cfg, cache.Options{Scheme: testenv.Scheme(), DefaultNamespaces: nsMap})
	if err != nil {
		cancel()
		return nil, nil, err
	}
	go func() { _ = c.Start(cctx) }()
	sec := &metav1.PartialObjectMetadata{}
	sec.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	for _, o := range []client.Object{&appsv1.Deployment{}, &tfv1.TwelveFactorApp{}, sec} {
		if _, err := c.GetInformer(cctx, o); err != nil {
			cancel()
			return nil, nil, err
		}
	}
	if !c.WaitForCacheSync(cctx) {
		cancel()
		return nil, nil, fmt.Errorf("the benchmark's watch cache did not sync")
	}
	return c, cancel, nil
}
