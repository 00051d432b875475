package render_test

import (
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/render"
)

// TestEveryVariableThePodSetsIsReserved keeps tfv1.ReservedEnvNames, which
// admission refuses as binding variables, in step with what PodTemplate sets:
// a variable the operator adds without reserving it could be shadowed by a
// backing service, and a reserved name it no longer sets refuses a binding
// for nothing.
func TestEveryVariableThePodSetsIsReserved(t *testing.T) {
	g := NewWithT(t)
	app, rel := fixture()
	tmpl := render.PodTemplate(render.PodInput{App: app, Release: rel, Process: "web", Port: ptr.To[int32](8080),
		RestartPolicy: corev1.RestartPolicyAlways})
	var set []string
	for _, e := range tmpl.Spec.Containers[0].Env {
		if e.ValueFrom == nil { // binding variables come from the binding Secret
			set = append(set, *e.Name)
		}
	}
	g.Expect(set).To(ConsistOf(tfv1.ReservedEnvNames))
}
