package generator

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	genv1alpha1 "github.com/keyward/keyward/api/generators/v1alpha1"
	"github.com/keyward/keyward/internal/provider"
	"github.com/keyward/keyward/internal/specerr"
)

// vaultOwner is the generator a Vault spec comes from.
type vaultOwner struct {
	kind, namespace, name string
	uid                   types.UID
	generation            int64
	cluster               bool
}

// vault runs a VaultDynamicSecret spec. The spec is handed to the store
// Manager as a SecretStore of the generator's namespace (a
// ClusterSecretStore for a ClusterGenerator), so the Manager's rules hold
// unchanged: credentials only from that namespace, never the controller's
// identity, one logged-in client kept per generator. The store's name
// holds a '/', which no real store's name can, so the two never share a client.
func (r *Resolver) vault(ctx context.Context, spec *genv1alpha1.VaultDynamicSecretSpec, owner vaultOwner, usedFrom string) (map[string][]byte, error) {
	prefix := "spec"
	if owner.cluster {
		prefix = "spec.generator.vaultDynamicSecretSpec"
	}
	if spec.Provider == nil {
		return nil, specerr.New("%s.provider: required", prefix)
	}
	if strings.Trim(spec.Path, "/") == "" {
		return nil, specerr.New("%s.path: required", prefix)
	}
	var params map[string]any
	if spec.Parameters != nil && len(spec.Parameters.Raw) > 0 {
		if err := json.Unmarshal(spec.Parameters.Raw, &params); err != nil {
			return nil, specerr.New("%s.parameters: not a JSON object", prefix)
		}
	}
	if r.Stores == nil {
		return nil, fmt.Errorf("no store manager to reach Vault with")
	}
	meta := metav1.ObjectMeta{Name: storeName(owner.kind, owner.name), UID: owner.uid, Generation: owner.generation}
	storeSpec := esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{Vault: spec.Provider}, RetrySettings: spec.RetrySettings}
	var store esv1.GenericStore
	if owner.cluster {
		store = &esv1.ClusterSecretStore{ObjectMeta: meta, Spec: storeSpec}
	} else {
		meta.Namespace = owner.namespace
		store = &esv1.SecretStore{ObjectMeta: meta, Spec: storeSpec}
	}
	s, err := r.Stores.Store(ctx, store, usedFrom)
	if err != nil {
		// The Manager speaks of stores; say which field of the generator it means.
		return nil, fmt.Errorf("%s.provider, checked as a %s's spec.provider.vault: %w", prefix, store.GetKind(), err)
	}
	return s.Dynamic(ctx, provider.DynamicRequest{Method: spec.Method, Path: spec.Path, Parameters: params, Query: spec.GetParameters,
		Result: string(spec.ResultType), AllowEmpty: spec.AllowEmptyResponse})
}

// storeName is the name a generator's Vault client is kept under.
func storeName(kind, name string) string { return strings.ToLower(kind) + "/" + name }
