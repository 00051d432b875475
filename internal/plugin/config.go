package plugin

import (
	"fmt"
	"sort"
	"text/tabwriter"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// NewConfigCommand lists an app's environment keys and where each comes
// from. Values are shown only with --show-values.
func NewConfigCommand(o *Options) *cobra.Command {
	var show bool
	cmd := &cobra.Command{
		Use:   "config APP",
		Short: "List config keys and their source (values only with --show-values)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := o.connect()
			if err != nil {
				return err
			}
			app, err := s.app(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			type entry struct{ source, value string }
			env := map[string]entry{}
			for _, src := range app.Spec.Config.EnvFrom {
				switch {
				case src.ConfigMapRef != nil:
					cm := &corev1.ConfigMap{}
					if err := s.Get(cmd.Context(), client.ObjectKey{Namespace: s.namespace, Name: src.ConfigMapRef.Name}, cm); err != nil {
						return fmt.Errorf("configmap/%s: %w", src.ConfigMapRef.Name, err)
					}
					for k, v := range cm.Data {
						env[src.Prefix+k] = entry{"configmap/" + cm.Name, v}
					}
				case src.SecretRef != nil:
					sec := &corev1.Secret{}
					if err := s.Get(cmd.Context(), client.ObjectKey{Namespace: s.namespace, Name: src.SecretRef.Name}, sec); err != nil {
						return fmt.Errorf("secret/%s: %w", src.SecretRef.Name, err)
					}
					for k, v := range sec.Data {
						env[src.Prefix+k] = entry{"secret/" + sec.Name, string(v)}
					}
				}
			}
			for _, e := range app.Spec.Config.Env {
				env[e.Name] = entry{"spec.config.env", e.Value}
			}
			for _, svc := range app.Spec.Services {
				for _, e := range svc.Env {
					env[e.Name] = entry{fmt.Sprintf("binding/%s key %s", svc.Name, e.Key), "(from the binding)"}
				}
			}
			keys := make([]string, 0, len(env))
			for k := range env {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
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
