# Keyward's developer entry points. `make help` lists them.
SHELL := /usr/bin/env bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
# The image's tag is the release the manifests and the chart name
# (charts/keyward appVersion), so `make image` gives what deploy/keyward.yaml runs.
IMAGE_TAG ?= $(shell awk '/^appVersion:/ {print $$2}' charts/keyward/Chart.yaml)
LDFLAGS := -X github.com/keyward/keyward/internal/version.version=$(VERSION) \
           -X github.com/keyward/keyward/internal/version.commit=$(COMMIT)
CONTROLLER_GEN := $(GO) run sigs.k8s.io/controller-tools/cmd/controller-gen@v0.23.0
# The packages whose kubebuilder RBAC markers make each pillar's role
# (keep in step with test/generated).
RBAC_SEALED_SECRETS := paths=./internal/controller/sealedsecret paths=./internal/keys
RBAC_EXTERNAL_SECRETS := paths=./internal/controller/externalsecret paths=./internal/controller/secretstore \
	paths=./internal/controller/clusterexternalsecret paths=./internal/controller/pushsecret paths=./internal/controller/storeref paths=./internal/provider
RBAC_AUDIT := paths=./internal/controller/auditrun
RBAC_RELOAD := paths=./internal/controller/reload

.PHONY: help build test tools generate manifests image bench demo vet cluster-binaries node-binaries vault-binary peer-binaries browser-tools bench-peers bench-audit

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

build: ## Build bin/keyward (and bin/kubeseal and bin/kubectl-keyward, the same binary under those names)
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/keyward ./cmd/keyward
	ln -sf keyward bin/kubeseal
	ln -sf keyward bin/kubectl-keyward

image: ## Build the container image as an OCI layout in bin/oci (no Docker engine needed)
	CGO_ENABLED=0 GOOS=linux $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/linux/keyward ./cmd/keyward
	cd hack/release && $(GO) run ./cmd/image -binary ../../bin/linux/keyward -out ../../bin/oci \
		-version $(VERSION) -revision $(COMMIT) -ref ghcr.io/keyward/keyward:$(IMAGE_TAG)

manifests: ## Build deploy/keyward.yaml from the kustomize bases in deploy/
	cd hack/release && $(GO) run ./cmd/manifests -root ../..

cluster-binaries: ## Build etcd, kube-apiserver, kube-controller-manager, kubectl once into the version cache
	@hack/kubetools/build.sh >/dev/null

node-binaries: cluster-binaries ## Build the test node (kubelet, kube-scheduler, kube-proxy, containerd, the pause image) once into the version cache; installs Debian's runc, CNI plugins and iptables (as root)
	@hack/nodetools/build.sh >/dev/null

vault-binary: ## Build HashiCorp Vault v1.14.2 (MPL-2.0) once into the version cache, for the Vault tests
	@hack/vaulttools/build.sh >/dev/null

peer-binaries: ## Build the tools Keyward replaces (kubeseal, Bitnami's controller, gitleaks, ESO) once into the version cache
	@hack/peertools/build.sh >/dev/null

browser-tools: ## Install chromium (apt-get, as root) when missing and axe-core (npm ci) into the version cache, for the browser tests
	@hack/browsertools/install.sh >/dev/null

generate: ## Regenerate deepcopy code and CRDs from api/, each pillar's RBAC from the controllers' markers, and deploy/keyward.yaml
	$(CONTROLLER_GEN) object paths=./api/...
	$(CONTROLLER_GEN) crd paths=./api/... output:crd:dir=deploy/crds
	$(CONTROLLER_GEN) rbac:roleName=keyward-sealed-secrets $(RBAC_SEALED_SECRETS) output:rbac:dir=deploy/components/sealed-secrets
	$(CONTROLLER_GEN) rbac:roleName=keyward-external-secrets $(RBAC_EXTERNAL_SECRETS) output:rbac:dir=deploy/components/external-secrets
	$(CONTROLLER_GEN) rbac:roleName=keyward-audit $(RBAC_AUDIT) output:rbac:dir=deploy/components/audit
	$(CONTROLLER_GEN) rbac:roleName=keyward-reload $(RBAC_RELOAD) output:rbac:dir=deploy/components/reload
	$(MAKE) manifests

vet: ## go vet every package
	$(GO) vet ./...

# The tool builds and vet run side by side: a cold machine spends much of
# each build downloading modules and linking on one core. The node comes
# after the control plane, whose compiled packages it reuses.
tools: ## Build every test server, the node and the peers into the version cache, install the browser tools, and go vet, all side by side
	$(MAKE) -j5 --no-print-directory node-binaries vault-binary peer-binaries browser-tools vet

test: tools ## go vet, then every test, including those against the real test cluster
	KUBEBUILDER_ASSETS="$$(hack/kubetools/build.sh)" $(GO) test -count=1 -timeout 30m ./...
	cd hack/release && $(GO) vet ./... && $(GO) test -count=1 -timeout 20m ./...

bench: cluster-binaries ## Run the benchmarks
	KUBEBUILDER_ASSETS="$$(hack/kubetools/build.sh)" $(GO) test -run '^$$' -bench . -benchmem -timeout 60m ./...

bench-peers: build cluster-binaries vault-binary peer-binaries ## Measure Keyward against kubeseal, Bitnami's controller, gitleaks and ESO on this machine (as root; Bitnami's controller at its defaults alone takes 20+ minutes); figures also in bin/bench-peers.json
	$(GO) run ./hack/benchpeers -keyward bin/keyward -out bin/bench-peers.json

bench-audit: build cluster-binaries ## Time `keyward audit access -o json` on a test cluster of 20,000 Secrets, 2,000 ServiceAccounts, 5,000 RoleBindings, 500 Roles; figures also in bin/bench-audit.json
	$(GO) run ./hack/benchaudit -keyward bin/keyward

demo: build image cluster-binaries node-binaries vault-binary ## Start a local cluster with a node, install Keyward on it as Pods and show it working (as root)
	hack/demo.sh
