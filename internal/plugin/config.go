package plugin

import (
	"context"
	"fmt"
	"io"
	"sort"
	"text/tabwriter"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
)

// configEntry is one environment variable of an app: where it comes from
// and, only when asked for, its value.
type configEntry struct {
	source string
	value  string
}

// NewConfigCommand lists an app's environment keys and where each comes
// from, like `heroku config`. Values are printed only with --show-values.
func NewConfigCommand(o *Options) *cobra.Command {
	var show bool
	cmd := &cobra.Command{
		Use:   "config APP",
		Short: "List config keys and their source (values only with --show-values)",
		Long: "config lists every environment variable the app's spec sets and where it comes from:\n" +
			"spec.config.env, configmap/NAME or secret/NAME (spec.config.envFrom), or binding/NAME key K\n" +
			"(spec.services[].env). A later source overrides an earlier one, as in the pods: envFrom in order,\n" +
			"then env, then binding mappings. Values, including Secret values, are printed only with\n" +
			"--show-values.",
		Example: "  kubectl twelvefactor config shop\n  kubectl twelvefactor config shop --show-values",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := o.connect()
			if err != nil {
				return err
			}
			app, err := s.app(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			env, err := s.config(cmd.Context(), app, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			keys := make([]string, 0, len(env))
			for k := range env {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			out := cmd.OutOrStdout()
			if len(keys) == 0 {
				fmt.Fprintf(out, "%s has no config\n", app.Name)
				return nil
			}
			w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			if show {
				fmt.Fprintln(w, "KEY\tSOURCE\tVALUE")
			} else {
				fmt.Fprintln(w, "KEY\tSOURCE")
			}
			for _, k := range keys {
				if show {
					fmt.Fprintf(w, "%s\t%s\t%s\n", k, env[k].source, env[k].value)
				} else {
					fmt.Fprintf(w, "%s\t%s\n", k, env[k].source)
				}
			}
			return w.Flush()
		},
	}
	cmd.Flags().BoolVar(&show, "show-values", false, "also print the values, including those from Secrets")
	return cmd
}

// config resolves the app's environment in the order the pods see it. A
// missing ConfigMap, Secret or Provisioned Service is reported on warn and
// skipped.
func (s *session) config(ctx context.Context, app *tfv1.TwelveFactorApp, warn io.Writer) (map[string]configEntry, error) {
	env := map[string]configEntry{}
	for i, src := range app.Spec.Config.EnvFrom {
		switch {
		case src.ConfigMapRef != nil:
			cm := &corev1.ConfigMap{}
			err := s.Get(ctx, client.ObjectKey{Namespace: s.namespace, Name: src.ConfigMapRef.Name}, cm)
			if apierrors.IsNotFound(err) {
				fmt.Fprintf(warn, "warning: configmap/%s (spec.config.envFrom[%d]) does not exist\n", src.ConfigMapRef.Name, i)
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("configmap/%s: %w", src.ConfigMapRef.Name, err)
			}
			for k, v := range cm.Data {
				env[src.Prefix+k] = configEntry{"configmap/" + cm.Name, v}
			}
		case src.SecretRef != nil:
			sec := &corev1.Secret{}
			err := s.Get(ctx, client.ObjectKey{Namespace: s.namespace, Name: src.SecretRef.Name}, sec)
			if apierrors.IsNotFound(err) {
				fmt.Fprintf(warn, "warning: secret/%s (spec.config.envFrom[%d]) does not exist\n", src.SecretRef.Name, i)
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("secret/%s: %w", src.SecretRef.Name, err)
			}
			for k, v := range sec.Data {
				env[src.Prefix+k] = configEntry{"secret/" + sec.Name, string(v)}
			}
		}
	}
	for _, e := range app.Spec.Config.Env {
		env[e.Name] = configEntry{"spec.config.env", e.Value}
	}
	for i, svc := range app.Spec.Services {
		if len(svc.Env) == 0 {
			continue
		}
		data, err := s.bindingData(ctx, svc)
		if err != nil {
			fmt.Fprintf(warn, "warning: backing service %s (spec.services[%d]): %v\n", svc.Name, i, err)
		}
		for _, e := range svc.Env {
			v, ok := data[e.Key]
			if !ok {
				v = "<missing>"
			}
			env[e.Name] = configEntry{fmt.Sprintf("binding/%s key %s", svc.Name, e.Key), v}
		}
	}
	return env, nil
}

// bindingData reads a backing service's binding Secret: secretRef, or the
// Secret named by a Provisioned Service's status.binding.name.
func (s *session) bindingData(ctx context.Context, svc tfv1.BackingService) (map[string]string, error) {
	name := ""
	switch {
	case svc.SecretRef != nil:
		name = svc.SecretRef.Name
	case svc.ServiceRef != nil:
		gv, err := schema.ParseGroupVersion(svc.ServiceRef.APIVersion)
		if err != nil {
			return nil, err
		}
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(gv.WithKind(svc.ServiceRef.Kind))
		if err := s.Get(ctx, client.ObjectKey{Namespace: s.namespace, Name: svc.ServiceRef.Name}, u); err != nil {
			return nil, fmt.Errorf("%s %s: %w", svc.ServiceRef.Kind, svc.ServiceRef.Name, err)
		}
		name, _, _ = unstructured.NestedString(u.Object, "status", "binding", "name")
		if name == "" {
			return nil, fmt.Errorf("%s %s has no status.binding.name yet", svc.ServiceRef.Kind, svc.ServiceRef.Name)
		}
	default:
		return nil, nil
	}
	sec := &corev1.Secret{}
	if err := s.Get(ctx, client.ObjectKey{Namespace: s.namespace, Name: name}, sec); err != nil {
		return nil, fmt.Errorf("binding secret/%s: %w", name, err)
	}
	out := make(map[string]string, len(sec.Data))
	for k, v := range sec.Data {
		out[k] = string(v)
	}
	return out, nil
}
