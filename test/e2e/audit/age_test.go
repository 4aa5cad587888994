package audit

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/keyward/keyward/internal/audit"
	"github.com/keyward/keyward/internal/audit/age"
)

// The age check on the real API server: Keyward's mark counts first;
// without it managedFields tell a data change (counts) from a label change
// (does not); token Secrets are skipped.
func TestAuditAge(t *testing.T) {
	c := plainCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ns := earNamespace(ctx, t, c, "age")
	const planted = "age-planted-value-31c2"
	yes := true
	secrets := c.Clientset.CoreV1().Secrets(ns)
	create := func(s *corev1.Secret) {
		t.Helper()
		s.Namespace = ns
		if s.Data == nil {
			s.Data = map[string][]byte{"password": []byte(planted)}
		}
		if _, err := secrets.Create(ctx, s, metav1.CreateOptions{FieldManager: "planter"}); err != nil {
			t.Fatalf("creating Secret %s: %v", s.Name, err)
		}
	}
	long := time.Now().Add(-200 * 24 * time.Hour).UTC().Format(time.RFC3339)
	recent := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	// Owners that do not exist stay: this cluster runs no garbage collector.
	create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "sealed-old",
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "bitnami.com/v1alpha1", Kind: "SealedSecret", Name: "sealed-old", UID: "00000000-0000-0000-0000-000000000001", Controller: &yes}},
		Annotations:     map[string]string{age.SealedValueChanged: long}}})
	create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "external-fresh",
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "external-secrets.io/v1", Kind: "ExternalSecret", Name: "external-fresh", UID: "00000000-0000-0000-0000-000000000002", Controller: &yes}},
		Annotations:     map[string]string{age.ExternalValueChanged: recent}}})
	create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "rotated"}})
	create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "relabelled"}})
	create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "sa-token", Annotations: map[string]string{
		corev1.ServiceAccountNameKey: "default", corev1.ServiceAccountUIDKey: "00000000-0000-0000-0000-000000000003"}},
		Type: corev1.SecretTypeServiceAccountToken, Data: map[string][]byte{}})

	// Default --max-age (90d): the SealedSecret's value is 200 days old by
	// its mark, though the Secret was made a moment ago.
	code, stdout, stderr := earRun(t, c, nil, "audit", "age", "-n", ns, "-o", "json", "--no-progress")
	if code != 1 {
		t.Errorf("exit %d, want 1; stderr: %s", code, stderr)
	}
	byName := map[string]age.Record{}
	for _, r := range earJSON[age.Record](t, stdout, stderr) {
		byName[r.Name] = r
	}
	check := func(name, source, basis string, sev audit.Severity) {
		t.Helper()
		r, ok := byName[name]
		if !ok {
			t.Errorf("%s not reported", name)
			return
		}
		if r.Source != source || r.Basis != basis || r.Severity != sev {
			t.Errorf("%s: source %s basis %s severity %s; want %s %s %s", name, r.Source, r.Basis, r.Severity, source, basis, sev)
		}
	}
	check("sealed-old", age.SourceSealedSecret, age.BasisAnnotation, audit.High)
	check("external-fresh", age.SourceExternalSecret, age.BasisAnnotation, audit.None)
	check("rotated", age.SourceManual, age.BasisManagedFields, audit.None)
	if _, ok := byName["sa-token"]; ok {
		t.Error("service-account-token Secret reported")
	}
	if r := byName["sealed-old"]; r.Changed != long || r.Age != "200d" {
		t.Errorf("sealed-old changed %s age %s, want %s 200d", r.Changed, r.Age, long)
	}

	// A value changed after a wait counts; a label changed does not. The
	// API server keeps managedFields times to the second.
	time.Sleep(4 * time.Second)
	rot, err := secrets.Get(ctx, "rotated", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rot.Data["password"] = []byte(planted + "-next")
	if _, err := secrets.Update(ctx, rot, metav1.UpdateOptions{FieldManager: "rotator"}); err != nil {
		t.Fatal(err)
	}
	rel, err := secrets.Get(ctx, "relabelled", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rel.Labels = map[string]string{"team": "a"}
	if _, err := secrets.Update(ctx, rel, metav1.UpdateOptions{FieldManager: "labeller"}); err != nil {
		t.Fatal(err)
	}
	code, stdout2, stderr2 := earRun(t, c, nil, "audit", "age", "-n", ns, "-o", "json", "--no-progress", "--max-age", "3s", "--fail-on", "none")
	if code != 0 {
		t.Errorf("exit %d with --fail-on none; stderr: %s", code, stderr2)
	}
	byName = map[string]age.Record{}
	for _, r := range earJSON[age.Record](t, stdout2, stderr2) {
		byName[r.Name] = r
	}
	check("relabelled", age.SourceManual, age.BasisManagedFields, audit.Medium)
	check("rotated", age.SourceManual, age.BasisManagedFields, audit.None)

	// A bad --max-age is an error naming the flag.
	code, _, stderr3 := earRun(t, c, nil, "audit", "age", "-n", ns, "--max-age", "soon", "--no-progress")
	if code != 2 || !earContains(stderr3, "--max-age") {
		t.Errorf("bad --max-age: exit %d, stderr %q", code, stderr3)
	}
	earNoLeak(t, []string{planted, planted + "-next"}, stdout, stderr, stdout2, stderr2, stderr3)
}
