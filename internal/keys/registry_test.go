package keys

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// keySecret is a key Secret for a pair made at made, created at created.
func keySecret(t *testing.T, name string, made, created time.Time) (*corev1.Secret, *Pair) {
	t.Helper()
	p, err := Generate(2048, "", time.Hour, made)
	if err != nil {
		t.Fatal(err)
	}
	s := p.Secret(DefaultNamespace, name, nil, nil)
	s.CreationTimestamp = metav1.NewTime(created)
	return s, p
}

func fingerprints(ks []Key) string {
	var out []string
	for _, k := range ks {
		out = append(out, k.Fingerprint[:8])
	}
	return strings.Join(out, ",")
}

func TestRegistryOrder(t *testing.T) {
	// The older certificate sits in the newer Secret, as after importing an
	// old key backup into a fresh cluster.
	older, olderPair := keySecret(t, "sealed-secrets-keyaaaaa", now.Add(-48*time.Hour), now)
	newer, newerPair := keySecret(t, "sealed-secrets-keybbbbb", now.Add(-time.Hour), now.Add(-24*time.Hour))
	olderFP, newerFP := Fingerprint(&olderPair.Key.PublicKey), Fingerprint(&newerPair.Key.PublicKey)
	tests := []struct {
		order       OrderPriority
		wantCurrent string
		wantCreated time.Time
	}{
		{OrderCertNotBefore, newerFP, now.Add(-time.Hour)},
		{OrderSecretCreationTimestamp, olderFP, now},
	}
	for _, tt := range tests {
		t.Run(string(tt.order), func(t *testing.T) {
			r := NewRegistry(nil, RegistryOptions{Order: tt.order})
			if _, ok := r.Current(); ok {
				t.Fatal("empty registry has a current key")
			}
			r.put(r.labelled, older)
			r.put(r.labelled, newer)
			cur, ok := r.Current()
			if !ok || cur.Fingerprint != tt.wantCurrent || !cur.Created.Equal(tt.wantCreated) {
				t.Fatalf("current = %s created %v, want %s created %v", cur.Fingerprint[:8], cur.Created, tt.wantCurrent[:8], tt.wantCreated)
			}
			all := r.All()
			if len(all) != 2 || all[0].Fingerprint != tt.wantCurrent {
				t.Fatalf("All = %s, want %s first", fingerprints(all), tt.wantCurrent[:8])
			}
			privs := r.PrivateKeys()
			if len(privs) != 2 || Fingerprint(&privs[0].PublicKey) != tt.wantCurrent {
				t.Fatal("PrivateKeys not newest first")
			}
			pem, pub, ok := r.CurrentCert()
			if !ok || Fingerprint(pub) != tt.wantCurrent || !strings.HasPrefix(string(pem), "-----BEGIN CERTIFICATE-----") {
				t.Fatalf("CurrentCert = %q, %v", pem, ok)
			}
		})
	}
}

func TestRegistryParse(t *testing.T) {
	good, pair := keySecret(t, "k", now, now)
	other := newPair(t)
	pkcs8, err := x509.MarshalPKCS8PrivateKey(pair.Key)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		edit    func(s *corev1.Secret)
		keys    int
		wantErr string
	}{
		{"PKCS#1", func(*corev1.Secret) {}, 1, ""},
		{"PKCS#8", func(s *corev1.Secret) {
			s.Data[corev1.TLSPrivateKeyKey] = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})
		}, 1, ""},
		{"certificate chain, ours second", func(s *corev1.Secret) {
			s.Data[corev1.TLSCertKey] = append(other.CertPEM(), pair.CertPEM()...)
		}, 1, ""},
		{"certificate of another key", func(s *corev1.Secret) {
			s.Data[corev1.TLSCertKey] = other.CertPEM()
		}, 0, "private key 1 has no matching certificate"},
		{"no certificate", func(s *corev1.Secret) { delete(s.Data, corev1.TLSCertKey) }, 0, "no CERTIFICATE PEM block"},
		{"no private key", func(s *corev1.Secret) { delete(s.Data, corev1.TLSPrivateKeyKey) }, 0, "no tls.key item"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := good.DeepCopy()
			tt.edit(s)
			r := NewRegistry(nil, RegistryOptions{})
			ks, err := r.parse(s)
			if len(ks) != tt.keys {
				t.Fatalf("keys = %d, want %d (err %v)", len(ks), tt.keys, err)
			}
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "PRIVATE KEY") {
				t.Fatalf("error quotes key material: %v", err)
			}
			if tt.keys == 1 && (ks[0].SecretName != "k" || ks[0].Fingerprint != Fingerprint(&pair.Key.PublicKey) || !ks[0].Cert.Equal(pair.Cert)) {
				t.Fatalf("key = %+v", ks[0])
			}
		})
	}
}

// Adding, changing and removing key Secrets changes the key set at once and
// tells subscribers; an update that changes no key says nothing.
func TestRegistryChanges(t *testing.T) {
	r := NewRegistry(nil, RegistryOptions{})
	changed := r.Subscribe()
	notified := func() bool {
		select {
		case <-changed:
			return true
		default:
			return false
		}
	}
	a, _ := keySecret(t, "a", now.Add(-time.Hour), now)
	b, bPair := keySecret(t, "b", now, now)
	legacy := a.DeepCopy()
	legacy.Name = DefaultKeyPrefix

	r.put(r.labelled, a)
	if !notified() || len(r.All()) != 1 {
		t.Fatal("add: no notification or key missing")
	}
	r.put(r.labelled, a.DeepCopy())
	if notified() {
		t.Fatal("unchanged update notified")
	}
	r.put(r.legacy, legacy) // the same key under the legacy name counts once
	if notified() || len(r.All()) != 1 {
		t.Fatalf("legacy copy: keys %d", len(r.All()))
	}
	r.put(r.labelled, b)
	if !notified() || r.sorted[0].Fingerprint != Fingerprint(&bPair.Key.PublicKey) {
		t.Fatal("newer key not current")
	}
	// Relabelled away from "active": the label watch reports a delete.
	r.drop(r.labelled, b)
	if !notified() || len(r.All()) != 1 {
		t.Fatal("relabelled key still there")
	}
	// Its content replaced by garbage: the Secret leaves the registry.
	broken := a.DeepCopy()
	broken.Data[corev1.TLSPrivateKeyKey] = []byte("garbage")
	r.drop(r.legacy, legacy)
	r.put(r.labelled, broken)
	if !notified() || len(r.All()) != 0 || len(r.PrivateKeys()) != 0 {
		t.Fatal("broken key Secret kept")
	}
}

func TestCreateKeySecret(t *testing.T) {
	kube := fake.NewClientset()
	// The fake API server does not implement generateName.
	kube.PrependReactor("create", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		s := a.(k8stesting.CreateAction).GetObject().(*corev1.Secret)
		if s.Name == "" {
			s.Name = s.GenerateName + "xyz12"
		}
		return false, nil, nil
	})
	r := NewRegistry(kube.CoreV1(), RegistryOptions{Namespace: "sealing", Prefix: "my-key", KeySize: 2048, CN: "team",
		Labels: map[string]string{"team": "a"}, Annotations: map[string]string{"note": "b"}})
	k, err := r.Rotate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s, err := kube.CoreV1().Secrets("sealing").Get(context.Background(), "my-keyxyz12", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s.GenerateName != "my-key" || s.Type != corev1.SecretTypeTLS || s.Labels[KeyLabel] != KeyLabelActive ||
		s.Labels["team"] != "a" || s.Annotations["note"] != "b" {
		t.Fatalf("key Secret %+v", s.ObjectMeta)
	}
	if k.SecretName != s.Name || k.Cert.Subject.CommonName != "team" || k.Private.N.BitLen() != 2048 {
		t.Fatalf("key %+v", k)
	}
	if cur, ok := r.Current(); !ok || cur.Fingerprint != k.Fingerprint {
		t.Fatal("rotated key not current at once")
	}
	// A second rotation right after must win, despite whole-second times.
	kube.PrependReactor("create", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		a.(k8stesting.CreateAction).GetObject().(*corev1.Secret).Name = "my-keysecond"
		return false, nil, nil
	})
	k2, err := r.Rotate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if cur, _ := r.Current(); cur.Fingerprint != k2.Fingerprint || !k2.Created.After(k.Created) {
		t.Fatalf("second key not current: created %v after %v", k2.Created, k.Created)
	}
}

func TestRenewerDue(t *testing.T) {
	tests := []struct {
		name    string
		newest  time.Duration // age of the newest key; 0: no key
		period  time.Duration
		cutoff  time.Time
		atStart bool
		due     bool
		wait    time.Duration
	}{
		{"no key", 0, 720 * time.Hour, time.Time{}, true, true, 0},
		{"young key", time.Hour, 720 * time.Hour, time.Time{}, true, false, 719 * time.Hour},
		{"old key", 721 * time.Hour, 720 * time.Hour, time.Time{}, false, true, 0},
		{"renewal off", 10000 * time.Hour, 0, time.Time{}, false, false, 0},
		{"cutoff after key", time.Hour, 0, now.Add(-time.Minute), true, true, 0},
		{"cutoff only at start", time.Hour, 0, now.Add(-time.Minute), false, false, 0},
		{"cutoff before key", time.Hour, 0, now.Add(-2 * time.Hour), true, false, 0},
		{"cutoff in the future", time.Hour, 0, now.Add(time.Hour), true, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRegistry(nil, RegistryOptions{})
			if tt.newest > 0 {
				s, _ := keySecret(t, "k", now.Add(-tt.newest), now)
				r.put(r.labelled, s)
			}
			w := &Renewer{Registry: r, Period: tt.period, Cutoff: tt.cutoff, Now: func() time.Time { return now }}
			due, wait := w.due(tt.atStart)
			if due != tt.due || wait != tt.wait {
				t.Fatalf("due, wait = %v, %v; want %v, %v", due, wait, tt.due, tt.wait)
			}
		})
	}
}

// The Renewer makes a key when there is none and on each trigger, and
// never deletes one.
func TestRenewerRotates(t *testing.T) {
	kube := fake.NewClientset()
	n := 0
	kube.PrependReactor("create", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		n++
		s := a.(k8stesting.CreateAction).GetObject().(*corev1.Secret)
		s.Name = s.GenerateName + strings.Repeat("x", n)
		return false, nil, nil
	})
	r := NewRegistry(kube.CoreV1(), RegistryOptions{KeySize: 2048})
	r.readyOnce.Do(func() { close(r.ready) }) // as after an empty first list
	changed := r.Subscribe()
	trigger := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- (&Renewer{Registry: r, Period: 720 * time.Hour, Trigger: trigger}).Start(ctx) }()
	<-changed
	if len(r.All()) != 1 {
		t.Fatalf("keys after start = %d, want 1", len(r.All()))
	}
	trigger <- struct{}{}
	<-changed
	if len(r.All()) != 2 {
		t.Fatalf("keys after trigger = %d, want 2", len(r.All()))
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	list, _ := kube.CoreV1().Secrets(DefaultNamespace).List(context.Background(), metav1.ListOptions{})
	if len(list.Items) != 2 {
		t.Fatalf("key Secrets = %d, want 2", len(list.Items))
	}
	for _, a := range kube.Actions() {
		if a.GetVerb() == "delete" {
			t.Fatal("a key Secret was deleted")
		}
	}
}
