package seal

import "fmt"

// Scope decides which object facts are bound into a ciphertext through its
// OAEP label, and so where the value may be unsealed.
type Scope int

const (
	// Strict binds namespace and name: renaming or moving breaks decryption.
	Strict Scope = iota
	// NamespaceWide binds only the namespace.
	NamespaceWide
	// ClusterWide binds nothing (the label is empty).
	ClusterWide
)

// Scopes in flag order, for help texts.
var Scopes = []Scope{Strict, NamespaceWide, ClusterWide}

func (s Scope) String() string {
	switch s {
	case Strict:
		return "strict"
	case NamespaceWide:
		return "namespace-wide"
	case ClusterWide:
		return "cluster-wide"
	}
	return fmt.Sprintf("scope(%d)", int(s))
}

// ParseScope reads the kubeseal --scope spelling.
func ParseScope(s string) (Scope, error) {
	switch s {
	case "strict":
		return Strict, nil
	case "namespace-wide":
		return NamespaceWide, nil
	case "cluster-wide":
		return ClusterWide, nil
	}
	return Strict, fmt.Errorf("unknown scope %q: must be one of strict, namespace-wide, cluster-wide", s)
}

// Label is the OAEP label for a value sealed with scope for the object
// namespace/name: "ns/name", "ns" or empty.
func Label(scope Scope, namespace, name string) []byte {
	switch scope {
	case ClusterWide:
		return []byte{}
	case NamespaceWide:
		return []byte(namespace)
	default:
		return []byte(namespace + "/" + name)
	}
}
