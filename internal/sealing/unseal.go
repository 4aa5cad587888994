package sealing

import (
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/seal"
	"github.com/keyward/keyward/internal/template"
)

// ItemError is one item that could not be unsealed or rendered.
type ItemError struct {
	Item string
	Err  error
}

func (e *ItemError) Error() string { return fmt.Sprintf("item %q: %v", e.Item, e.Err) }
func (e *ItemError) Unwrap() error { return e.Err }

// UnsealError collects every item that failed in one SealedSecret, as the
// controller reports them together.
type UnsealError struct {
	Namespace, Name string
	Items           []*ItemError
}

func (e *UnsealError) Error() string {
	parts := make([]string, len(e.Items))
	for i, it := range e.Items {
		parts[i] = it.Error()
	}
	return fmt.Sprintf("SealedSecret %s: %s", qualified(e.Namespace, e.Name), strings.Join(parts, "; "))
}

// Unwrap lets errors.Is find seal.ErrNoKey and friends.
func (e *UnsealError) Unwrap() []error {
	out := make([]error, len(e.Items))
	for i, it := range e.Items {
		out[i] = it
	}
	return out
}

func qualified(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}

// Unseal builds the Secret the controller would write for ss, using the
// first key that opens each item. The label comes from the SealedSecret's
// own namespace, name and top-level scope annotations, so a strict value
// moved to another name does not open. Template data is rendered with the
// decrypted items. Unless the template says
// skip-set-owner-references, the Secret is owned by the SealedSecret.
func Unseal(ss *ssv1.SealedSecret, keys []*rsa.PrivateKey) (*corev1.Secret, error) {
	secret, _, err := UnsealUsing(ss, keys)
	return secret, err
}

// UnsealUsing is Unseal that also returns which of keys opened the items:
// their indexes, sorted and distinct. A controller records these so an
// operator can tell when an old key no longer opens anything.
func UnsealUsing(ss *ssv1.SealedSecret, keys []*rsa.PrivateKey) (*corev1.Secret, []int, error) {
	label := Label(ss)
	var secret corev1.Secret
	used := make([]bool, len(keys))
	if ss.Spec.Data != nil {
		if len(ss.Spec.EncryptedData) > 0 {
			return nil, nil, fmt.Errorf("SealedSecret %s: cannot use encryptedData and the deprecated data field together", qualified(ss.Namespace, ss.Name))
		}
		plain, idx, err := seal.Open(keys, label, ss.Spec.Data)
		if err != nil {
			return nil, nil, &UnsealError{ss.Namespace, ss.Name, []*ItemError{{Item: "spec.data", Err: err}}}
		}
		used[idx] = true
		if err := json.Unmarshal(plain, &secret); err != nil {
			return nil, nil, fmt.Errorf("SealedSecret %s: deprecated spec.data does not hold a Secret", qualified(ss.Namespace, ss.Name))
		}
	} else {
		ss.Spec.Template.ObjectMeta.DeepCopyInto(&secret.ObjectMeta)
		secret.Type = ss.Spec.Template.Type
		if ss.Spec.Template.Immutable != nil {
			v := *ss.Spec.Template.Immutable
			secret.Immutable = &v
		}
		secret.Data = map[string][]byte{}
		plain := map[string]string{}
		var failed []*ItemError
		for _, k := range sortedKeys(ss.Spec.EncryptedData) {
			v, idx, err := seal.OpenString(keys, label, ss.Spec.EncryptedData[k])
			if err != nil {
				failed = append(failed, &ItemError{Item: k, Err: err})
				continue
			}
			used[idx] = true
			secret.Data[k] = v
			plain[k] = string(v)
		}
		for _, k := range sortedKeys(ss.Spec.Template.Data) {
			// template.Render's errors name the template, position and a
			// fixed description: never a value, in any encoding.
			out, err := template.Render("spec.template.data["+k+"]", ss.Spec.Template.Data[k], plain)
			if err != nil {
				failed = append(failed, &ItemError{Item: k, Err: err})
				continue
			}
			secret.Data[k] = out
		}
		if len(failed) > 0 {
			return nil, nil, &UnsealError{ss.Namespace, ss.Name, failed}
		}
	}
	secret.TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"}
	secret.Namespace = ss.Namespace
	secret.Name = ss.Name
	if ss.Spec.Template.Annotations[ssv1.SkipSetOwnerReferencesAnnotation] != "true" {
		yes := true
		secret.OwnerReferences = []metav1.OwnerReference{{
			APIVersion: ssv1.APIVersion,
			Kind:       ssv1.Kind,
			Name:       ss.Name,
			UID:        ss.UID,
			Controller: &yes,
		}}
	}
	var idx []int
	for i, u := range used {
		if u {
			idx = append(idx, i)
		}
	}
	return &secret, idx, nil
}
