package provider

import (
	"context"
	"encoding/base64"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
)

// refNamespace applies ESO's namespace rules for credentials: a SecretStore
// reads only its own namespace; a ClusterSecretStore reads the namespace
// given, or else the namespace of the object using it (referent auth).
func refNamespace(store esv1.GenericStore, userNS string, given *string, field string) (string, error) {
	if store.GetKind() == esv1.SecretStoreKind {
		if given != nil && *given != "" && *given != store.GetNamespace() {
			return "", fmt.Errorf("%s.namespace: a SecretStore may only use its own namespace %q, not %q", field, store.GetNamespace(), *given)
		}
		return store.GetNamespace(), nil
	}
	if given != nil && *given != "" {
		return *given, nil
	}
	return userNS, nil
}

// SecretKey reads the key sel names, for the field named field (used in errors).
func SecretKey(ctx context.Context, kube Kube, store esv1.GenericStore, userNS string, sel esv1.SecretKeySelector, field string) ([]byte, Ref, error) {
	ns, err := refNamespace(store, userNS, sel.Namespace, field)
	if err != nil {
		return nil, Ref{}, err
	}
	ref := Ref{Kind: "Secret", Namespace: ns, Name: sel.Name}
	if sel.Name == "" || sel.Key == "" {
		return nil, ref, fmt.Errorf("%s: name and key are required", field)
	}
	var s corev1.Secret
	if err := kube.Get(ctx, client.ObjectKey{Namespace: ns, Name: sel.Name}, &s); err != nil {
		return nil, ref, fmt.Errorf("%s: reading Secret %s/%s: %w", field, ns, sel.Name, err)
	}
	v, ok := s.Data[sel.Key]
	if !ok {
		return nil, ref, fmt.Errorf("%s: Secret %s/%s has no key %q", field, ns, sel.Name, sel.Key)
	}
	return v, ref, nil
}

// CABundle returns the PEM bundle given inline (base64, as ESO's caBundle)
// or through caProvider; nil when neither is set.
func CABundle(ctx context.Context, kube Kube, store esv1.GenericStore, userNS, inline string, p *esv1.CAProvider, field string) ([]byte, *Ref, error) {
	if inline != "" {
		pem, err := base64.StdEncoding.DecodeString(inline)
		if err != nil {
			return nil, nil, fmt.Errorf("%s.caBundle: not base64: %w", field, err)
		}
		return pem, nil, nil
	}
	if p == nil {
		return nil, nil, nil
	}
	ns, err := refNamespace(store, userNS, p.Namespace, field+".caProvider")
	if err != nil {
		return nil, nil, err
	}
	ref := &Ref{Kind: p.Type, Namespace: ns, Name: p.Name}
	key := client.ObjectKey{Namespace: ns, Name: p.Name}
	switch p.Type {
	case "Secret":
		var s corev1.Secret
		if err := kube.Get(ctx, key, &s); err != nil {
			return nil, nil, fmt.Errorf("%s.caProvider: reading Secret %s: %w", field, key, err)
		}
		if v, ok := s.Data[p.Key]; ok {
			return v, ref, nil
		}
	case "ConfigMap":
		var cm corev1.ConfigMap
		if err := kube.Get(ctx, key, &cm); err != nil {
			return nil, nil, fmt.Errorf("%s.caProvider: reading ConfigMap %s: %w", field, key, err)
		}
		if v, ok := cm.Data[p.Key]; ok {
			return []byte(v), ref, nil
		}
	default:
		return nil, nil, fmt.Errorf("%s.caProvider.type: %q is neither Secret nor ConfigMap", field, p.Type)
	}
	return nil, nil, fmt.Errorf("%s.caProvider: %s %s has no key %q", field, p.Type, key, p.Key)
}
