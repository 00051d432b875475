#!/usr/bin/env bash
# Copies the generated CRDs into the Helm chart, so the chart never drifts from
# config/crd. Run by `make manifests`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
chart=$root/charts/twelvefactor-operator
[ -d "$chart" ] || exit 0
mkdir -p "$chart/crds"
cp "$root"/config/crd/bases/*.yaml "$chart/crds/"
