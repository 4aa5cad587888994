// Package storeref resolves the store an ExternalSecret or PushSecret
// names: it reads the SecretStore or ClusterSecretStore and decides whether
// the object may use it from its namespace.
package storeref

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
)

// ErrOtherController means the store belongs to another controller class:
// the object using it is none of this controller's business.
var ErrOtherController = errors.New("the store is served by another controller class")

// Resolve reads the store that ref names for an object in namespace
// and checks that it may be used from there: its controller class, a
// ClusterSecretStore's namespace conditions, and a configuration its own
// controller found invalid.
func Resolve(ctx context.Context, r client.Reader, ref esv1.SecretStoreRef, namespace, class string) (esv1.GenericStore, error) {
	if ref.Name == "" {
		return nil, errors.New("secretStoreRef.name: no store is named")
	}
	var store esv1.GenericStore
	switch ref.Kind {
	case "", esv1.SecretStoreKind:
		s := &esv1.SecretStore{}
		if err := r.Get(ctx, client.ObjectKey{Namespace: namespace, Name: ref.Name}, s); err != nil {
			return nil, fmt.Errorf("SecretStore %s/%s: %w", namespace, ref.Name, err)
		}
		store = s
	case esv1.ClusterSecretStoreKind:
		s := &esv1.ClusterSecretStore{}
		if err := r.Get(ctx, client.ObjectKey{Name: ref.Name}, s); err != nil {
			return nil, fmt.Errorf("ClusterSecretStore %s: %w", ref.Name, err)
		}
		ok, err := NamespaceAllowed(ctx, r, s.Spec.Conditions, namespace)
		if err != nil {
			return nil, fmt.Errorf("ClusterSecretStore %s: %w", ref.Name, err)
		}
		if !ok {
			return nil, fmt.Errorf("ClusterSecretStore %s: its spec.conditions do not allow namespace %s", ref.Name, namespace)
		}
		store = s
	default:
		return nil, fmt.Errorf("secretStoreRef.kind: %q is neither SecretStore nor ClusterSecretStore", ref.Kind)
	}
	if store.GetSpec().Controller != class {
		return nil, ErrOtherController
	}
	if store.GetSpec().Provider == nil {
		return nil, fmt.Errorf("%s %s: spec.provider is not set", store.GetKind(), store.GetName())
	}
	// A configuration the store controller refused will not work here either;
	// a failed validation may be passing trouble, so it does not stop a sync.
	for _, c := range store.GetStatus().Conditions {
		if c.Type == esv1.SecretStoreReady && c.Status == corev1.ConditionFalse &&
			(c.Reason == esv1.ReasonInvalidStoreConfig || c.Reason == esv1.ReasonInvalidProviderConfig) {
			return nil, fmt.Errorf("%s %s is not usable: %s", store.GetKind(), store.GetName(), c.Message)
		}
	}
	return store, nil
}

// NamespaceAllowed applies ClusterSecretStore conditions: no conditions
// allow every namespace; otherwise one matching condition is enough.
func NamespaceAllowed(ctx context.Context, r client.Reader, conds []esv1.ClusterSecretStoreCondition, namespace string) (bool, error) {
	if len(conds) == 0 {
		return true, nil
	}
	var ns *corev1.Namespace
	for i, c := range conds {
		if slices.Contains(c.Namespaces, namespace) {
			return true, nil
		}
		for _, expr := range c.NamespaceRegexes {
			re, err := regexp.Compile(expr)
			if err != nil {
				return false, fmt.Errorf("spec.conditions[%d].namespaceRegexes: %w", i, err)
			}
			if re.MatchString(namespace) {
				return true, nil
			}
		}
		if c.NamespaceSelector != nil {
			sel, err := metav1.LabelSelectorAsSelector(c.NamespaceSelector)
			if err != nil {
				return false, fmt.Errorf("spec.conditions[%d].namespaceSelector: %w", i, err)
			}
			if ns == nil {
				ns = &corev1.Namespace{}
				if err := r.Get(ctx, client.ObjectKey{Name: namespace}, ns); err != nil {
					return false, fmt.Errorf("reading namespace %s: %w", namespace, err)
				}
			}
			if sel.Matches(labels.Set(ns.Labels)) {
				return true, nil
			}
		}
	}
	return false, nil
}
