# Keyward's developer entry points. `make help` lists them.
SHELL := /usr/bin/env bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS := -X github.com/keyward/keyward/internal/version.version=$(VERSION) \
           -X github.com/keyward/keyward/internal/version.commit=$(COMMIT)
CONTROLLER_GEN := $(GO) run sigs.k8s.io/controller-tools/cmd/controller-gen@v0.23.0

.PHONY: help build test generate bench demo vet cluster-binaries vault-binary

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

build: ## Build bin/keyward (and bin/kubeseal, the same binary under kubeseal's name)
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/keyward ./cmd/keyward
	ln -sf keyward bin/kubeseal

cluster-binaries: ## Build etcd, kube-apiserver, kube-controller-manager, kubectl once into the version cache
	@hack/kubetools/build.sh >/dev/null

vault-binary: ## Build HashiCorp Vault v1.14.2 (MPL-2.0) once into the version cache, for the Vault tests
	@hack/vaulttools/build.sh >/dev/null

generate: ## Regenerate deepcopy code and CRDs from api/
	$(CONTROLLER_GEN) object paths=./api/...
	$(CONTROLLER_GEN) crd paths=./api/... output:crd:dir=deploy/crds

vet: ## go vet every package
	$(GO) vet ./...

test: cluster-binaries vault-binary vet ## go vet, then every test, including those against the real test cluster
	KUBEBUILDER_ASSETS="$$(hack/kubetools/build.sh)" $(GO) test -count=1 -timeout 30m ./...

bench: cluster-binaries ## Run the benchmarks
	KUBEBUILDER_ASSETS="$$(hack/kubetools/build.sh)" $(GO) test -run '^$$' -bench . -benchmem ./...

demo: build cluster-binaries ## Start a local cluster and show Keyward working on it
	hack/demo.sh
