// Package source reads the Secrets a migration starts from: a namespace of
// a cluster, a Git tree of manifests (source files, Lists, kustomize
// secretGenerator inputs), or SealedSecrets opened with a key backup. Each
// Secret comes with where it was found, so a step can write next to it and,
// when asked, remove exactly that plaintext afterwards.
package source

import (
	"context"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Kind says where a Secret was found.
type Kind string

const (
	// FromCluster is a Secret read from the API server.
	FromCluster Kind = "cluster"
	// FromManifest is a Secret document in a YAML or JSON file.
	FromManifest Kind = "manifest"
	// FromList is an item of a v1 List (or SecretList) in a file.
	FromList Kind = "list"
	// FromKustomize is a kustomization's secretGenerator entry.
	FromKustomize Kind = "kustomize"
	// FromSealed is a SealedSecret opened with a private key.
	FromSealed Kind = "sealed"
)

// Origin is where one Secret was found.
type Origin struct {
	Kind Kind
	// File is the manifest, the kustomization.yaml or the SealedSecret
	// file; "" for a Secret read from a cluster.
	File string
	// Index is the document's position in File (0-based), and for a List
	// the item's position in it.
	Index, Item int
	// Inputs are the files a secretGenerator entry reads (files, envs),
	// which hold plaintext too.
	Inputs []string
}

// Secret is one Secret to migrate and where it came from.
type Secret struct {
	Secret *corev1.Secret
	Origin Origin
	// ManagedBy names the object that already controls the Secret in the
	// cluster ("SealedSecret/name", "ExternalSecret/name"), "" when none.
	ManagedBy string
}

// Key is the Secret's namespace/name.
func (s Secret) Key() string { return s.Secret.Namespace + "/" + s.Secret.Name }

// Skipped reports why a Secret in a cluster is not the user's to migrate:
// tokens the cluster makes, Helm's release records, sealing keys.
func Skipped(s *corev1.Secret) string {
	switch {
	case s.Type == corev1.SecretTypeServiceAccountToken:
		return "a ServiceAccount token the cluster manages"
	case s.Type == corev1.SecretTypeBootstrapToken:
		return "a bootstrap token"
	case s.Type == "helm.sh/release.v1":
		return "a Helm release record"
	case s.Labels["sealedsecrets.bitnami.com/sealed-secrets-key"] != "":
		return "a sealing key"
	}
	return ""
}

// ClusterOptions selects Secrets of one namespace.
type ClusterOptions struct {
	Namespace string
	// Selector is a label selector ("" = all).
	Selector string
	// Names, when set, keeps only these Secrets.
	Names []string
}

// Cluster reads the Secrets of a namespace, sorted by name, leaving out
// those Skipped names. The second result lists the ones left out, by
// namespace/name, with why.
func Cluster(ctx context.Context, cs kubernetes.Interface, o ClusterOptions) ([]Secret, map[string]string, error) {
	if o.Namespace == "" {
		return nil, nil, fmt.Errorf("no namespace given")
	}
	want := map[string]bool{}
	for _, n := range o.Names {
		want[n] = true
	}
	var out []Secret
	skipped := map[string]string{}
	opts := metav1.ListOptions{LabelSelector: o.Selector, Limit: 500}
	for {
		list, err := cs.CoreV1().Secrets(o.Namespace).List(ctx, opts)
		if err != nil {
			return nil, nil, fmt.Errorf("listing Secrets in namespace %s: %w", o.Namespace, err)
		}
		for i := range list.Items {
			s := &list.Items[i]
			if len(want) > 0 && !want[s.Name] {
				continue
			}
			if why := Skipped(s); why != "" {
				skipped[s.Namespace+"/"+s.Name] = why
				continue
			}
			s.ManagedFields = nil
			out = append(out, Secret{Secret: s, Origin: Origin{Kind: FromCluster}, ManagedBy: controlledBy(s)})
		}
		if list.Continue == "" {
			break
		}
		opts.Continue = list.Continue
	}
	for n := range want {
		found := false
		for _, s := range out {
			found = found || s.Secret.Name == n
		}
		if _, skip := skipped[o.Namespace+"/"+n]; !found && !skip {
			return nil, nil, fmt.Errorf("Secret %s/%s not found", o.Namespace, n)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Secret.Name < out[j].Secret.Name })
	return out, skipped, nil
}

// controlledBy names the Secret's controller owner, if any.
func controlledBy(s *corev1.Secret) string {
	for _, r := range s.OwnerReferences {
		if r.Controller != nil && *r.Controller {
			return r.Kind + "/" + r.Name
		}
	}
	return ""
}

// ByName lists every Secret of ns, page by page, by name.
func ByName(ctx context.Context, cs kubernetes.Interface, ns string) (map[string]*corev1.Secret, error) {
	out := map[string]*corev1.Secret{}
	opts := metav1.ListOptions{Limit: 500}
	for {
		l, err := cs.CoreV1().Secrets(ns).List(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("listing Secrets in %s: %w", ns, err)
		}
		for i := range l.Items {
			out[l.Items[i].Name] = &l.Items[i]
		}
		if l.Continue == "" {
			return out, nil
		}
		opts.Continue = l.Continue
	}
}
