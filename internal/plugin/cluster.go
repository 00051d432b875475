package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/duration"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/manager"
)

// session is a connection to the cluster from the standard kubectl flags.
type session struct {
	client.Client
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
	c, err := client.New(cfg, client.Options{Scheme: manager.Scheme()})
	if err != nil {
		return nil, err
	}
	return &session{Client: c, namespace: ns}, nil
}

func (s *session) app(ctx context.Context, name string) (*tfv1.TwelveFactorApp, error) {
	app := &tfv1.TwelveFactorApp{}
	if err := s.Get(ctx, client.ObjectKey{Namespace: s.namespace, Name: name}, app); err != nil {
		return nil, fmt.Errorf("app %s in namespace %s: %w", name, s.namespace, err)
	}
	return app, nil
}

// owned returns the spec fields the plugin's field manager owns now, with
// their current values: rollbackTo and processes[].replicas. A server-side
// apply must repeat them, or they are removed.
func owned(app *tfv1.TwelveFactorApp) map[string]any {
	spec := map[string]any{}
	for _, mf := range app.ManagedFields {
		if mf.Manager != tfv1.PluginFieldManager || mf.FieldsV1 == nil {
			continue
		}
		var fields struct {
			Spec struct {
				RollbackTo *struct{}                  `json:"f:rollbackTo"`
				Processes  map[string]json.RawMessage `json:"f:processes"`
			} `json:"f:spec"`
		}
		if err := json.Unmarshal(mf.FieldsV1.Raw, &fields); err != nil {
			continue
		}
		if fields.Spec.RollbackTo != nil && app.Spec.RollbackTo != nil {
			spec["rollbackTo"] = *app.Spec.RollbackTo
		}
		var procs []any
		for _, p := range app.Spec.Processes {
			raw, ok := fields.Spec.Processes[`k:{"name":"`+p.Name+`"}`]
			if ok && strings.Contains(string(raw), `"f:replicas"`) && p.Replicas != nil {
				procs = append(procs, map[string]any{"name": p.Name, "replicas": *p.Replicas})
			}
		}
		if procs != nil {
			spec["processes"] = procs
		}
	}
	return spec
}

// apply server-side applies a partial TwelveFactorApp under the plugin's own
// field manager, so the plugin's fields coexist with a GitOps owner's. spec
// is what the plugin owns after the command.
func (s *session) apply(ctx context.Context, name string, spec map[string]any) error {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": tfv1.GroupVersion.String(),
		"kind":       "TwelveFactorApp",
		"metadata":   map[string]any{"name": name, "namespace": s.namespace},
		"spec":       spec,
	}}
	return s.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(tfv1.PluginFieldManager), client.ForceOwnership)
}

func age(t time.Time, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t))
}
