package controller

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
)

func TestLastStatusWritesSkipsOnlyWhatWasWritten(t *testing.T) {
	var l lastStatusWrites
	shop := types.NamespacedName{Namespace: "ns", Name: "shop"}
	st := &tfv1.TwelveFactorAppStatus{CurrentRelease: 2, ProcessSummary: "web 0/2"}
	w := newStatusWrite("u1", st)
	if l.written(shop, w) {
		t.Fatal("nothing was written yet")
	}
	l.wrote(shop, w)
	if !l.written(shop, newStatusWrite("u1", st.DeepCopy())) {
		t.Error("the same status again (the cache lags our write) is not skipped")
	}
	restamped := st.DeepCopy()
	restamped.Conditions = []metav1.Condition{{Type: "Ready", Status: "False", Reason: "RollingOut", LastTransitionTime: metav1.Unix(2000, 0)}}
	st.Conditions = []metav1.Condition{{Type: "Ready", Status: "False", Reason: "RollingOut", LastTransitionTime: metav1.Unix(1000, 0)}}
	w = newStatusWrite("u1", st)
	l.wrote(shop, w)
	if !l.written(shop, newStatusWrite("u1", restamped)) {
		t.Error("the same transition stamped later by a pass on a stale cache is not skipped")
	}
	moved := st.DeepCopy()
	moved.ProcessSummary = "web 1/2"
	if l.written(shop, newStatusWrite("u1", moved)) {
		t.Error("a changed status would be skipped")
	}
	if l.written(shop, newStatusWrite("u2", st)) {
		t.Error("an app made again under the same name would be skipped")
	}
	if l.written(types.NamespacedName{Namespace: "ns", Name: "cart"}, w) {
		t.Error("another app's write counts for this one")
	}
	l.forget(shop)
	if l.written(shop, w) {
		t.Error("a forgotten app's write is skipped")
	}
}
