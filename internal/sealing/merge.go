package sealing

import (
	"crypto/rsa"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
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
	if target != ClusterWide && dst.Namespace == "" {
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
	t.Labels = MergeMap(t.Labels, update.Spec.Template.Labels)
	t.Annotations = MergeMap(t.Annotations, update.Spec.Template.Annotations)
	t.Data = MergeMap(t.Data, update.Spec.Template.Data)
	return nil
}

// MergeMap sets every entry of src in dst and returns dst, made when it is
// nil and there is something to set. It is how template maps take a
// sealed update and how a patch-annotated Secret takes its SealedSecret's.
func MergeMap[V any](dst, src map[string]V) map[string]V {
	if dst == nil && len(src) > 0 {
		dst = make(map[string]V, len(src))
	}
	for k, v := range src {
		dst[k] = v
	}
	return dst
}
