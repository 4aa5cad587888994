package migratepush

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
)

// TestPromote: staging's needs (backend-secrets, used by its Deployment)
// checked against production: missing, then the same value found (exit 1,
// keyed hash only), --values copying what is missing, --out writing the
// target's ExternalSecrets, and the plan changing nothing.
func TestPromote(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	controllers(t)
	home := t.TempDir()
	uri := "postgresql://aura:PLANTED-promote-" + rand.String(12) + "@db/aura"
	apiKey := "PLANTED-API-KEY-" + rand.String(12)
	var outputs []string
	run := func(want int, args ...string) result {
		t.Helper()
		r := keyward(t, home, args...)
		outputs = append(outputs, r.stdout, r.stderr)
		if r.code != want {
			t.Fatalf("want exit %d: %s", want, r)
		}
		return r
	}

	stg := newNamespace(ctx, t, "staging")
	create(ctx, t,
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: stg, Name: guideSecret},
			Data: map[string][]byte{"postgres-db-uri": []byte(uri), "api-key": []byte(apiKey)}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: stg, Name: "unused"}, StringData: map[string]string{"x": "y"}},
		deployment(stg, guideSecret))

	// Production has nothing yet: both keys missing, no same value.
	prod := newNamespace(ctx, t, "production")
	r := run(0, "migrate", "promote", "--from", stg, "--to", prod)
	if !strings.Contains(r.stdout, "missing") || !strings.Contains(r.stdout, "api-key,postgres-db-uri") || !strings.Contains(r.stdout, "Secret missing in "+prod) {
		t.Errorf("promote did not report the missing Secret:\n%s", r.stdout)
	}
	if strings.Contains(r.stdout, "unused") {
		t.Errorf("a Secret nothing uses was taken as needed:\n%s", r.stdout)
	}

	// --out with a store: production's ExternalSecrets, nothing in the cluster.
	out := t.TempDir()
	run(0, "migrate", "promote", "--from", stg, "--to", prod, "--out", out, "--store", "aws-secrets-manager",
		"--kind", "ClusterSecretStore", "--path", "aura/{{.Namespace}}/{{.Name}}", "--api-version", "v1beta1")
	m := readFile(t, filepath.Join(out, guideSecret+".externalsecret.yaml"))
	for _, want := range []string{"apiVersion: external-secrets.io/v1beta1", "namespace: " + prod, "kind: ClusterSecretStore",
		"key: aura/" + prod + "/" + guideSecret, "secretKey: postgres-db-uri", "secretKey: api-key"} {
		if !strings.Contains(m, want) {
			t.Errorf("manifest lacks %q:\n%s", want, m)
		}
	}
	if _, err := cluster.Clientset.CoreV1().Secrets(prod).Get(ctx, guideSecret, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("--out made a Secret in the cluster (err %v)", err)
	}

	// The plan of --values changes nothing; --values copies.
	run(0, "migrate", "plan", "promote", "--from", stg, "--to", prod, "--values")
	if _, err := cluster.Clientset.CoreV1().Secrets(prod).Get(ctx, guideSecret, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the plan made a Secret (err %v)", err)
	}
	r = run(0, "migrate", "promote", "--from", stg, "--to", prod, "--values")
	if !strings.Contains(r.stdout, "copy") {
		t.Errorf("--values did not report the copy:\n%s", r.stdout)
	}
	if s := getSecret(ctx, t, prod, guideSecret); string(s.Data["postgres-db-uri"]) != uri || string(s.Data["api-key"]) != apiKey {
		t.Error("--values did not copy the values")
	}

	// Now both hold the same values: the guide wants them different.
	r = run(1, "migrate", "promote", "--from", stg, "--to", prod, "-o", "json")
	if !strings.Contains(r.stdout, `"op": "same-value"`) || !strings.Contains(r.stdout, "hmac-sha256:") || !strings.Contains(r.stderr, "different secrets per environment") {
		t.Errorf("the same values were not reported:\n%s", r)
	}
	run(0, "migrate", "promote", "--from", stg, "--to", prod, "--allow-same")

	// One value changed in production: only the other is the same; a key
	// production lacks is added without touching the rest.
	s := getSecret(ctx, t, prod, guideSecret)
	s.Data["postgres-db-uri"] = []byte("postgresql://aura:other@db.production/aura")
	delete(s.Data, "api-key")
	if _, err := cluster.Clientset.CoreV1().Secrets(prod).Update(ctx, s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	r = run(0, "migrate", "promote", "--from", stg, "--to", prod, "--values")
	if s := getSecret(ctx, t, prod, guideSecret); string(s.Data["postgres-db-uri"]) == uri || string(s.Data["api-key"]) != apiKey {
		t.Errorf("--values overwrote a value or did not add the missing key:\n%s", r.stdout)
	}

	for _, f := range []string{filepath.Join(out, guideSecret+".externalsecret.yaml")} {
		b, _ := os.ReadFile(f)
		outputs = append(outputs, string(b))
	}
	noLeak(t, "promote output and manifests", strings.Join(outputs, "\n"), uri, apiKey)
}
