package sealing

import (
	"crypto/rsa"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/seal"
)

// SealInto seals secret's items into the existing SealedSecret dst (the
// --merge-into file), in place. The Secret takes dst's name, namespace and
// scope: the controller opens every item of dst with one label, so an item
// sealed under another scope would never open (kubeseal silently uses
// strict here). An explicit scope that contradicts dst's is an error.
// Template labels, annotations and data from the Secret are merged in too.
func SealInto(dst *ssv1.SealedSecret, secret *corev1.Secret, pub *rsa.PublicKey, o Options) error {
	target := ScopeOf(dst.Annotations)
	if o.Scope != nil && *o.Scope != target {
		return fmt.Errorf("SealedSecret %s has %s scope but --scope says %s; items in one SealedSecret share its scope", qualified(dst.Namespace, dst.Name), target, *o.Scope)
	}
	if dst.Name == "" {
		return fmt.Errorf("the SealedSecret to merge into has no metadata.name")
	}
	in := secret.DeepCopy()
	in.Name = dst.Name
	in.Namespace = dst.Namespace
	o.Name, o.Namespace, o.DefaultNamespace = "", "", ""
	o.Scope = &target
	if target != seal.ClusterWide && dst.Namespace == "" {
		return fmt.Errorf("SealedSecret %s has no namespace, which %s scope needs", dst.Name, target)
	}
	update, err := Seal(in, pub, o)
	if err != nil {
		return err
	}
	if dst.Spec.EncryptedData == nil {
		dst.Spec.EncryptedData = ssv1.SealedSecretEncryptedData{}
	}
	for k, v := range update.Spec.EncryptedData {
		dst.Spec.EncryptedData[k] = v
	}
	t := &dst.Spec.Template
	t.Labels = mergeMap(t.Labels, update.Spec.Template.Labels)
	t.Annotations = mergeMap(t.Annotations, update.Spec.Template.Annotations)
	t.Data = mergeMap(t.Data, update.Spec.Template.Data)
	return nil
}

func mergeMap(dst, src map[string]string) map[string]string {
	if len(src) == 0 {
		return dst
	}
	if dst == nil {
		dst = make(map[string]string, len(src))
	}
	for k, v := range src {
		dst[k] = v
	}
	return dst
}
