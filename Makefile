# twelvefactor-operator

K8S_VERSION ?= 1.37.2
# The control plane is built from source into a per-user cache keyed by version,
# so every clone on this machine reuses it (see hack/build-controlplane.sh).
TWELVEFACTOR_ASSETS ?= $(or $(XDG_DATA_HOME),$(HOME)/.local/share)/twelvefactor-operator/k8s/$(K8S_VERSION)
export TWELVEFACTOR_ASSETS
export KUBEBUILDER_ASSETS = $(TWELVEFACTOR_ASSETS)

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
IMG ?= ghcr.io/twelvefactor/twelvefactor-operator:$(VERSION)
LDFLAGS := -s -w -X github.com/twelvefactor/twelvefactor-operator/internal/manager.Version=$(VERSION)
GO_BUILD := CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)"

BIN := $(CURDIR)/bin
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT ?= $(or $(XDG_DATA_HOME),$(HOME)/.local/share)/twelvefactor-operator/tools/golangci-lint-$(GOLANGCI_LINT_VERSION)
CONTROLLER_GEN := $(BIN)/controller-gen
HELM := $(BIN)/helm
KUSTOMIZE := $(BIN)/kustomize
GO_TEST_FLAGS ?= -timeout 40m

.DEFAULT_GOAL := help

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  %-16s %s\n", $$1, $$2 } /^##@/ { printf "\n%s\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Generate CRDs and RBAC from the API types and markers.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd paths="./api/...;./internal/..." \
		output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac
	@hack/sync-chart.sh

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate deepcopy code.
	$(CONTROLLER_GEN) object:headerFile=hack/boilerplate.go.txt paths="./api/..."

.PHONY: fmt
fmt: ## Run gofmt.
	gofmt -w $$(git ls-files '*.go')

.PHONY: vet
vet: ## Run go vet.
	go vet ./...

.PHONY: lint
lint: vet $(GOLANGCI_LINT) ## Check formatting, vet, and golangci-lint's small set (.golangci.yml).
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GOLANGCI_LINT) run ./...

# golangci-lint is built from hack/lint once per machine, into the per-user
# cache beside the control plane (about 3 minutes the first time).
$(GOLANGCI_LINT):
	@mkdir -p $(dir $@)
	cd hack/lint && CGO_ENABLED=0 go build -trimpath -o $@.tmp github.com/golangci/golangci-lint/v2/cmd/golangci-lint
	@mv $@.tmp $@

.PHONY: controlplane
controlplane: ## Build kube-apiserver, etcd, kubectl, controller-manager, scheduler and kwok from source (once).
	@hack/build-controlplane.sh >/dev/null

.PHONY: test
test: controlplane ## Run every test: unit, envtest integration and the simulated-cluster e2e.
	go test $(GO_TEST_FLAGS) ./...

.PHONY: test-unit
test-unit: ## Run the unit tests only (no control plane).
	go test -short ./...

.PHONY: test-e2e
test-e2e: controlplane ## Run the end-to-end tests on the simulated cluster.
	go test $(GO_TEST_FLAGS) -v ./test/e2e/...

.PHONY: bench
bench: controlplane ## Run the scale benchmark (not part of CI).
	cd test/bench && go run . $(BENCH_FLAGS)

.PHONY: verify
verify: generate manifests lint ## Fail when regeneration or formatting leaves the tree dirty.
	@if [ -n "$$(git status --porcelain -- api config charts internal cmd)" ]; then \
		echo "Generated files are out of date; run 'make generate manifests' and commit:"; \
		git status --porcelain -- api config charts internal cmd; git diff --stat; exit 1; fi

##@ Build

.PHONY: build
build: ## Build the manager and the kubectl plugin into ./bin.
	$(GO_BUILD) -o $(BIN)/manager ./cmd/manager
	$(GO_BUILD) -o $(BIN)/kubectl-twelvefactor ./cmd/kubectl-twelvefactor

.PHONY: run
run: ## Run the manager against the current kubeconfig.
	go run ./cmd/manager --log-format=console

.PHONY: demo
demo: controlplane ## Start a simulated cluster, run the operator and deploy a sample app.
	go run ./hack/demo

.PHONY: docker-build
docker-build: ## Build the container image (needs a Docker engine).
	docker build --build-arg VERSION=$(VERSION) -t $(IMG) .

PLATFORMS ?= linux/amd64,linux/arm64
.PHONY: docker-buildx
docker-buildx: ## Build and push a multi-arch image with docker buildx (PLATFORMS, IMG).
	docker buildx build --platform=$(PLATFORMS) --build-arg VERSION=$(VERSION) -t $(IMG) --push .

.PHONY: build-installer
build-installer: manifests $(KUSTOMIZE) ## Render config/default into dist/install.yaml.
	mkdir -p dist
	$(KUSTOMIZE) build config/default > dist/install.yaml

##@ Helm and GitOps

.PHONY: helm-lint
helm-lint: $(HELM) ## Sync the chart from config/ and lint it with --strict.
	@hack/sync-chart.sh
	$(HELM) lint --strict charts/twelvefactor-operator

.PHONY: helm-package
helm-package: manifests $(HELM) ## Package the chart into dist/.
	mkdir -p dist
	$(HELM) package charts/twelvefactor-operator --destination dist

.PHONY: test-gitops
test-gitops: controlplane $(HELM) $(KUSTOMIZE) ## Test the chart, the installer, the Dockerfile and the Argo CD health check.
	go test $(GO_TEST_FLAGS) ./test/gitops/...

##@ Tools

$(CONTROLLER_GEN): hack/tools/go.mod
	cd hack/tools && go build -o $(CONTROLLER_GEN) sigs.k8s.io/controller-tools/cmd/controller-gen

$(KUSTOMIZE): hack/tools/go.mod
	cd hack/tools && go build -o $(KUSTOMIZE) sigs.k8s.io/kustomize/kustomize/v5

$(HELM): hack/tools/go.mod
	cd hack/tools && go build -o $(HELM) helm.sh/helm/v4/cmd/helm
