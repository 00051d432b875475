#!/usr/bin/env bash
# Builds the control plane used by envtest, the simulated cluster and the demo,
# from source through the Go module proxy. Nothing is downloaded from anywhere else.
#
# Binaries go into a per-user cache keyed by version, so every clone on the machine
# reuses them:  ${TWELVEFACTOR_ASSETS:-~/.local/share/twelvefactor-operator/k8s/<version>}
# A binary that is already there is skipped, so a second run costs nothing.
# Prints the asset directory on stdout as its last line.
set -euo pipefail

K8S_VERSION=1.37.2
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${TWELVEFACTOR_ASSETS:-${XDG_DATA_HOME:-$HOME/.local/share}/twelvefactor-operator/k8s/$K8S_VERSION}
mkdir -p "$dir"

minor=${K8S_VERSION#*.}; minor=${minor%%.*}
stamp="-s -w -X k8s.io/component-base/version.gitVersion=v$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
stamp="$stamp -X k8s.io/client-go/pkg/version.gitVersion=v$K8S_VERSION -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor"

build() { # name module-dir package [ldflags]
  local name=$1 mod=$2 pkg=$3 flags=${4:-}
  if [ -x "$dir/$name" ]; then return 0; fi
  echo ">> building $name from $pkg (first run only)" >&2
  local start=$SECONDS
  (cd "$root/hack/$mod" && CGO_ENABLED=0 go build -trimpath -ldflags "$flags" -o "$dir/$name.tmp" "$pkg")
  mv "$dir/$name.tmp" "$dir/$name"
  echo ">> built $name in $((SECONDS - start))s" >&2
}

build etcd controlplane go.etcd.io/etcd/server/v3 "-s -w"
build kube-apiserver controlplane k8s.io/kubernetes/cmd/kube-apiserver "$stamp"
build kubectl controlplane k8s.io/kubernetes/cmd/kubectl "$stamp"
build kube-controller-manager controlplane k8s.io/kubernetes/cmd/kube-controller-manager "$stamp"
build kube-scheduler controlplane k8s.io/kubernetes/cmd/kube-scheduler "$stamp"
build kwok kwok sigs.k8s.io/kwok/cmd/kwok "-s -w"

echo "$dir"
