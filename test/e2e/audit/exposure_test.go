package audit

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/keyward/keyward/internal/audit/exposure"
)

// Every exposure rule has a planted case that must be found and a near
// miss that must not, on the real API server, through the CLI.
func TestAuditExposure(t *testing.T) {
	c := plainCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ns := earNamespace(ctx, t, c, "exposure")
	const planted = "exposed-planted-6a1f93"
	const other = "never-copied-value-77"
	b64 := base64.StdEncoding.EncodeToString

	lastApplied := func(body string) map[string]string {
		return map[string]string{"kubectl.kubernetes.io/last-applied-configuration": body}
	}
	release := func(manifest string) []byte {
		body, _ := json.Marshal(map[string]any{"name": "shop", "version": 1, "manifest": manifest, "config": map[string]any{}})
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write(body)
		zw.Close()
		return []byte(b64(gz.Bytes()))
	}
	podWith := func(name string, labels map[string]string, ct corev1.Container, vols ...corev1.Volume) *corev1.Pod {
		ct.Name, ct.Image = "main", "example.invalid/app"
		no := false
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
			Spec: corev1.PodSpec{Containers: []corev1.Container{ct}, Volumes: vols, AutomountServiceAccountToken: &no}}
	}
	secretVol := func(name string) corev1.Volume {
		return corev1.Volume{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: name}}}
	}
	objs := []client.Object{
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "default"}},
		// The Secret whose value is planted, applied with kubectl's client-side
		// annotation holding its data: last-applied.
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "db",
			Annotations: lastApplied(fmt.Sprintf(`{"apiVersion":"v1","kind":"Secret","metadata":{"name":"db"},"data":{"password":%q}}`, b64([]byte(planted))))},
			Data: map[string][]byte{"password": []byte(planted)}},
		// Near miss: last-applied without data.
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "other",
			Annotations: lastApplied(`{"apiVersion":"v1","kind":"Secret","metadata":{"name":"other"},"type":"Opaque"}`)},
			Data: map[string][]byte{"token": []byte(other)}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "leaky"}, Data: map[string]string{"app.properties": "db.user=app\ndb.password=" + planted + "\n"}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "fine"}, Data: map[string]string{"app.properties": "db.user=app\ndb.secretName=db\n"}},
		podWith("literal", nil, corev1.Container{Env: []corev1.EnvVar{{Name: "DB_PASSWORD", Value: planted}}, Args: []string{"--db-password=" + planted}}),
		podWith("from-secret", nil, corev1.Container{Env: []corev1.EnvVar{{Name: "DB_PASSWORD", ValueFrom: &corev1.EnvVarSource{
			SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "db"}, Key: "password"}}}}}),
		podWith("plain", nil, corev1.Container{Env: []corev1.EnvVar{{Name: "LOG_LEVEL", Value: "debug-verbose"}}, Args: []string{"--listen=:8080"}}),
		podWith("mounts-open", map[string]string{"app": "open"}, corev1.Container{}, secretVol("db")),
		podWith("mounts-fenced", map[string]string{"app": "fenced"}, corev1.Container{}, secretVol("db")),
		&networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "fence"}, Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "fenced"}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}}},
		&corev1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "leaky.1"}, Type: corev1.EventTypeWarning, Reason: "Failed",
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: "literal"}, Source: corev1.EventSource{Component: "test"},
			Message: "login failed with password " + planted},
		&corev1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "fine.1"}, Type: corev1.EventTypeWarning, Reason: "Failed",
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: "plain"}, Source: corev1.EventSource{Component: "test"},
			Message: `secret "db" not found`},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "sh.helm.release.v1.shop.v1", Labels: map[string]string{"owner": "helm"}},
			Type: "helm.sh/release.v1", Data: map[string][]byte{"release": release("kind: Secret\ndata:\n  password: " + b64([]byte(planted)) + "\n")}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "sh.helm.release.v1.web.v1", Labels: map[string]string{"owner": "helm"}},
			Type: "helm.sh/release.v1", Data: map[string][]byte{"release": release("kind: ConfigMap\ndata:\n  mode: production-like\n")}},
	}
	for _, o := range objs {
		if err := c.Client.Create(ctx, o); err != nil {
			t.Fatalf("creating %T %s: %v", o, o.GetName(), err)
		}
	}

	code, stdout, stderr := earRun(t, c, nil, "audit", "exposure", "-n", ns, "-o", "json", "--no-progress")
	if code != 1 {
		t.Errorf("exit %d, want 1 (high findings); stderr: %s", code, stderr)
	}
	type key struct{ rule, object, field string }
	got := map[key]exposure.Record{}
	for _, r := range earJSON[exposure.Record](t, stdout, stderr) {
		got[key{r.Rule, r.Kind + "/" + r.Name, r.Field}] = r
	}
	want := []key{
		{"last-applied", "Secret/db", "metadata.annotations[kubectl.kubernetes.io/last-applied-configuration]"},
		{"configmap-copy", "ConfigMap/leaky", "data.app.properties"},
		{"env-literal", "Pod/literal", "spec.containers[main].env[DB_PASSWORD]"},
		{"env-literal", "Pod/literal", "spec.containers[main].args[0]"},
		{"secret-env", "Pod/from-secret", "spec.containers[main].env[DB_PASSWORD]"},
		{"event-copy", "Event/leaky.1", "message"},
		{"helm-release", "Secret/sh.helm.release.v1.shop.v1", "data.release (release.manifest)"},
		{"no-networkpolicy", "Pod/mounts-open", ""},
	}
	for _, k := range want {
		if _, ok := got[k]; !ok {
			t.Errorf("not found: %v", k)
		}
		delete(got, k)
	}
	// Whatever is left is a near miss reported.
	for k := range got {
		t.Errorf("reported, but should not be: %v", k)
	}

	// The table and SARIF name the same things, and no output holds the value.
	_, table, tableErr := earRun(t, c, nil, "audit", "exposure", "-n", ns, "--no-progress")
	_, sarif, sarifErr := earRun(t, c, nil, "audit", "exposure", "-n", ns, "-o", "sarif", "--no-progress")
	// Under `keyward audit` with the other checks, one listing serves all.
	_, all, allErr := earRun(t, c, nil, "audit", "-n", ns, "-o", "json", "--no-progress")
	var byCheck map[string]json.RawMessage
	if err := json.Unmarshal([]byte(all), &byCheck); err != nil {
		t.Fatalf("keyward audit -o json: %v\n%s", err, allErr)
	}
	for _, check := range []string{"age", "exposure"} {
		if len(byCheck[check]) < 3 { // a non-empty list
			t.Errorf("keyward audit: %s missing or empty: %s", check, byCheck[check])
		}
	}
	if _, ok := byCheck["reuse"]; !ok { // one namespace reuses nothing
		t.Error("keyward audit: reuse missing")
	}
	earNoLeak(t, []string{planted, other}, stdout, stderr, table, tableErr, sarif, sarifErr, all, allErr)
}
