// Package scheme builds the runtime scheme with every type the operator and
// its kubectl plugin read or write. It is kept apart from internal/manager so
// that clients (the plugin, tests) get the types without linking the
// controllers.
package scheme

import (
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
)

// New returns a new scheme with the Kubernetes built-in types and the
// twelvefactor.dev/v1alpha1 types.
func New() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(tfv1.AddToScheme(s))
	return s
}
