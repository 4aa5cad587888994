package externalsecret

import (
	"bytes"
	"crypto/sha3"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/esrender"
	"github.com/keyward/keyward/internal/specerr"
)

// ValueChangedAnnotation is when the target Secret's data last changed
// (RFC 3339, UTC). Writes that leave the data as it was keep it, so
// `keyward audit age` tells a rotated value from a refreshed one. ESO sets
// no such mark; this one is Keyward's own.
const ValueChangedAnnotation = "externalsecrets.keyward.dev/value-changed-at"

// markValueChange stamps ValueChangedAnnotation on want with now when its
// data differs from have's (nil have: a new Secret), and otherwise keeps
// have's stamp, or none: a Secret adopted unchanged has no known change
// time.
func markValueChange(want, have *corev1.Secret, now time.Time) {
	if have != nil && maps.EqualFunc(want.Data, have.Data, bytes.Equal) {
		if v, ok := have.Annotations[ValueChangedAnnotation]; ok {
			if want.Annotations == nil {
				want.Annotations = map[string]string{}
			}
			want.Annotations[ValueChangedAnnotation] = v
		} else {
			delete(want.Annotations, ValueChangedAnnotation)
		}
		return
	}
	if want.Annotations == nil {
		want.Annotations = map[string]string{}
	}
	want.Annotations[ValueChangedAnnotation] = now.UTC().Format(time.RFC3339)
}

// objectHash is ESO's ObjectHash: sha3-224 of the value printed with %+v.
// Using the same function keeps the data-hash annotation of ESO-made
// Secrets valid, so they are adopted without a rewrite.
func objectHash(v any) string {
	h := sha3.Sum224([]byte(fmt.Sprintf("%+v", v)))
	return hex.EncodeToString(h[:])
}

// dataHash is the value of the data-hash annotation for data.
func dataHash(data map[string][]byte) string { return objectHash(data) }

// fieldManager is the field manager an ExternalSecret writes its Secret
// with, as ESO names it.
func fieldManager(esName string) string {
	name := esv1.FieldManagerPrefix + esName
	if len(name) > 128 {
		name = esv1.FieldManagerPrefix + objectHash(esName)
	}
	return name
}

// createdBy is the created-by label value of an ExternalSecret.
func createdBy(es *esv1.ExternalSecret) string {
	return objectHash(es.Namespace + "/" + es.Name)
}

// isValid reports whether a Secret still holds what was last written to
// it: the managed label is there and the data matches its hash.
func isValid(s *corev1.Secret) bool {
	return s.Labels[esv1.LabelManaged] == esv1.LabelManagedValue &&
		s.Annotations[esv1.AnnotationDataHash] == dataHash(s.Data)
}

// owned lists what a field manager set on a Secret, read from managedFields.
type owned struct {
	data, labels, annotations map[string]bool
}

func ownedBy(s *corev1.Secret, manager string) owned {
	o := owned{data: map[string]bool{}, labels: map[string]bool{}, annotations: map[string]bool{}}
	for _, mf := range s.ManagedFields {
		if mf.Manager != manager || mf.FieldsV1 == nil {
			continue
		}
		var fields map[string]json.RawMessage
		if json.Unmarshal(mf.FieldsV1.Raw, &fields) != nil {
			continue
		}
		collect(fields["f:data"], o.data)
		var meta map[string]json.RawMessage
		if json.Unmarshal(fields["f:metadata"], &meta) == nil {
			collect(meta["f:labels"], o.labels)
			collect(meta["f:annotations"], o.annotations)
		}
	}
	return o
}

func collect(raw json.RawMessage, into map[string]bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return
	}
	for k := range m {
		if name, ok := strings.CutPrefix(k, "f:"); ok {
			into[name] = true
		}
	}
}

// desired returns the Secret as it should be after this sync: based on
// current (nil when there is none), with the keys, labels and annotations
// this ExternalSecret set before and no longer produces removed, and
// foreign ones kept.
func desired(es *esv1.ExternalSecret, name string, current *corev1.Secret, r esrender.Result) *corev1.Secret {
	var s *corev1.Secret
	if current == nil {
		s = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: es.Namespace, Name: name}}
	} else {
		s = current.DeepCopy()
		o := ownedBy(current, fieldManager(es.Name))
		for k := range o.data {
			delete(s.Data, k)
		}
		for k := range o.labels {
			delete(s.Labels, k)
		}
		for k := range o.annotations {
			delete(s.Annotations, k)
		}
	}
	if s.Data == nil {
		s.Data = map[string][]byte{}
	}
	maps.Copy(s.Data, r.Data)
	if s.Labels == nil {
		s.Labels = map[string]string{}
	}
	maps.Copy(s.Labels, r.Labels)
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	maps.Copy(s.Annotations, r.Annotations)
	for _, f := range r.Finalizers {
		if !slices.Contains(s.Finalizers, f) {
			s.Finalizers = append(s.Finalizers, f)
		}
	}
	if r.Type != "" && current == nil {
		s.Type = r.Type
	}
	if es.Spec.Target.Immutable && current == nil {
		yes := true
		s.Immutable = &yes
	}
	s.Labels[esv1.LabelManaged] = esv1.LabelManagedValue
	if es.Spec.Target.CreationPolicy == "" || es.Spec.Target.CreationPolicy == esv1.CreatePolicyOwner {
		s.Labels[esv1.LabelCreatedBy] = createdBy(es)
	}
	s.StringData = nil
	s.Annotations[esv1.AnnotationDataHash] = dataHash(s.Data)
	return s
}

// ownerRef is the controller reference an Owner-policy Secret carries.
func ownerRef(es *esv1.ExternalSecret) metav1.OwnerReference {
	yes := true
	return metav1.OwnerReference{
		APIVersion: esv1.GroupVersion.String(), Kind: "ExternalSecret", Name: es.Name, UID: es.UID,
		Controller: &yes, BlockOwnerDeletion: &yes,
	}
}

// setOwner makes es the Secret's controller, unless something else already is.
func setOwner(s *corev1.Secret, es *esv1.ExternalSecret) error {
	for i, ref := range s.OwnerReferences {
		if ref.Controller == nil || !*ref.Controller {
			continue
		}
		if ref.UID == es.UID {
			return nil
		}
		if ref.Kind == "ExternalSecret" && strings.HasPrefix(ref.APIVersion, esv1.GroupVersion.Group+"/") {
			if ref.Name == es.Name {
				// The same name with another UID: an ExternalSecret that was recreated.
				s.OwnerReferences[i] = ownerRef(es)
				return nil
			}
			return specerr.New("Secret %s/%s is owned by ExternalSecret %s", s.Namespace, s.Name, ref.Name)
		}
		return specerr.New("Secret %s/%s is controlled by %s %s", s.Namespace, s.Name, ref.Kind, ref.Name)
	}
	s.OwnerReferences = append(s.OwnerReferences, ownerRef(es))
	return nil
}

// sameSecret reports whether writing want over have would change anything.
func sameSecret(have, want *corev1.Secret) bool {
	return maps.EqualFunc(have.Data, want.Data, func(a, b []byte) bool { return string(a) == string(b) }) &&
		maps.Equal(have.Labels, want.Labels) && maps.Equal(have.Annotations, want.Annotations) &&
		slices.Equal(have.Finalizers, want.Finalizers) && have.Type == want.Type &&
		slices.EqualFunc(have.OwnerReferences, want.OwnerReferences, func(a, b metav1.OwnerReference) bool { return a.UID == b.UID && a.Name == b.Name })
}
