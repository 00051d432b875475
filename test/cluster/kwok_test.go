package cluster_test

import (
	"fmt"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"sigs.k8s.io/yaml"

	"github.com/twelvefactor/twelvefactor-operator/test/cluster"
)

type match struct {
	Key      string   `json:"key"`
	Operator string   `json:"operator"`
	Values   []string `json:"values"`
}

type doc struct {
	Kind     string `json:"kind"`
	Metadata struct{ Name string }
	Options  map[string]int `json:"options"`
	Spec     struct {
		ResourceRef struct{ Kind string } `json:"resourceRef"`
		Selector    struct {
			MatchExpressions []match `json:"matchExpressions"`
		} `json:"selector"`
		Delay *struct {
			DurationMilliseconds int64 `json:"durationMilliseconds"`
		} `json:"delay"`
	} `json:"spec"`
}

func parseKwokConfig(t *testing.T) (options map[string]int, stages map[string]doc) {
	t.Helper()
	g := NewWithT(t)
	cfg, err := cluster.KwokConfig()
	g.Expect(err).NotTo(HaveOccurred())
	stages = map[string]doc{}
	for i, part := range strings.Split(cfg, "\n---\n") {
		var d doc
		g.Expect(yaml.Unmarshal([]byte(part), &d)).To(Succeed(), "document %d", i)
		if i == 0 {
			g.Expect(d.Kind).To(Equal("KwokConfiguration"))
			options = d.Options
			continue
		}
		g.Expect(d.Kind).To(Equal("Stage"))
		g.Expect(stages).NotTo(HaveKey(d.Metadata.Name), "stage names are unique")
		stages[d.Metadata.Name] = d
	}
	return options, stages
}

var behaviourKey = fmt.Sprintf(".metadata.labels[%q]", cluster.BehaviourLabel)

func TestKwokConfigSetsEveryOptionTheBinaryDoesNotDefault(t *testing.T) {
	g := NewWithT(t)
	options, _ := parseKwokConfig(t)
	for _, o := range []string{"podPlayStageParallelism", "nodePlayStageParallelism", "nodeLeaseParallelism", "podsOnNodeSyncParallelism", "nodeLeaseDurationSeconds"} {
		g.Expect(options).To(HaveKeyWithValue(o, BeNumerically(">", 0)))
	}
}

func TestKwokStagesSelectPodsByBehaviour(t *testing.T) {
	_, stages := parseKwokConfig(t)
	nodeStages := []string{"node-initialize", "node-heartbeat-with-lease"}
	tests := []struct {
		stage string
		want  []match
		delay int64
	}{
		{stage: "pod-ready", want: []match{{Key: behaviourKey, Operator: "DoesNotExist"}}},
		{stage: "pod-ready-slow-start", want: []match{{Key: behaviourKey, Operator: "In", Values: []string{cluster.BehaviourSlowStart}}},
			delay: cluster.SlowStart.Milliseconds()},
		{stage: "pod-complete", want: []match{
			{Key: ".spec.restartPolicy", Operator: "In", Values: []string{"Never", "OnFailure"}},
			{Key: behaviourKey, Operator: "NotIn", Values: []string{cluster.BehaviourNeverReady, cluster.BehaviourFail}},
		}},
		{stage: "pod-delete", want: []match{{Key: ".metadata.deletionTimestamp", Operator: "Exists"}}},
		{stage: "pod-never-ready", want: []match{{Key: behaviourKey, Operator: "In", Values: []string{cluster.BehaviourNeverReady}}}},
		{stage: "pod-fail", want: []match{
			{Key: ".spec.restartPolicy", Operator: "In", Values: []string{"Never", "OnFailure"}},
			{Key: behaviourKey, Operator: "In", Values: []string{cluster.BehaviourFail}},
		}},
		{stage: "pod-crash-loop", want: []match{
			{Key: ".spec.restartPolicy", Operator: "NotIn", Values: []string{"Never", "OnFailure"}},
			{Key: behaviourKey, Operator: "In", Values: []string{cluster.BehaviourFail}},
		}},
	}
	g := NewWithT(t)
	g.Expect(stages).To(HaveLen(len(tests) + len(nodeStages)))
	for _, name := range nodeStages {
		g.Expect(stages).To(HaveKeyWithValue(name, HaveField("Spec.ResourceRef.Kind", "Node")))
	}
	for _, tt := range tests {
		t.Run(tt.stage, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(stages).To(HaveKey(tt.stage))
			s := stages[tt.stage]
			g.Expect(s.Spec.ResourceRef.Kind).To(Equal("Pod"))
			for _, m := range tt.want {
				g.Expect(s.Spec.Selector.MatchExpressions).To(ContainElement(m))
			}
			if tt.stage == "pod-complete" {
				// KWOK's own selects pods owned by a Job only.
				g.Expect(s.Spec.Selector.MatchExpressions).NotTo(ContainElement(HaveField("Key", ContainSubstring("ownerReferences"))))
			}
			if tt.delay > 0 {
				g.Expect(s.Spec.Delay).NotTo(BeNil())
				g.Expect(s.Spec.Delay.DurationMilliseconds).To(Equal(tt.delay))
			}
		})
	}
}
