package pushsecret

import (
	"context"
	"errors"
	"fmt"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	esv1alpha1 "github.com/keyward/keyward/api/externalsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/controller/storeref"
	"github.com/keyward/keyward/internal/storeruntime"
)

// target is one store a PushSecret writes to.
type target struct {
	label string // "Kind/name", the key of status.syncedPushSecrets
	store *storeruntime.Store
}

// targets resolves spec.secretStoreRefs (by name or label selector).
func (r *Reconciler) targets(ctx context.Context, ps *esv1alpha1.PushSecret) ([]target, error) {
	var out []target
	seen := map[string]bool{}
	for i, ref := range ps.Spec.SecretStoreRefs {
		field := fmt.Sprintf("spec.secretStoreRefs[%d]", i)
		names := []string{ref.Name}
		if ref.Name == "" {
			if ref.LabelSelector == nil {
				return nil, fmt.Errorf("%s: give a name or a labelSelector", field)
			}
			var err error
			if names, err = r.storesBySelector(ctx, ps.Namespace, ref); err != nil {
				return nil, fmt.Errorf("%s.labelSelector: %w", field, err)
			}
		}
		for _, name := range names {
			kind := ref.Kind
			if kind == "" {
				kind = esv1.SecretStoreKind
			}
			label := storeLabel(kind, name)
			if seen[label] {
				continue
			}
			seen[label] = true
			gs, err := storeref.Resolve(ctx, r.Client, esv1.SecretStoreRef{Name: name, Kind: kind}, ps.Namespace, r.Class)
			if errors.Is(err, storeref.ErrOtherController) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %w", field, err)
			}
			s, err := r.Providers.Store(ctx, gs, ps.Namespace)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", field, err)
			}
			if !s.CanWrite() {
				return nil, fmt.Errorf("%s: %s cannot be written to", field, s.Name())
			}
			out = append(out, target{label: label, store: s})
		}
	}
	return out, nil
}

func (r *Reconciler) storesBySelector(ctx context.Context, ns string, ref esv1alpha1.PushSecretStoreRef) ([]string, error) {
	sel, err := metav1.LabelSelectorAsSelector(ref.LabelSelector)
	if err != nil {
		return nil, err
	}
	var names []string
	if ref.Kind == esv1.ClusterSecretStoreKind {
		var list esv1.ClusterSecretStoreList
		if err := r.Client.List(ctx, &list, client.MatchingLabelsSelector{Selector: sel}); err != nil {
			return nil, err
		}
		for _, s := range list.Items {
			names = append(names, s.Name)
		}
	} else {
		var list esv1.SecretStoreList
		if err := r.Client.List(ctx, &list, client.InNamespace(ns), client.MatchingLabelsSelector{Selector: sel}); err != nil {
			return nil, err
		}
		for _, s := range list.Items {
			names = append(names, s.Name)
		}
	}
	sort.Strings(names)
	return names, nil
}

func storeLabel(kind, name string) string {
	if kind == "" {
		kind = esv1.SecretStoreKind
	}
	return kind + "/" + name
}
