package cluster

import (
	"embed"
	"fmt"
	"strings"
	"time"

	nodefast "sigs.k8s.io/kwok/kustomize/stage/node/fast"
	nodelease "sigs.k8s.io/kwok/kustomize/stage/node/heartbeat-with-lease"
	podfast "sigs.k8s.io/kwok/kustomize/stage/pod/fast"
	"sigs.k8s.io/yaml"
)

// BehaviourLabel on a pod (set it in a pod template) selects how KWOK plays
// the pod, in place of the default: Pending, then Running and Ready, and, for
// a pod that is not restarted (restartPolicy Never or OnFailure, as every Job
// pod), Succeeded. Its values are the Behaviour constants; a pod with any
// other value stays Pending.
const BehaviourLabel = "twelvefactor.dev/test-behaviour"

// Values of BehaviourLabel.
const (
	// BehaviourNeverReady: the pod runs but never becomes Ready.
	BehaviourNeverReady = "never-ready"
	// BehaviourFail: a pod that is not restarted (a Job pod) ends Failed, its
	// containers terminated with exit code 1; a pod that is restarted (a
	// Deployment pod) crash-loops: Running, not Ready, in CrashLoopBackOff.
	BehaviourFail = "fail"
	// BehaviourSlowStart: the pod becomes Running and Ready after SlowStart.
	BehaviourSlowStart = "slow-start"
)

// SlowStart is how long a pod labelled BehaviourSlowStart takes to become Ready.
const SlowStart = 3 * time.Second

// kwokOptions sets what the kwok binary does not default when it is given a
// config file: it refuses a zero parallelism, and without
// nodeLeaseDurationSeconds it renews no node Lease, so that after about 50
// seconds the node lifecycle controller marks every node NotReady.
const kwokOptions = `apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokConfiguration
options:
  podPlayStageParallelism: 16
  nodePlayStageParallelism: 4
  nodeLeaseParallelism: 4
  podsOnNodeSyncParallelism: 4
  nodeLeaseDurationSeconds: 40
`

//go:embed stages/*.yaml
var stageFiles embed.FS

// KwokConfig returns kwok.yaml: the KwokConfiguration, then every Stage. The
// node stages and the default pod stages are KWOK's own, with their
// selectors narrowed so that they leave pods with BehaviourLabel alone; the
// behaviour stages are in stages/.
func KwokConfig() (string, error) {
	docs := []string{kwokOptions, nodefast.DefaultNodeInit, nodelease.DefaultNodeHeartbeatWithLease}

	// Pending -> Running and Ready, for pods with no behaviour.
	ready, err := editStage(podfast.DefaultPodReady, func(s stage) {
		s.addMatch(labelKey, "DoesNotExist")
	})
	if err != nil {
		return "", err
	}
	// The same after SlowStart, for pods labelled slow-start.
	slow, err := editStage(podfast.DefaultPodReady, func(s stage) {
		s.setName("pod-ready-slow-start")
		s.addMatch(labelKey, "In", BehaviourSlowStart)
		s.spec()["delay"] = map[string]any{"durationMilliseconds": SlowStart.Milliseconds()}
	})
	if err != nil {
		return "", err
	}
	// Running -> Succeeded, for every pod that is not restarted (KWOK's own
	// selects pods owned by a Job only), unless it must not finish.
	complete, err := editStage(podfast.DefaultPodComplete, func(s stage) {
		s.removeMatch(".metadata.ownerReferences.[].kind")
		s.addMatch(".spec.restartPolicy", "In", "Never", "OnFailure")
		s.addMatch(labelKey, "NotIn", BehaviourNeverReady, BehaviourFail)
	})
	if err != nil {
		return "", err
	}
	docs = append(docs, ready, slow, complete, podfast.DefaultPodDelete)

	for _, name := range []string{"pod-never-ready.yaml", "pod-fail.yaml", "pod-crash-loop.yaml"} {
		data, err := stageFiles.ReadFile("stages/" + name)
		if err != nil {
			return "", err
		}
		docs = append(docs, string(data))
	}
	for i, d := range docs {
		docs[i] = strings.TrimSpace(d)
	}
	return strings.Join(docs, "\n---\n") + "\n", nil
}

// labelKey is the KWOK selector key (a jq expression) of BehaviourLabel.
var labelKey = fmt.Sprintf(".metadata.labels[%q]", BehaviourLabel)

// stage is a KWOK Stage document, decoded generically.
type stage map[string]any

func (s stage) spec() map[string]any { return s["spec"].(map[string]any) }

func (s stage) setName(name string) { s["metadata"].(map[string]any)["name"] = name }

func (s stage) matches() []any {
	sel := s.spec()["selector"].(map[string]any)
	m, _ := sel["matchExpressions"].([]any)
	return m
}

func (s stage) setMatches(m []any) {
	s.spec()["selector"].(map[string]any)["matchExpressions"] = m
}

func (s stage) addMatch(key, operator string, values ...string) {
	e := map[string]any{"key": key, "operator": operator}
	if len(values) > 0 {
		e["values"] = values
	}
	s.setMatches(append(s.matches(), e))
}

func (s stage) removeMatch(key string) {
	var kept []any
	for _, e := range s.matches() {
		if e.(map[string]any)["key"] != key {
			kept = append(kept, e)
		}
	}
	s.setMatches(kept)
}

// editStage decodes a Stage document, edits it and encodes it again.
func editStage(doc string, edit func(stage)) (out string, err error) {
	s := stage{}
	if err := yaml.Unmarshal([]byte(doc), &s); err != nil {
		return "", err
	}
	defer func() {
		// A Stage that is not shaped as expected (a KWOK upgrade) panics on
		// a type assertion; report it as an error.
		if r := recover(); r != nil {
			err = fmt.Errorf("editing KWOK stage %v: %v", s["metadata"], r)
		}
	}()
	edit(s)
	data, err := yaml.Marshal(s)
	return string(data), err
}
