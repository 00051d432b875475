// Package v1alpha1 contains the API types of the twelvefactor.dev group.
// +kubebuilder:object:generate=true
// +groupName=twelvefactor.dev
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of these API types.
	GroupVersion = schema.GroupVersion{Group: "twelvefactor.dev", Version: "v1alpha1"}

	// SchemeBuilder registers the types with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion} //nolint:staticcheck // kubebuilder v4's scaffold; controller-gen and the scheme use it

	// AddToScheme adds the types in this group-version to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
