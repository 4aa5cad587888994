package pushsecret

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1alpha1 "github.com/keyward/keyward/api/externalsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/esrender"
	"github.com/keyward/keyward/internal/generator"
	"github.com/keyward/keyward/internal/provider"
	"github.com/keyward/keyward/internal/storeruntime"
)

// push writes every entry to every store and returns what was written.
func (r *Reconciler) push(ctx context.Context, ps *esv1alpha1.PushSecret) (esv1alpha1.SyncedPushSecretsMap, error) {
	values, err := r.source(ctx, ps)
	if err != nil {
		return nil, err
	}
	rendered, err := esrender.Render(ctx, r.APIReader, ps.Namespace, "spec.template", ps.Spec.Template, values)
	if err != nil {
		return nil, err
	}
	values = rendered.Data
	targets, err := r.targets(ctx, ps)
	if err != nil {
		return nil, err
	}
	synced := esv1alpha1.SyncedPushSecretsMap{}
	for _, t := range targets {
		synced[t.label] = map[string]esv1alpha1.PushSecretData{}
		for i, d := range ps.Spec.Data {
			field := fmt.Sprintf("spec.data[%d]", i)
			value, err := pick(values, d.Match.SecretKey)
			if err != nil {
				return nil, fmt.Errorf("%s.match.secretKey: %w", field, err)
			}
			if err := r.write(ctx, ps, t.store, d.Match.RemoteRef, value); err != nil {
				return nil, fmt.Errorf("%s: %w", field, err)
			}
			synced[t.label][remoteID(d.Match.RemoteRef)] = d
		}
		for i, dt := range ps.Spec.DataTo {
			if dt.StoreRef != nil && dt.StoreRef.Name != "" && t.label != storeLabel(dt.StoreRef.Kind, dt.StoreRef.Name) {
				continue
			}
			entries, err := dataTo(values, dt, fmt.Sprintf("spec.dataTo[%d]", i))
			if err != nil {
				return nil, err
			}
			for _, e := range entries {
				if err := r.write(ctx, ps, t.store, e.Match.RemoteRef, e.value); err != nil {
					return nil, fmt.Errorf("spec.dataTo[%d]: %w", i, err)
				}
				synced[t.label][remoteID(e.Match.RemoteRef)] = e.PushSecretData
			}
		}
	}
	return synced, nil
}

// source reads the Secret the PushSecret selects (directly: it carries no label we watch).
// With a generatorRef, a new value is made on every push, once for all stores.
func (r *Reconciler) source(ctx context.Context, ps *esv1alpha1.PushSecret) (map[string][]byte, error) {
	if ref := ps.Spec.Selector.GeneratorRef; ref != nil {
		if ps.Spec.Selector.Secret != nil {
			return nil, errors.New("spec.selector: set either secret or generatorRef, not both")
		}
		g := generator.Resolver{Reader: r.APIReader, Stores: r.Providers}
		return g.Generate(ctx, ps.Namespace, *ref, "spec.selector.generatorRef")
	}
	sel := ps.Spec.Selector.Secret
	if sel == nil || (sel.Name == "" && sel.Selector == nil) {
		return nil, errors.New("spec.selector.secret: name a Secret or give a selector")
	}
	if sel.Name != "" {
		var s corev1.Secret
		if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: ps.Namespace, Name: sel.Name}, &s); err != nil {
			return nil, fmt.Errorf("spec.selector.secret.name: reading Secret %s/%s: %w", ps.Namespace, sel.Name, err)
		}
		return s.Data, nil
	}
	ls, err := metav1.LabelSelectorAsSelector(sel.Selector)
	if err != nil {
		return nil, fmt.Errorf("spec.selector.secret.selector: %w", err)
	}
	var list corev1.SecretList
	if err := r.APIReader.List(ctx, &list, client.InNamespace(ps.Namespace), client.MatchingLabelsSelector{Selector: ls}); err != nil {
		return nil, fmt.Errorf("spec.selector.secret.selector: listing Secrets: %w", err)
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	out := map[string][]byte{}
	for _, s := range list.Items {
		maps.Copy(out, s.Data)
	}
	return out, nil
}

// write pushes one value, honouring updatePolicy IfNotExists.
func (r *Reconciler) write(ctx context.Context, ps *esv1alpha1.PushSecret, s *storeruntime.Store, ref esv1alpha1.PushSecretRemoteRef, value []byte) error {
	if ps.Spec.UpdatePolicy == esv1alpha1.PushSecretUpdatePolicyIfNotExists {
		sec, _, err := s.Read(ctx, ref.RemoteKey, "", 0)
		if err == nil {
			if ref.Property == "" {
				return nil
			}
			if _, perr := sec.Property(ref.Property); perr == nil {
				return nil
			}
		} else if !errors.Is(err, provider.ErrNotFound) {
			return err
		}
	}
	return s.Write(ctx, ref.RemoteKey, ref.Property, value)
}

func remoteID(ref esv1alpha1.PushSecretRemoteRef) string {
	if ref.Property == "" {
		return ref.RemoteKey
	}
	return ref.RemoteKey + "/" + ref.Property
}
