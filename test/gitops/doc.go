// Package gitops tests what the project ships for installing and observing the
// operator: the Helm chart, the kustomize installer (config/default), the
// Dockerfile's build command and the Argo CD health check in
// resource_customizations/. Each is checked by the real tool or engine: helm
// lint and template, kustomize build, a server-side dry-run on a real
// kube-apiserver, `go build` and gopher-lua loaded the way Argo CD loads it.
//
// Run with `make test-gitops` or `go test ./test/gitops/`. bin/helm and
// bin/kustomize are built from the tools module (hack/tools) when missing.
package gitops
