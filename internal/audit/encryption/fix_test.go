package encryption

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// TestFix checks which Secrets Fix rewrites; that the API server then
// stores them encrypted is tested on the real cluster (test/e2e/audit).
func TestFix(t *testing.T) {
	secret := func(name string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}, Data: map[string][]byte{"k": []byte("v")}}
	}
	cs := fake.NewClientset(secret("plain"), secret("old"), secret("current"), secret("odd"))
	stored := []Stored{
		{"ns", "plain", State{Provider: Identity}},
		{"ns", "old", State{Encrypted: true, Provider: AESCBC, Key: "k1"}},
		{"ns", "current", State{Encrypted: true, Provider: AESCBC, Key: "k2"}},
		{"ns", "odd", State{Provider: Unknown}},
		{"ns", "deleted", State{Provider: Identity}},
	}
	cfg := &Config{File: "enc.yaml", Covered: true, Providers: []Provider{{Type: AESCBC, Keys: []string{"k2", "k1"}}, {Type: Identity}}}
	recs := Check(stored, cfg, nil).Records.([]Record)
	n, err := Fix(context.Background(), cs, recs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("rewrote %d, want 2 (plain and old; deleted skipped)", n)
	}
	var got []string
	for _, a := range cs.Actions() {
		if u, ok := a.(k8stesting.UpdateAction); ok {
			got = append(got, u.GetObject().(*corev1.Secret).Name)
		}
	}
	if len(got) != 2 || got[0] != "plain" || got[1] != "old" {
		t.Errorf("updated %v, want [plain old]", got)
	}
}
