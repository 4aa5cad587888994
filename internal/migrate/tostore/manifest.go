package tostore

import (
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
)

// FieldManager owns what migrate push applies.
const FieldManager = "keyward-migrate"

// externalSecret is the ExternalSecret that hands s over to the store:
// named and targeting s itself, one data entry per key. creationPolicy is
// Owner: the controller adopts an existing Secret in place (keeping its
// type, labels and other keys) and refuses, without touching it, a Secret
// something else still controls.
func externalSecret(s *corev1.Secret, rs []remote, ref esv1.SecretStoreRef, refresh time.Duration) *esv1.ExternalSecret {
	es := &esv1.ExternalSecret{
		ObjectMeta: metav1.ObjectMeta{Namespace: s.Namespace, Name: s.Name},
		Spec: esv1.ExternalSecretSpec{
			SecretStoreRef:  ref,
			RefreshInterval: &metav1.Duration{Duration: refresh},
			Target:          esv1.ExternalSecretTarget{Name: s.Name, CreationPolicy: esv1.CreatePolicyOwner},
		},
	}
	if s.Type != "" && s.Type != corev1.SecretTypeOpaque {
		// Only used when the Secret has to be made: an adopted one keeps its type.
		es.Spec.Target.Template = &esv1.ExternalSecretTemplate{Type: s.Type, EngineVersion: "v2", MergePolicy: "Merge"}
	}
	for _, r := range rs {
		for _, k := range r.Keys() {
			es.Spec.Data = append(es.Spec.Data, esv1.ExternalSecretData{
				SecretKey: k, RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: r.Path, Property: k},
			})
		}
	}
	slices.SortFunc(es.Spec.Data, func(a, b esv1.ExternalSecretData) int { return strings.Compare(a.SecretKey, b.SecretKey) })
	return es
}

// toUnstructured is es as an object of apiVersion (v1 or v1beta1 serve the
// same fields for what migrate writes), without status or server fields.
func toUnstructured(es *esv1.ExternalSecret, apiVersion string) (*unstructured.Unstructured, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(es)
	if err != nil {
		return nil, fmt.Errorf("ExternalSecret %s/%s: %w", es.Namespace, es.Name, err)
	}
	delete(m, "status")
	if md, ok := m["metadata"].(map[string]any); ok {
		delete(md, "creationTimestamp")
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetAPIVersion(esv1.GroupVersion.Group + "/" + apiVersion)
	u.SetKind("ExternalSecret")
	return u, nil
}

// manifest is es as a YAML file.
func manifest(es *esv1.ExternalSecret, apiVersion string) ([]byte, error) {
	u, err := toUnstructured(es, apiVersion)
	if err != nil {
		return nil, err
	}
	return yaml.Marshal(u.Object)
}

// sameSpec says whether the ExternalSecret in the cluster already asks for
// what want does, comparing the fields migrate sets (the API server fills
// in defaults for the rest); else what differs.
func sameSpec(have *unstructured.Unstructured, want *esv1.ExternalSecret) (bool, string) {
	var h esv1.ExternalSecret
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(have.Object, &h); err != nil {
		return false, "ExternalSecret exists and cannot be read"
	}
	kind := func(k string) string {
		if k == "" {
			return esv1.SecretStoreKind
		}
		return k
	}
	policy := func(p esv1.ExternalSecretCreationPolicy) esv1.ExternalSecretCreationPolicy {
		if p == "" {
			return esv1.CreatePolicyOwner
		}
		return p
	}
	hs, ws := h.Spec, want.Spec
	switch {
	case hs.SecretStoreRef.Name != ws.SecretStoreRef.Name || kind(hs.SecretStoreRef.Kind) != kind(ws.SecretStoreRef.Kind):
		return false, "ExternalSecret exists with another store"
	case hs.Target.Name != ws.Target.Name && !(hs.Target.Name == "" && h.Name == ws.Target.Name):
		return false, "ExternalSecret exists with another target"
	case policy(hs.Target.CreationPolicy) != policy(ws.Target.CreationPolicy):
		return false, "ExternalSecret exists with creationPolicy " + string(policy(hs.Target.CreationPolicy))
	case !sameEntries(hs.Data, ws.Data) || len(hs.DataFrom) > 0:
		return false, "ExternalSecret exists with other data"
	case hs.RefreshInterval == nil || ws.RefreshInterval == nil || hs.RefreshInterval.Duration != ws.RefreshInterval.Duration:
		return false, "ExternalSecret exists with another refreshInterval"
	case (hs.Target.Template == nil) != (ws.Target.Template == nil) ||
		hs.Target.Template != nil && hs.Target.Template.Type != ws.Target.Template.Type:
		return false, "ExternalSecret exists with another template"
	}
	return true, ""
}

func sameEntries(a, b []esv1.ExternalSecretData) bool {
	type entry struct{ secretKey, key, property, version string }
	set := func(ds []esv1.ExternalSecretData) []entry {
		out := make([]entry, 0, len(ds))
		for _, d := range ds {
			if d.SourceRef != nil || d.RemoteRef.DecodingStrategy != "" && d.RemoteRef.DecodingStrategy != "None" {
				out = append(out, entry{secretKey: "\x00other"})
				continue
			}
			out = append(out, entry{d.SecretKey, d.RemoteRef.Key, d.RemoteRef.Property, d.RemoteRef.Version})
		}
		slices.SortFunc(out, func(x, y entry) int { return strings.Compare(x.secretKey+"\x00"+x.key, y.secretKey+"\x00"+y.key) })
		return out
	}
	return slices.Equal(set(a), set(b))
}

// Manifest is the ExternalSecret for a Secret namespace/name with keys,
// stored at p: what `migrate promote --out` writes for an environment whose
// values are still to be put in the store.
func Manifest(ns, name string, keys []string, typ corev1.SecretType, p *Path, ref esv1.SecretStoreRef, refresh time.Duration, apiVersion string) ([]byte, error) {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Type: typ, Data: map[string][]byte{}}
	for _, k := range keys {
		s.Data[k] = nil
	}
	rs, err := layout(p, s)
	if err != nil {
		return nil, err
	}
	return manifest(externalSecret(s, rs, ref, refresh), apiVersion)
}
