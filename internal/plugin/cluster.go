package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/scheme"
)

// session is a connection to the cluster from the standard kubectl flags
// (--kubeconfig, --context, --namespace…).
type session struct {
	client.Client
	rest      *rest.Config
	namespace string
}

func (o *Options) connect() (*session, error) {
	cfg, err := o.ConfigFlags.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	ns, _, err := o.ConfigFlags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme.New()})
	if err != nil {
		return nil, err
	}
	return &session{Client: c, rest: cfg, namespace: ns}, nil
}

// app gets a TwelveFactorApp, with an error that names it and its namespace.
func (s *session) app(ctx context.Context, name string) (*tfv1.TwelveFactorApp, error) {
	app := &tfv1.TwelveFactorApp{}
	if err := s.Get(ctx, client.ObjectKey{Namespace: s.namespace, Name: name}, app); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("app %s not found in namespace %s", name, s.namespace)
		}
		return nil, fmt.Errorf("app %s in namespace %s: %w", name, s.namespace, err)
	}
	return app, nil
}

// Paths into managedFields (fieldsV1) of the fields the plugin sets.
var rollbackToPath = []string{"f:spec", "f:rollbackTo"}

func replicasPath(process string) []string {
	return []string{"f:spec", "f:processes", processKey(process), "f:replicas"}
}

// processKey is the fieldsV1 key of an entry of the processes list-map.
func processKey(name string) string {
	b, _ := json.Marshal(map[string]string{"name": name})
	return "k:" + string(b)
}

// owners returns the field managers that own the field at path of the app's
// main resource (not its status), sorted.
func owners(app *tfv1.TwelveFactorApp, path []string) []string {
	var out []string
	for _, mf := range app.ManagedFields {
		if mf.Subresource != "" || mf.FieldsV1 == nil {
			continue
		}
		if hasField(mf.FieldsV1.GetRawBytes(), path) {
			out = append(out, mf.Manager)
		}
	}
	sort.Strings(out)
	return out
}

// ownedByPlugin reports whether the plugin's apply owns the field at path.
func ownedByPlugin(app *tfv1.TwelveFactorApp, path []string) bool {
	for _, mf := range app.ManagedFields {
		if mf.Manager == tfv1.PluginFieldManager && mf.Operation == metav1.ManagedFieldsOperationApply &&
			mf.Subresource == "" && mf.FieldsV1 != nil && hasField(mf.FieldsV1.GetRawBytes(), path) {
			return true
		}
	}
	return false
}

// others returns the owners of a field other than the plugin.
func others(app *tfv1.TwelveFactorApp, path []string) []string {
	var out []string
	for _, m := range owners(app, path) {
		if m != tfv1.PluginFieldManager {
			out = append(out, m)
		}
	}
	return out
}

func hasField(raw []byte, path []string) bool {
	var node map[string]json.RawMessage
	if err := json.Unmarshal(raw, &node); err != nil {
		return false
	}
	for i, key := range path {
		child, ok := node[key]
		if !ok {
			return false
		}
		if i == len(path)-1 {
			return true
		}
		node = nil
		if err := json.Unmarshal(child, &node); err != nil {
			return false
		}
	}
	return false
}

// owned returns the spec fields the plugin's field manager owns now, with
// their current values: rollbackTo and processes[].replicas. A server-side
// apply replaces the manager's whole set of fields, so every apply must
// repeat them, or they are removed.
func owned(app *tfv1.TwelveFactorApp) map[string]any {
	spec := map[string]any{}
	if app.Spec.RollbackTo != nil && ownedByPlugin(app, rollbackToPath) {
		spec["rollbackTo"] = int64(*app.Spec.RollbackTo)
	}
	var procs []any
	for _, p := range app.Spec.Processes {
		if p.Replicas != nil && ownedByPlugin(app, replicasPath(p.Name)) {
			procs = append(procs, map[string]any{"name": p.Name, "replicas": int64(*p.Replicas)})
		}
	}
	if procs != nil {
		spec["processes"] = procs
	}
	return spec
}

// apply server-side applies a partial TwelveFactorApp under the plugin's own
// field manager, so that the plugin's fields coexist with those of whoever
// owns the rest of the spec (kubectl apply, Argo CD, Flux). spec is the whole
// set of fields the plugin owns after the command: a field the plugin owned
// and spec leaves out is removed, unless another manager owns it too.
func (s *session) apply(ctx context.Context, name string, spec map[string]any) error {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": tfv1.GroupVersion.String(),
		"kind":       "TwelveFactorApp",
		"metadata":   map[string]any{"name": name, "namespace": s.namespace},
		"spec":       spec,
	}}
	return s.Apply(ctx, client.ApplyConfigurationFromUnstructured(u),
		client.FieldOwner(tfv1.PluginFieldManager), client.ForceOwnership)
}

// age is a kubectl-style duration since t: 5m, 3h, 2d.
func age(t time.Time, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t))
}

// managerList formats field managers for a message: "argocd-controller" or
// "flux" and "kubectl-edit".
func managerList(managers []string) string {
	q := make([]string, len(managers))
	for i, m := range managers {
		q[i] = fmt.Sprintf("%q", m)
	}
	if len(q) <= 1 {
		return strings.Join(q, "")
	}
	return strings.Join(q[:len(q)-1], ", ") + " and " + q[len(q)-1]
}
