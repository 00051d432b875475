package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/client-go/applyconfigurations"
	"k8s.io/utils/lru"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/structured-merge-diff/v6/typed"

	"github.com/twelvefactor/twelvefactor-operator/internal/render"
)

// applyItem is one object to apply, or to delete when obj is nil.
type applyItem struct {
	kind string
	obj  runtime.ApplyConfiguration
}

// nilIfNil turns a typed nil pointer into a nil interface.
func nilIfNil(ac runtime.ApplyConfiguration) runtime.ApplyConfiguration {
	if ac == nil || reflect.ValueOf(ac).IsNil() {
		return nil
	}
	return ac
}

// namedApply is what every apply configuration the operator renders offers.
type namedApply interface {
	runtime.ApplyConfiguration
	GetName() *string
	GetNamespace() *string
	GetKind() *string
}

// conflict is an object under a derived name that the operator did not make.
type conflict struct {
	kind, name string
	// owner describes the object's controller, or "" when it has none.
	owner string
}

func newConflict(kind string, o client.Object) *conflict {
	c := &conflict{kind: kind, name: o.GetName()}
	if ref := metav1.GetControllerOf(o); ref != nil {
		c.owner = fmt.Sprintf("%s %q", ref.Kind, ref.Name)
	}
	return c
}

func (c *conflict) message() string {
	owner := "no controller"
	if c.owner != "" {
		owner = "controller " + c.owner
	}
	return fmt.Sprintf("%s %q exists and was not made by the operator for this app (it has %s): delete or rename it; the operator never writes it, and retries", c.kind, c.name, owner)
}

// controlledBy reports whether obj's controller owner reference names uid.
func controlledBy(obj metav1.Object, uid types.UID) bool {
	ref := metav1.GetControllerOf(obj)
	return ref != nil && ref.UID == uid
}

// applier is the one path by which the operator writes the objects it owns
// with server-side apply. Before every write it checks that the object under
// the name is the owner's (never a foreign one), and it writes only when the
// object differs from what the operator wants: a value the operator set was
// changed (by anyone, under any field manager), or another field manager added
// fields to the object's spec. Comparing what the operator's field manager
// owns in the cached object with the desired configuration needs no GET, so a
// steady state makes no request at all.
type applier struct {
	// manager is the field manager of every write.
	manager   string
	client    client.Client
	apiReader client.Reader
	scheme    *runtime.Scheme
	converter managedfields.TypeConverter
	// clean remembers objects found equal to the desired configuration, by UID:
	// the resourceVersion and the desired configuration's hash. An object
	// unchanged since is not compared again.
	clean *lru.Cache
	mu    sync.Mutex
}

type cleanKey struct{ resourceVersion, hash string }

func newApplier(manager string, c client.Client, apiReader client.Reader, scheme *runtime.Scheme) *applier {
	return &applier{manager: manager, client: c, apiReader: apiReader, scheme: scheme,
		converter: applyconfigurations.NewTypeConverter(scheme), clean: lru.New(100_000)}
}

// applyResult says what an apply did.
type applyResult struct {
	// wrote is true when a request changed, or may have changed, the object.
	wrote bool
	// conflict is set when a foreign object holds the name; nothing was written.
	conflict *conflict
}

// apply makes the object named by ac what ac says, when the object is the
// owner's or does not exist. cached is the informer's copy (nil when the cache
// has none); empty is a new object of the kind, for a live read.
func (a *applier) apply(ctx context.Context, ac namedApply, cached, empty client.Object, owner types.UID, ignore ...fieldpath.Path) (applyResult, error) {
	kind := *ac.GetKind()
	existing := cached
	if existing == nil || !controlledBy(existing, owner) {
		// The cache holds only labelled objects: confirm with a live read, so
		// an object squatting the name without our labels is never written.
		err := a.apiReader.Get(ctx, client.ObjectKey{Namespace: *ac.GetNamespace(), Name: *ac.GetName()}, empty)
		switch {
		case apierrors.IsNotFound(err):
			existing = nil
		case err != nil:
			return applyResult{}, err
		default:
			existing = empty
		}
	}
	if existing != nil && !controlledBy(existing, owner) {
		return applyResult{conflict: newConflict(kind, existing)}, nil
	}
	if existing == nil {
		return applyResult{wrote: true}, a.client.Apply(ctx, ac, client.FieldOwner(a.manager), client.ForceOwnership)
	}
	hash := render.Hash(ac)
	if a.isClean(existing, hash) {
		return applyResult{}, nil
	}
	d, err := a.diff(existing, ac, ignore)
	if err != nil {
		return applyResult{}, fmt.Errorf("comparing %s %s: %w", kind, existing.GetName(), err)
	}
	if !d.changed && d.foreign.Empty() {
		a.markClean(existing, hash)
		return applyResult{}, nil
	}
	ctrl.LoggerFrom(ctx).V(4).Info("Object differs from what the operator applies", "kind", kind, "name", existing.GetName(),
		"differs", d.why, "foreign", d.foreign.String())
	if !d.foreign.Empty() {
		if err := a.removeForeign(ctx, existing, d.foreign); err != nil {
			return applyResult{}, fmt.Errorf("removing fields another manager added to %s %s: %w", kind, existing.GetName(), err)
		}
	}
	return applyResult{wrote: true}, a.client.Apply(ctx, ac, client.FieldOwner(a.manager), client.ForceOwnership)
}

func (a *applier) isClean(o client.Object, hash string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	v, ok := a.clean.Get(o.GetUID())
	return ok && v.(cleanKey) == cleanKey{o.GetResourceVersion(), hash}
}

func (a *applier) markClean(o client.Object, hash string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.clean.Add(o.GetUID(), cleanKey{o.GetResourceVersion(), hash})
}

// forget drops what the applier remembers of an object.
func (a *applier) forget(uid types.UID) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.clean.Remove(uid)
}

// difference is how an object differs from the desired configuration.
type difference struct {
	// changed: a field the operator sets has another value, is gone, or is no
	// longer owned by the operator's field manager.
	changed bool
	// foreign: fields under spec that other field managers added and the
	// operator does not set.
	foreign *fieldpath.Set
	// why says what differs, for the log (field paths, never values).
	why string
}

var (
	specPath = fieldpath.MakePathOrDie("spec")
	identity = fieldpath.NewSet(fieldpath.MakePathOrDie("apiVersion"), fieldpath.MakePathOrDie("kind"),
		fieldpath.MakePathOrDie("metadata", "name"), fieldpath.MakePathOrDie("metadata", "namespace"))
)

// diff compares an object with the desired configuration.
func (a *applier) diff(existing client.Object, ac runtime.ApplyConfiguration, ignore []fieldpath.Path) (difference, error) {
	desired, err := a.desiredTyped(existing, ac)
	if err != nil {
		return difference{}, err
	}
	// Identity is owned by no field manager: compare the rest.
	desired = desired.RemoveItems(identity)
	want, err := desired.ToFieldSet()
	if err != nil {
		return difference{}, err
	}
	live, err := a.typed(existing)
	if err != nil {
		return difference{}, err
	}
	ours := &fieldpath.Set{}
	foreign := &fieldpath.Set{}
	for _, mf := range existing.GetManagedFields() {
		if mf.FieldsV1 == nil || mf.Subresource == "status" {
			continue
		}
		set := &fieldpath.Set{}
		if err := set.FromJSON(mf.FieldsV1.GetRawReader()); err != nil {
			return difference{}, err
		}
		if mf.Manager == a.manager && mf.Operation == metav1.ManagedFieldsOperationApply {
			ours = ours.Union(set)
			continue
		}
		foreign = foreign.Union(set)
	}
	d := difference{foreign: &fieldpath.Set{}}
	// Every field we set must be ours, with our value.
	if lost := want.Leaves().Difference(ours); !lost.Empty() {
		d.changed, d.why = true, "not owned: "+lost.String()
	} else {
		cmp, err := live.ExtractItems(want.Leaves()).Compare(desired)
		if err != nil {
			return difference{}, err
		}
		d.changed = !cmp.IsSame()
		if d.changed {
			d.why = "changed: " + cmp.String()
		}
	}
	// Fields other managers added under spec, which we do not set.
	added := filterPaths(foreign.Difference(want), func(p fieldpath.Path) bool {
		if !hasPrefix(p, specPath) {
			return false
		}
		for _, i := range ignore {
			// An ignored field, or a map or list that holds one (such as the
			// template's annotations that kubectl rollout restart made):
			// removing the container would remove the ignored field with it.
			// Other fields another manager added to it are removed one by one.
			if hasPrefix(p, i) || hasPrefix(i, p) {
				return false
			}
		}
		return true
	})
	d.foreign = topmost(added)
	return d, nil
}

func filterPaths(s *fieldpath.Set, keep func(fieldpath.Path) bool) *fieldpath.Set {
	out := &fieldpath.Set{}
	s.Iterate(func(p fieldpath.Path) {
		if keep(p) {
			out.Insert(p.Copy())
		}
	})
	return out
}

// hasPrefix reports whether p is prefix or lies under it.
func hasPrefix(p, prefix fieldpath.Path) bool {
	if len(p) < len(prefix) {
		return false
	}
	for i := range prefix {
		if !p[i].Equals(prefix[i]) {
			return false
		}
	}
	return true
}

// topmost keeps, of the added paths, those with no added ancestor, so a
// removal takes out whole added list items and fields.
func topmost(added *fieldpath.Set) *fieldpath.Set {
	out := &fieldpath.Set{}
	added.Iterate(func(p fieldpath.Path) {
		for i := 1; i < len(p); i++ {
			if added.Has(p[:i]) {
				return // an ancestor is removed already
			}
		}
		out.Insert(p.Copy())
	})
	return out
}

// typed converts an object to a typed value of its schema.
func (a *applier) typed(o client.Object) (*typed.TypedValue, error) {
	u, err := a.unstructured(o)
	if err != nil {
		return nil, err
	}
	return a.converter.ObjectToTyped(u, typed.AllowDuplicates)
}

func (a *applier) unstructured(o client.Object) (*unstructured.Unstructured, error) {
	gvk, err := apiutil.GVKForObject(o, a.scheme)
	if err != nil {
		return nil, err
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetGroupVersionKind(gvk)
	return u, nil
}

// desiredTyped converts an apply configuration to a typed value, through the
// typed object, so quantities and other values take their canonical form.
func (a *applier) desiredTyped(like client.Object, ac runtime.ApplyConfiguration) (*typed.TypedValue, error) {
	b, err := json.Marshal(ac)
	if err != nil {
		return nil, err
	}
	obj := newLike(like)
	if err := json.Unmarshal(b, obj); err != nil {
		return nil, err
	}
	u, err := a.unstructured(obj)
	if err != nil {
		return nil, err
	}
	// Keep only what the configuration sets: the typed object adds zero values.
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, err
	}
	pruned := prune(u.Object, raw).(map[string]any)
	pruned["apiVersion"], pruned["kind"] = u.GetAPIVersion(), u.GetKind()
	return a.converter.ObjectToTyped(&unstructured.Unstructured{Object: pruned}, typed.AllowDuplicates)
}

// prune keeps of canonical only what raw (the configuration as written) has,
// taking the canonical values.
func prune(canonical, raw any) any {
	switch r := raw.(type) {
	case map[string]any:
		c, ok := canonical.(map[string]any)
		if !ok {
			return raw
		}
		out := make(map[string]any, len(r))
		for k, rv := range r {
			if cv, ok := c[k]; ok {
				out[k] = prune(cv, rv)
			} else {
				out[k] = rv
			}
		}
		return out
	case []any:
		c, ok := canonical.([]any)
		if !ok || len(c) != len(r) {
			return raw
		}
		out := make([]any, len(r))
		for i := range r {
			out[i] = prune(c[i], r[i])
		}
		return out
	default:
		if canonical == nil {
			return raw
		}
		return canonical
	}
}

// removeForeign removes, from the live object, the fields other managers
// added under spec. Server-side apply cannot remove fields another manager
// owns, so this is the one write that is not an apply: an update of the live
// object, guarded by its resourceVersion.
func (a *applier) removeForeign(ctx context.Context, cached client.Object, remove *fieldpath.Set) error {
	// A fresh object: cached may be the one a live read of this pass filled.
	live := newLike(cached)
	if err := a.apiReader.Get(ctx, client.ObjectKeyFromObject(cached), live); err != nil {
		return err
	}
	if live.GetUID() != cached.GetUID() {
		return fmt.Errorf("the object was replaced")
	}
	tv, err := a.typed(live)
	if err != nil {
		return err
	}
	m, ok := tv.RemoveItems(remove).AsValue().Unstructured().(map[string]any)
	if !ok {
		return fmt.Errorf("unexpected shape")
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetResourceVersion(live.GetResourceVersion())
	return a.client.Update(ctx, u, client.FieldOwner(a.manager))
}

// newLike returns a new, empty object of o's type.
func newLike(o client.Object) client.Object {
	return reflect.New(reflect.TypeOf(o).Elem()).Interface().(client.Object)
}
