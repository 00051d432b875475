// Package render builds, as server-side apply configurations, every object the
// operator owns: Deployments, Services, PodDisruptionBudgets, HPAs, release
// Secrets and Jobs. It is pure: the same inputs give the same objects.
package render

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"k8s.io/utils/ptr"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/release"
)

// Owner identifies the controller owner of a rendered object.
type Owner struct {
	APIVersion string
	Kind       string
	Name       string
	UID        types.UID
}

// AppOwner returns the owner reference data of a TwelveFactorApp.
func AppOwner(app *tfv1.TwelveFactorApp) Owner {
	return Owner{APIVersion: tfv1.GroupVersion.String(), Kind: "TwelveFactorApp", Name: app.Name, UID: app.UID}
}

// ReleaseOwner returns the owner reference data of a Release.
func ReleaseOwner(rel *tfv1.Release) Owner {
	return Owner{APIVersion: tfv1.GroupVersion.String(), Kind: "Release", Name: rel.Name, UID: rel.UID}
}

func (o Owner) ref() *metav1ac.OwnerReferenceApplyConfiguration {
	return metav1ac.OwnerReference().WithAPIVersion(o.APIVersion).WithKind(o.Kind).
		WithName(o.Name).WithUID(o.UID).WithController(true).WithBlockOwnerDeletion(true)
}

// Labels returns the labels of an object of an app's component.
func Labels(app, component string) map[string]string {
	return map[string]string{
		tfv1.LabelName:      app,
		tfv1.LabelComponent: component,
		tfv1.LabelManagedBy: tfv1.ManagedByValue,
		tfv1.LabelPartOf:    app,
		tfv1.LabelApp:       app,
	}
}

// SelectorLabels returns the stable selector of a process type's pods.
func SelectorLabels(app, process string) map[string]string {
	return map[string]string{tfv1.LabelApp: app, tfv1.LabelProcess: process}
}

// ReleaseLabels returns the labels of objects that belong to release N.
func ReleaseLabels(app, component string, n int32) map[string]string {
	l := Labels(app, component)
	l[tfv1.LabelRelease] = strconv.Itoa(int(n))
	l[tfv1.LabelVersion] = fmt.Sprintf("v%d", n)
	return l
}

// Hash returns a short, stable hash of an apply configuration.
func Hash(obj any) string {
	b, err := json.Marshal(obj)
	if err != nil {
		panic(fmt.Sprintf("apply configuration is not serialisable: %v", err))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}

// EnvSecretData returns the data of release N's environment Secret.
func EnvSecretData(env map[string]string) map[string][]byte {
	data := make(map[string][]byte, len(env))
	for k, v := range env {
		data[k] = []byte(v)
	}
	return data
}

// BindingSecretData returns the data of a binding's snapshot Secret: the
// binding's entries plus the servicebinding.io type and provider.
func BindingSecretData(b release.Binding) map[string][]byte {
	data := make(map[string][]byte, len(b.Data)+2)
	for k, v := range b.Data {
		data[k] = v
	}
	data["type"] = []byte(b.Type)
	if b.Provider != "" {
		data["provider"] = []byte(b.Provider)
	}
	return data
}

// EnvSecret renders release N's immutable environment Secret. Release
// Secrets are created, never applied: what exists under the name is either
// the one the operator created for this Release or not used at all.
func EnvSecret(rel *tfv1.Release, env map[string]string) *corev1.Secret {
	l := ReleaseLabels(rel.Spec.App, "config", rel.Spec.Number)
	l[tfv1.LabelSecretKind] = "env"
	return releaseSecret(rel, rel.Spec.EnvSecretName, l, corev1.SecretTypeOpaque, EnvSecretData(env))
}

// BindingSecret renders release N's immutable snapshot of one binding, with the
// servicebinding.io type and provider entries.
func BindingSecret(rel *tfv1.Release, b release.Binding) *corev1.Secret {
	l := ReleaseLabels(rel.Spec.App, "binding", rel.Spec.Number)
	l[tfv1.LabelSecretKind] = "binding"
	return releaseSecret(rel, release.BindingSecretName(rel.Spec.App, rel.Spec.Number, b.Name), l,
		corev1.SecretType("servicebinding.io/"+b.Type), BindingSecretData(b))
}

func releaseSecret(rel *tfv1.Release, name string, labels map[string]string, typ corev1.SecretType, data map[string][]byte) *corev1.Secret {
	o := ReleaseOwner(rel)
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: rel.Namespace, Labels: labels,
			Annotations: map[string]string{tfv1.AnnotationDataHash: release.DataHash(data)},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: o.APIVersion, Kind: o.Kind, Name: o.Name, UID: o.UID,
				Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}},
		},
		Type:      typ,
		Immutable: ptr.To(true),
		Data:      data,
	}
}
