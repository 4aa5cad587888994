// Package generator runs ESO's generators (generators.external-secrets.io):
// Password, UUID, Fake, VaultDynamicSecret and the ClusterGenerator that
// wraps one of them. A generator keeps no state and every call makes new
// values, so an ExternalSecret refreshed each interval gets a new value
// each interval.
//
// Tenancy: a namespaced generator may only be used from its own namespace
// (a generatorRef has no namespace), and a VaultDynamicSecret is run as if
// it were a SecretStore of that namespace: it reads credentials only there
// and never acts with the controller's identity. A ClusterGenerator,
// which only a cluster administrator creates, is run as a
// ClusterSecretStore used from the referring namespace.
package generator

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	genv1alpha1 "github.com/keyward/keyward/api/generators/v1alpha1"
	"github.com/keyward/keyward/internal/controller/storeref"
	"github.com/keyward/keyward/internal/specerr"
	"github.com/keyward/keyward/internal/storeruntime"
)

// Resolver reads the generator a generatorRef names and runs it.
type Resolver struct {
	// Reader reads generators (directly: nothing watches them).
	Reader client.Reader
	// Stores builds and keeps the Vault clients of VaultDynamicSecrets,
	// under the same rules as SecretStores.
	Stores *storeruntime.Manager
	// Rand is the source of randomness (crypto/rand when nil).
	Rand io.Reader
	// Class, when set, is the controller class: a Fake or
	// VaultDynamicSecret whose spec.controller names another class is
	// refused with storeref.ErrOtherController (as ESO skips it; an empty
	// spec.controller is every class's).
	Class *string
}

func (r *Resolver) rand() io.Reader {
	if r.Rand != nil {
		return r.Rand
	}
	return rand.Reader
}

// Generate makes new values from the generator ref names, as used from
// namespace. field names the reference in errors (for example
// "spec.dataFrom[0].sourceRef.generatorRef"). Errors never hold a value.
func (r *Resolver) Generate(ctx context.Context, namespace string, ref esv1.GeneratorRef, field string) (map[string][]byte, error) {
	if ref.APIVersion != "" && ref.APIVersion != genv1alpha1.GroupVersion.String() {
		return nil, specerr.New("%s.apiVersion: %q is not %s", field, ref.APIVersion, genv1alpha1.GroupVersion)
	}
	if ref.Name == "" {
		return nil, specerr.New("%s.name: required", field)
	}
	var obj client.Object
	switch ref.Kind {
	case genv1alpha1.PasswordKind:
		obj = &genv1alpha1.Password{}
	case genv1alpha1.UUIDKind:
		obj = &genv1alpha1.UUID{}
	case genv1alpha1.FakeKind:
		obj = &genv1alpha1.Fake{}
	case genv1alpha1.VaultDynamicSecretKind:
		obj = &genv1alpha1.VaultDynamicSecret{}
	case genv1alpha1.ClusterGeneratorKind:
		obj = &genv1alpha1.ClusterGenerator{}
	default:
		return nil, specerr.New("%s.kind: Keyward runs the generators Password, UUID, Fake, VaultDynamicSecret and ClusterGenerator, not %q", field, ref.Kind)
	}
	key := client.ObjectKey{Namespace: namespace, Name: ref.Name}
	label := ref.Kind + " " + namespace + "/" + ref.Name
	if ref.Kind == genv1alpha1.ClusterGeneratorKind {
		key.Namespace = ""
		label = ref.Kind + " " + ref.Name
	}
	if err := r.Reader.Get(ctx, key, obj); err != nil {
		switch {
		case meta.IsNoMatchError(err) || apierrors.IsNotFound(err) && isMissingResource(err):
			return nil, fmt.Errorf("%s: the API server does not serve %s %s (its CRD is not installed)", field, genv1alpha1.GroupVersion, ref.Kind)
		case apierrors.IsNotFound(err):
			r.forget(ref.Kind, namespace, ref.Name)
			return nil, fmt.Errorf("%s: %s not found", field, label)
		}
		return nil, fmt.Errorf("%s: reading %s: %w", field, label, err)
	}
	if r.Class != nil {
		var c string
		switch g := obj.(type) {
		case *genv1alpha1.Fake:
			c = g.Spec.Controller
		case *genv1alpha1.VaultDynamicSecret:
			c = g.Spec.Controller
		}
		if c != "" && c != *r.Class {
			return nil, fmt.Errorf("%s: %s: %w", field, label, storeref.ErrOtherController)
		}
	}
	var out map[string][]byte
	var err error
	switch g := obj.(type) {
	case *genv1alpha1.Password:
		out, err = Password(g.Spec, r.rand())
	case *genv1alpha1.UUID:
		out, err = UUID(r.rand())
	case *genv1alpha1.Fake:
		out = Fake(g.Spec)
	case *genv1alpha1.VaultDynamicSecret:
		out, err = r.vault(ctx, &g.Spec, vaultOwner{kind: g.Kind, namespace: g.Namespace, name: g.Name, uid: g.UID, generation: g.Generation}, namespace)
	case *genv1alpha1.ClusterGenerator:
		out, err = r.cluster(ctx, g, namespace)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", field, label, err)
	}
	return out, nil
}

// forget closes the Vault client (and revokes the token it logged in for)
// that a deleted generator left in the store Manager.
func (r *Resolver) forget(kind, namespace, name string) {
	if r.Stores == nil {
		return
	}
	switch kind {
	case genv1alpha1.VaultDynamicSecretKind:
		r.Stores.Forget(esv1.SecretStoreKind, namespace, storeName(kind, name))
	case genv1alpha1.ClusterGeneratorKind:
		r.Stores.Forget(esv1.ClusterSecretStoreKind, "", storeName(kind, name))
	}
}

// isMissingResource tells a 404 for the resource type (no CRD, seen by a
// client that knew the kind) from one for the object.
func isMissingResource(err error) bool {
	var se apierrors.APIStatus
	if !errors.As(err, &se) {
		return false
	}
	d := se.Status().Details
	return d == nil || (d.Name == "" && d.Kind == "")
}

// cluster runs the generator a ClusterGenerator wraps: the spec set must be
// the one spec.kind names, and the only one.
func (r *Resolver) cluster(ctx context.Context, g *genv1alpha1.ClusterGenerator, namespace string) (map[string][]byte, error) {
	s := g.Spec.Generator
	set := 0
	for _, p := range []bool{s.PasswordSpec != nil, s.UUIDSpec != nil, s.FakeSpec != nil, s.VaultDynamicSecretSpec != nil} {
		if p {
			set++
		}
	}
	if set > 1 {
		return nil, specerr.New("spec.generator: set only the spec spec.kind names")
	}
	missing := func(f string) error {
		return specerr.New("spec.generator.%s: required for spec.kind %s", f, g.Spec.Kind)
	}
	switch string(g.Spec.Kind) {
	case genv1alpha1.PasswordKind:
		if s.PasswordSpec == nil {
			return nil, missing("passwordSpec")
		}
		return Password(*s.PasswordSpec, r.rand())
	case genv1alpha1.UUIDKind:
		if s.UUIDSpec == nil {
			return nil, missing("uuidSpec")
		}
		return UUID(r.rand())
	case genv1alpha1.FakeKind:
		if s.FakeSpec == nil {
			return nil, missing("fakeSpec")
		}
		return Fake(*s.FakeSpec), nil
	case genv1alpha1.VaultDynamicSecretKind:
		if s.VaultDynamicSecretSpec == nil {
			return nil, missing("vaultDynamicSecretSpec")
		}
		return r.vault(ctx, s.VaultDynamicSecretSpec, vaultOwner{kind: genv1alpha1.ClusterGeneratorKind, name: g.Name, uid: g.UID, generation: g.Generation, cluster: true}, namespace)
	}
	return nil, specerr.New("spec.kind: Keyward runs Password, UUID, Fake and VaultDynamicSecret, not %q", g.Spec.Kind)
}

// Fake returns spec.data as it is.
func Fake(spec genv1alpha1.FakeSpec) map[string][]byte {
	out := make(map[string][]byte, len(spec.Data))
	for k, v := range spec.Data {
		out[k] = []byte(v)
	}
	return out
}

// UUID returns a random (version 4) UUID under the key "uuid".
func UUID(rnd io.Reader) (map[string][]byte, error) {
	var b [16]byte
	if _, err := io.ReadFull(rnd, b[:]); err != nil {
		return nil, fmt.Errorf("reading random bytes: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	s := fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
	return map[string][]byte{"uuid": []byte(s)}, nil
}
