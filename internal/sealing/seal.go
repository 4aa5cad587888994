package sealing

import (
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/seal"
)

// Options control how Secrets are sealed; the zero value is kubeseal's
// default behaviour.
type Options struct {
	// Scope, when set, rewrites the Secret's scope annotations (--scope);
	// nil keeps the scope the annotations already say.
	Scope *Scope
	// Name replaces the Secret's name (--name).
	Name string
	// Namespace fills a missing namespace (-n); it is an error when it
	// differs from the one the Secret declares.
	Namespace string
	// DefaultNamespace fills a namespace still missing after Namespace (the
	// kubeconfig context's). Cluster-wide Secrets do not need one.
	DefaultNamespace string
	// AllowEmptyData seals Secrets without data or stringData.
	AllowEmptyData bool
	// Random is the source of session keys; nil means crypto/rand.
	Random io.Reader
}

// lastApplied annotations hold a full plaintext copy of an applied object;
// sealing one would publish the secret next to its ciphertext.
var lastApplied = []string{
	"kubectl.kubernetes.io/last-applied-configuration",
	"kubecfg.ksonnet.io/last-applied-configuration",
}

// Prepare applies the options to a copy of secret and checks it can be
// sealed: it has data (or AllowEmptyData), a name, and a namespace unless
// cluster-wide. Server-set metadata is cleared, as kubeseal does.
func Prepare(secret *corev1.Secret, o Options) (*corev1.Secret, error) {
	s := secret.DeepCopy()
	if o.Name != "" {
		s.Name = o.Name
	}
	what := "Secret"
	if s.Name != "" {
		what = fmt.Sprintf("Secret %q", s.Name)
	}
	if len(s.Data) == 0 && len(s.StringData) == 0 && !o.AllowEmptyData {
		return nil, fmt.Errorf("%s: data and stringData are empty; pass --allow-empty-data to seal an empty Secret", what)
	}
	if s.Name == "" {
		return nil, errors.New("Secret has no metadata.name; set it or pass --name")
	}
	if o.Namespace != "" {
		if s.Namespace != "" && s.Namespace != o.Namespace {
			return nil, fmt.Errorf("%s declares namespace %q but --namespace says %q", what, s.Namespace, o.Namespace)
		}
		s.Namespace = o.Namespace
	}
	if o.Scope != nil {
		s.Annotations = WithScope(s.Annotations, *o.Scope)
	}
	if ScopeOf(s.Annotations) != ClusterWide && s.Namespace == "" {
		if o.DefaultNamespace == "" {
			return nil, fmt.Errorf("%s has no namespace: set metadata.namespace or pass --namespace (%s scope binds the namespace)", what, ScopeOf(s.Annotations))
		}
		s.Namespace = o.DefaultNamespace
	}
	for _, k := range lastApplied {
		delete(s.Annotations, k)
	}
	s.SelfLink = ""
	s.UID = ""
	s.ResourceVersion = ""
	s.Generation = 0
	s.CreationTimestamp = metav1.Time{}
	s.DeletionTimestamp = nil
	s.DeletionGracePeriodSeconds = nil
	s.OwnerReferences = nil
	s.ManagedFields = nil
	return s, nil
}

// Seal prepares and seals one Secret.
func Seal(secret *corev1.Secret, pub *rsa.PublicKey, o Options) (*ssv1.SealedSecret, error) {
	out, err := SealAll([]*corev1.Secret{secret}, pub, o)
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

type job struct {
	secret  int
	key     string
	label   []byte
	value   []byte
	out     string
	session []byte
	err     error
}

// SealAll seals every Secret, spreading the items over all CPUs; the
// result is in input order and does not depend on scheduling. If any
// Secret fails, no SealedSecret is returned.
func SealAll(secrets []*corev1.Secret, pub *rsa.PublicKey, o Options) ([]*ssv1.SealedSecret, error) {
	out, receipts, err := SealAllKeyed(secrets, pub, o)
	for _, r := range receipts {
		r.Wipe()
	}
	return out, err
}

// SealAllKeyed is SealAll that also returns, per SealedSecret, a Receipt
// of the session keys its items were sealed under, so the caller can later
// prove what a copy of it read back from disk holds.
func SealAllKeyed(secrets []*corev1.Secret, pub *rsa.PublicKey, o Options) ([]*ssv1.SealedSecret, []*Receipt, error) {
	if pub == nil {
		return nil, nil, errors.New("no public key to seal with")
	}
	enc, err := seal.NewEncrypter(pub)
	if err != nil {
		return nil, nil, err
	}
	prepared := make([]*corev1.Secret, len(secrets))
	var jobs []job
	for i, in := range secrets {
		s, err := Prepare(in, o)
		if err != nil {
			if len(secrets) > 1 {
				return nil, nil, fmt.Errorf("input %d: %w", i+1, err)
			}
			return nil, nil, err
		}
		prepared[i] = s
		label := Label(s)
		items := Items(s)
		for _, k := range sortedKeys(items) {
			jobs = append(jobs, job{secret: i, key: k, label: label, value: items[k]})
		}
	}
	runJobs(jobs, enc, o.Random)
	out := make([]*ssv1.SealedSecret, len(prepared))
	receipts := make([]*Receipt, len(prepared))
	for i, s := range prepared {
		out[i] = newSealedSecret(s)
		receipts[i] = &Receipt{namespace: s.Namespace, name: s.Name, keys: map[string][]byte{}}
	}
	for _, j := range jobs {
		receipts[j.secret].keys[j.key] = j.session
	}
	for _, j := range jobs {
		if j.err != nil {
			for _, r := range receipts {
				r.Wipe()
			}
			s := prepared[j.secret]
			return nil, nil, fmt.Errorf("Secret %s/%s item %q: %w", s.Namespace, s.Name, j.key, j.err)
		}
		out[j.secret].Spec.EncryptedData[j.key] = j.out
	}
	return out, receipts, nil
}

// Items is what a Secret's items are once applied: data, with stringData
// over it, as the API server and kubeseal do (stringData wins for a key in
// both).
func Items(s *corev1.Secret) map[string][]byte {
	items := make(map[string][]byte, len(s.Data)+len(s.StringData))
	for k, v := range s.Data {
		items[k] = v
	}
	for k, v := range s.StringData {
		items[k] = []byte(v)
	}
	return items
}

// runJobs seals the items in parallel. RSA-OAEP under a 4096-bit key is the
// cost; everything else is bookkeeping.
func runJobs(jobs []job, enc *seal.Encrypter, random io.Reader) {
	run := parallel
	if random != nil {
		run = sequential // a caller's reader need not be goroutine-safe
	}
	run(len(jobs), func(i int) {
		j := &jobs[i]
		ct, key, err := enc.EncryptKeyed(random, j.label, j.value)
		if err != nil {
			j.err = err
			return
		}
		j.out = base64.StdEncoding.EncodeToString(ct)
		j.session = key
	})
}

// newSealedSecret builds the SealedSecret around a prepared Secret, without
// items: top-level metadata has only name, namespace and the scope
// annotation; the template carries the Secret's metadata, type and
// immutability.
func newSealedSecret(s *corev1.Secret) *ssv1.SealedSecret {
	ss := &ssv1.SealedSecret{
		TypeMeta: metav1.TypeMeta{APIVersion: ssv1.APIVersion, Kind: ssv1.Kind},
		ObjectMeta: metav1.ObjectMeta{
			Name:        s.Name,
			Namespace:   s.Namespace,
			Annotations: WithScope(nil, ScopeOf(s.Annotations)),
		},
		Spec: ssv1.SealedSecretSpec{
			Template: ssv1.SecretTemplateSpec{
				ObjectMeta: *s.ObjectMeta.DeepCopy(),
				Type:       s.Type,
				Immutable:  s.Immutable,
			},
			EncryptedData: ssv1.SealedSecretEncryptedData{},
		},
	}
	if len(ss.Annotations) == 0 {
		ss.Annotations = nil
	}
	return ss
}

// SealRaw seals one value for `--raw`. Strict scope needs namespace and
// name, namespace-wide needs the namespace, cluster-wide neither.
func SealRaw(pub *rsa.PublicKey, scope Scope, namespace, name string, value []byte, random io.Reader) (string, error) {
	switch {
	case scope != ClusterWide && namespace == "":
		return "", fmt.Errorf("--raw with %s scope needs --namespace", scope)
	case scope == Strict && name == "":
		return "", errors.New("--raw with strict scope needs --name")
	}
	return seal.EncryptToString(random, pub, seal.Label(scope, namespace, name), value)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
