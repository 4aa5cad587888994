package sealing

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/seal"
)

// Scope decides which object facts are bound into a ciphertext, and so
// where it may be unsealed. It is package seal's, named here so that
// callers of sealing need no other package.
type Scope = seal.Scope

// The scopes, as package seal defines them.
const (
	Strict        = seal.Strict
	NamespaceWide = seal.NamespaceWide
	ClusterWide   = seal.ClusterWide
)

// ParseScope reads the kubeseal --scope spelling.
func ParseScope(s string) (Scope, error) { return seal.ParseScope(s) }

// ErrNoKey is the cause of an item that no key opens: sealed for a key not
// given, for another name or namespace, or altered.
var ErrNoKey = seal.ErrNoKey

// ScopeOf reads the scope annotations; cluster-wide wins when both are
// "true", and any other value counts as unset.
func ScopeOf(annotations map[string]string) Scope {
	switch {
	case annotations[ssv1.ClusterWideAnnotation] == "true":
		return ClusterWide
	case annotations[ssv1.NamespaceWideAnnotation] == "true":
		return NamespaceWide
	}
	return Strict
}

// Label is the label obj's values are sealed under: the scope its
// annotations say, with its namespace and name. A Secret and the
// SealedSecret made from it have the same one. This is the only place the
// label of an object is worked out, so sealing, opening, re-encrypting and
// the controller's digest cannot disagree.
func Label(obj metav1.Object) []byte {
	return seal.Label(ScopeOf(obj.GetAnnotations()), obj.GetNamespace(), obj.GetName())
}

// WithScope returns annotations rewritten to say scope: both scope
// annotations are removed and the one for scope (if any) is set. The input
// map is modified in place when non-nil.
func WithScope(annotations map[string]string, scope Scope) map[string]string {
	if annotations == nil {
		annotations = map[string]string{}
	}
	delete(annotations, ssv1.NamespaceWideAnnotation)
	delete(annotations, ssv1.ClusterWideAnnotation)
	switch scope {
	case NamespaceWide:
		annotations[ssv1.NamespaceWideAnnotation] = "true"
	case ClusterWide:
		annotations[ssv1.ClusterWideAnnotation] = "true"
	}
	return annotations
}
