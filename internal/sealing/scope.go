package sealing

import (
	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/seal"
)

// ScopeOf reads the scope annotations; cluster-wide wins when both are
// "true", and any other value counts as unset.
func ScopeOf(annotations map[string]string) seal.Scope {
	switch {
	case annotations[ssv1.ClusterWideAnnotation] == "true":
		return seal.ClusterWide
	case annotations[ssv1.NamespaceWideAnnotation] == "true":
		return seal.NamespaceWide
	}
	return seal.Strict
}

// WithScope returns annotations rewritten to say scope: both scope
// annotations are removed and the one for scope (if any) is set. The input
// map is modified in place when non-nil.
func WithScope(annotations map[string]string, scope seal.Scope) map[string]string {
	if annotations == nil {
		annotations = map[string]string{}
	}
	delete(annotations, ssv1.NamespaceWideAnnotation)
	delete(annotations, ssv1.ClusterWideAnnotation)
	switch scope {
	case seal.NamespaceWide:
		annotations[ssv1.NamespaceWideAnnotation] = "true"
	case seal.ClusterWide:
		annotations[ssv1.ClusterWideAnnotation] = "true"
	}
	return annotations
}
