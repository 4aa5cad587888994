package keys

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
)

// A backup holds each key Secret without server fields, so it can be
// created again, and the keys read back from it.
func TestBackup(t *testing.T) {
	sec, pair := keySecret(t, "sealed-secrets-keyabc", time.Now(), time.Now())
	sec.ResourceVersion, sec.UID = "42", types.UID("uid")
	sec.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "keyward"}}
	other := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: DefaultNamespace, Name: "unrelated"}}
	kube := fake.NewClientset(sec, other).CoreV1()

	list, err := Backup(context.Background(), kube, DefaultNamespace, DefaultKeyPrefix)
	if err != nil {
		t.Fatal(err)
	}
	if list.Kind != "List" || list.APIVersion != "v1" || len(list.Items) != 1 {
		t.Fatalf("backup: %s/%s with %d items", list.APIVersion, list.Kind, len(list.Items))
	}
	raw := string(list.Items[0].Raw)
	for _, field := range []string{"resourceVersion", "uid", "managedFields", "creationTimestamp\":\"2"} {
		if strings.Contains(raw, field) {
			t.Errorf("backup keeps %s: %s", field, raw)
		}
	}
	var got corev1.Secret
	if err := json.Unmarshal(list.Items[0].Raw, &got); err != nil {
		t.Fatal(err)
	}
	if got.Kind != "Secret" || got.Name != sec.Name || got.Labels[KeyLabel] != KeyLabelActive {
		t.Errorf("backed up Secret: %+v", got.ObjectMeta)
	}
	ks, err := FromSecret(&got)
	if err != nil || len(ks) != 1 || !ks[0].Equal(pair.Key) {
		t.Errorf("key from backup: %d keys, %v", len(ks), err)
	}

	if _, err := Backup(context.Background(), fake.NewClientset().CoreV1(), "empty", DefaultKeyPrefix); err == nil ||
		!strings.Contains(err.Error(), "no key Secrets in namespace empty") {
		t.Errorf("empty namespace: %v", err)
	}
}

// Restore creates what is missing, keeps what is there with the same key,
// and refuses to overwrite a different key under the same name.
func TestRestore(t *testing.T) {
	ctx := context.Background()
	a, _ := keySecret(t, "sealed-secrets-keya", time.Now(), time.Now())
	b, _ := keySecret(t, "sealed-secrets-keyb", time.Now(), time.Now())
	b.ResourceVersion, b.UID = "7", types.UID("old")
	fc := fake.NewClientset(a.DeepCopy())
	kube := fc.CoreV1()

	r, err := Restore(ctx, kube, "restored", "keys.yaml", []*corev1.Secret{a, b})
	if err != nil || r != (Restored{Created: 2}) {
		t.Fatalf("restore into an empty namespace: %+v, %v", r, err)
	}
	live, err := kube.Secrets("restored").Get(ctx, b.Name, metav1.GetOptions{})
	if err != nil || live.UID == "old" || string(live.Data[corev1.TLSPrivateKeyKey]) != string(b.Data[corev1.TLSPrivateKeyKey]) {
		t.Fatalf("restored Secret: %v", err)
	}

	r, err = Restore(ctx, kube, DefaultNamespace, "keys.yaml", []*corev1.Secret{a, b})
	if err != nil || r != (Restored{Created: 1, Kept: 1}) {
		t.Fatalf("restore beside a kept key: %+v, %v", r, err)
	}

	clash, _ := keySecret(t, a.Name, time.Now(), time.Now())
	_, err = Restore(ctx, kube, DefaultNamespace, "clash.json", []*corev1.Secret{clash})
	if err == nil || !strings.Contains(err.Error(), "exists with a different key; not overwriting") {
		t.Fatalf("different key under the same name: %v", err)
	}
	live, _ = kube.Secrets(DefaultNamespace).Get(ctx, a.Name, metav1.GetOptions{})
	if string(live.Data[corev1.TLSPrivateKeyKey]) != string(a.Data[corev1.TLSPrivateKeyKey]) {
		t.Error("live key overwritten")
	}
}

// A backup that is not all key Secrets restores nothing.
func TestRestoreChecksFirst(t *testing.T) {
	ctx := context.Background()
	good, _ := keySecret(t, "sealed-secrets-keygood", time.Now(), time.Now())
	bad := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "not-a-key"}, Data: map[string][]byte{"password": []byte("x")}}
	kube := fake.NewClientset().CoreV1()

	_, err := Restore(ctx, kube, DefaultNamespace, "mixed.yaml", []*corev1.Secret{good, bad})
	if err == nil || !strings.HasPrefix(err.Error(), "backup mixed.yaml: ") {
		t.Fatalf("mixed backup: %v", err)
	}
	if list, _ := kube.Secrets(DefaultNamespace).List(ctx, metav1.ListOptions{}); len(list.Items) != 0 {
		t.Errorf("%d Secrets created from a bad backup", len(list.Items))
	}
	if _, err := Restore(ctx, kube, DefaultNamespace, "empty.yaml", nil); err == nil || err.Error() != "backup empty.yaml holds no Secret" {
		t.Errorf("empty backup: %v", err)
	}
}
