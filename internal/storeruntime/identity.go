package storeruntime

import (
	"errors"
	"fmt"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/provider"
)

// The rule the Manager holds every provider to, whatever the provider
// says about itself: a SecretStore, which any namespace user may create,
// never acts with the controller's own identity (see
// provider.Provider.AmbientIdentity).

// ErrControllerIdentity is wrapped by the error the Manager returns for a
// SecretStore that would act with the controller's own identity or
// credentials (its ServiceAccount, its pod's token, a cloud default
// credential chain).
var ErrControllerIdentity = errors.New("only a ClusterSecretStore may act with the controller's identity")

// ControllerIdentityError names a SecretStore refused under
// ErrControllerIdentity and the field it must set.
type ControllerIdentityError struct {
	Store   string // Kind/namespace/name
	Field   string
	Instead string
}

func (e *ControllerIdentityError) Error() string {
	return fmt.Sprintf("%s: %s: a SecretStore must name its own credentials (%s); only a ClusterSecretStore may act with the controller's identity",
		e.Store, e.Field, e.Instead)
}

// Is makes the error match ErrControllerIdentity.
func (e *ControllerIdentityError) Is(target error) bool { return target == ErrControllerIdentity }

// checkIdentity refuses a SecretStore whose provider would act as the controller.
func checkIdentity(p provider.Provider, store esv1.GenericStore, label string) error {
	if store.GetKind() != esv1.SecretStoreKind {
		return nil
	}
	if f, instead := p.AmbientIdentity(store.GetSpec()); f != "" {
		return &ControllerIdentityError{Store: label, Field: f, Instead: instead}
	}
	return nil
}
