package devcluster

import (
	"fmt"
	"strings"
	"time"

	nodefast "sigs.k8s.io/kwok/kustomize/stage/node/fast"
	nodelease "sigs.k8s.io/kwok/kustomize/stage/node/heartbeat-with-lease"
	podfast "sigs.k8s.io/kwok/kustomize/stage/pod/fast"
)

// Image markers select failure behaviour in the simulated cluster, the way a
// broken build would behave on a real one:
//   - a pod whose image contains NeverReadyMarker runs but never becomes Ready;
//   - a Job pod whose image contains FailMarker fails with exit code 1.
//   - a pod whose image contains SlowStartMarker becomes Ready after SlowStart.
//   - a Job pod whose image contains NeverCompleteMarker runs and is Ready
//     but never completes, as a command that hangs would: only the Job's
//     activeDeadlineSeconds ends it. Other pods of that image run as usual.
const (
	NeverReadyMarker    = "kwok-never-ready"
	FailMarker          = "kwok-fail"
	SlowStartMarker     = "kwok-slow-start"
	NeverCompleteMarker = "kwok-never-complete"
)

// SlowStart is how long a pod with SlowStartMarker takes to become Ready.
const SlowStart = 3 * time.Second

// kwokOptions sets the options the standalone kwok binary does not default
// when it is given a config file. Without nodeLeaseDurationSeconds no node
// Lease is renewed, and after about 40s the node lifecycle controller marks
// every node NotReady and every pod not Ready.
const kwokOptions = `apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokConfiguration
options:
  podPlayStageParallelism: 16
  nodePlayStageParallelism: 4
  nodeLeaseParallelism: 4
  podsOnNodeSyncParallelism: 4
  nodeLeaseDurationSeconds: 40
`

// notMarked excludes pods whose image carries a failure marker.
const notMarked = `
    - key: '.spec.containers[0].image | test("` + NeverReadyMarker + `|` + FailMarker + `|` + SlowStartMarker + `")'
      operator: 'NotIn'
      values:
      - 'true'`

// notCompleting excludes Job pods whose image carries NeverCompleteMarker
// from the pod-complete stage.
const notCompleting = `
    - key: '.spec.containers[0].image | contains("` + NeverCompleteMarker + `")'
      operator: 'NotIn'
      values:
      - 'true'`

const neverReadyStage = `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-never-ready
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.phase'
      operator: 'In'
      values:
      - 'Pending'
    - key: '.spec.containers[0].image | contains("` + NeverReadyMarker + `")'
      operator: 'In'
      values:
      - 'true'
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: Initialized
      - lastTransitionTime: {{ $now | Quote }}
        status: "False"
        type: Ready
        reason: ContainersNotReady
      - lastTransitionTime: {{ $now | Quote }}
        status: "False"
        type: ContainersReady
      containerStatuses:
      {{ range .spec.containers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: false
        restartCount: 0
        started: true
        state:
          running:
            startedAt: {{ $now | Quote }}
      {{ end }}
      phase: Running
      startTime: {{ $now | Quote }}
`

const failStage = `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-fail
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.phase'
      operator: 'In'
      values:
      - 'Pending'
    - key: '.metadata.ownerReferences.[].kind'
      operator: 'In'
      values:
      - 'Job'
    - key: '.spec.containers[0].image | contains("` + FailMarker + `")'
      operator: 'In'
      values:
      - 'true'
  next:
    statusTemplate: |
      {{ $now := Now }}
      containerStatuses:
      {{ range .spec.containers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: false
        restartCount: 0
        started: false
        state:
          terminated:
            exitCode: 1
            finishedAt: {{ $now | Quote }}
            reason: Error
            startedAt: {{ $now | Quote }}
      {{ end }}
      phase: Failed
      startTime: {{ $now | Quote }}
`

// slowReadyStage is the default pod-ready stage, delayed, for marked images.
func slowReadyStage() string {
	s := strings.Replace(podfast.DefaultPodReady, "name: pod-ready", "name: pod-ready-slow", 1)
	s = withSelector(s, `
    - key: '.spec.containers[0].image | contains("`+SlowStartMarker+`")'
      operator: 'In'
      values:
      - 'true'`)
	return strings.Replace(s, "\n  next:", fmt.Sprintf("\n  delay:\n    durationMilliseconds: %d\n  next:", SlowStart.Milliseconds()), 1)
}

// withSelector adds extra match expressions to a Stage document's selector.
func withSelector(stage, extra string) string {
	const anchor = "  selector:\n    matchExpressions:"
	return strings.Replace(stage, anchor, anchor+extra, 1)
}

// kwokConfig returns the KwokConfiguration followed by every Stage.
func kwokConfig() string {
	docs := []string{
		kwokOptions,
		nodefast.DefaultNodeInit,
		nodelease.DefaultNodeHeartbeatWithLease,
		withSelector(podfast.DefaultPodReady, notMarked),
		withSelector(podfast.DefaultPodComplete, notCompleting),
		podfast.DefaultPodDelete,
		neverReadyStage,
		failStage,
		slowReadyStage(),
	}
	for i, d := range docs {
		docs[i] = strings.TrimSpace(d)
	}
	return strings.Join(docs, "\n---\n") + "\n"
}
