package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/controller/externalsecret"
)

// TestExternalSecretGuideShape syncs the production guide's ExternalSecret
// (Secret backend-secrets, key postgres-db-uri, property db-uri), written
// as v1beta1 exactly as the guide has it and again as v1, from a
// Kubernetes store; then a changed source value arrives by itself.
func TestExternalSecretGuideShape(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	e := externalSecretsEnv(t)
	app := newNamespace(ctx, t)
	src := e.kubeStore(ctx, t, app, "eso-reader", false, map[string]map[string]string{
		"aura-production-postgres": {"db-uri": "postgresql://app:first@db/aura", "other": "x"},
	})
	e.create(ctx, t, &esv1.SecretStore{
		ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: "aws-secrets-manager"},
		Spec:       esv1.SecretStoreSpec{Provider: kubeProvider(src, "eso-reader", nil)},
	})

	e.applyGuide(ctx, t, app, "aws-secrets-manager", "aura-production-postgres", "2s")
	v1 := &esv1.ExternalSecret{
		ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: "backend-secrets-v1"},
		Spec: esv1.ExternalSecretSpec{
			SecretStoreRef:  esv1.SecretStoreRef{Name: "aws-secrets-manager", Kind: "SecretStore"},
			RefreshInterval: esDuration(time.Hour),
			Data: []esv1.ExternalSecretData{{SecretKey: "postgres-db-uri",
				RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: "aura-production-postgres", Property: "db-uri"}}},
		},
	}
	e.create(ctx, t, v1)

	for _, name := range []string{"backend-secrets", "backend-secrets-v1"} {
		es := e.waitReady(ctx, t, app, name, corev1.ConditionTrue, esv1.ReasonSecretSynced)
		s := e.waitSecret(ctx, t, app, name, nil)
		if got := string(s.Data["postgres-db-uri"]); got != "postgresql://app:first@db/aura" || len(s.Data) != 1 {
			t.Fatalf("%s: Secret data = %q", name, s.Data)
		}
		if _, err := time.Parse(time.RFC3339, s.Annotations[externalsecret.ValueChangedAnnotation]); err != nil {
			t.Errorf("%s: value-changed mark (for audit age): %v", name, err)
		}
		ageSeries := `keyward_secret_value_age_seconds{name="` + name + `",namespace="` + app + `",owner_kind="ExternalSecret"}`
		if m := e.metricsText(t); !strings.Contains(m, ageSeries) {
			t.Errorf("no %s in the controller's metrics", ageSeries)
		}
		if s.Labels[esv1.LabelManaged] != "true" || s.Annotations[esv1.AnnotationDataHash] == "" {
			t.Errorf("%s: ESO's markers missing: labels %v annotations %v", name, s.Labels, s.Annotations)
		}
		if !metav1.IsControlledBy(s, es) {
			t.Errorf("%s: Secret not controlled by its ExternalSecret: %v", name, s.OwnerReferences)
		}
		if es.Status.SyncedResourceVersion == "" || es.Status.RefreshTime.IsZero() || es.Status.Binding.Name != name {
			t.Errorf("%s: status incomplete: %+v", name, es.Status)
		}
	}

	// The store's value changes; the 2s refresh brings it without any nudge.
	source := &corev1.Secret{}
	if err := e.client.Get(ctx, client.ObjectKey{Namespace: src, Name: "aura-production-postgres"}, source); err != nil {
		t.Fatal(err)
	}
	source.Data["db-uri"] = []byte("postgresql://app:rotated@db/aura")
	if err := e.client.Update(ctx, source); err != nil {
		t.Fatal(err)
	}
	e.waitSecret(ctx, t, app, "backend-secrets", func(s *corev1.Secret) bool {
		return string(s.Data["postgres-db-uri"]) == "postgresql://app:rotated@db/aura"
	})

	// A force-sync brings it to the hour-interval ExternalSecret at once.
	e.forceSync(ctx, t, v1)
	e.waitSecret(ctx, t, app, "backend-secrets-v1", func(s *corev1.Secret) bool {
		return string(s.Data["postgres-db-uri"]) == "postgresql://app:rotated@db/aura"
	})

	// A Secret edited by hand is put back.
	tampered := e.waitSecret(ctx, t, app, "backend-secrets-v1", nil)
	tampered.Data["postgres-db-uri"] = []byte("edited")
	if err := e.client.Update(ctx, tampered); err != nil {
		t.Fatal(err)
	}
	e.waitSecret(ctx, t, app, "backend-secrets-v1", func(s *corev1.Secret) bool {
		return string(s.Data["postgres-db-uri"]) == "postgresql://app:rotated@db/aura"
	})

	// The store reports itself validated.
	store := &esv1.SecretStore{}
	eventually(ctx, t, "SecretStore Ready", func(ctx context.Context) (bool, error) {
		err := e.client.Get(ctx, client.ObjectKey{Namespace: app, Name: "aws-secrets-manager"}, store)
		return err == nil && len(store.Status.Conditions) == 1 && store.Status.Conditions[0].Reason == esv1.ReasonStoreValid &&
			store.Status.Capabilities == esv1.SecretStoreReadWrite, err
	})
}

// TestExternalSecretTemplatesAndDataFrom covers dataFrom extract and find,
// rewrites and a template with templateFrom.
func TestExternalSecretTemplatesAndDataFrom(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e := externalSecretsEnv(t)
	app := newNamespace(ctx, t)
	src := e.kubeStore(ctx, t, app, "reader", false, map[string]map[string]string{
		"db":       {"user": "app", "password": "pw"},
		"api-key":  {"key": "k1"},
		"api-cert": {"key": "c1"},
	})
	e.create(ctx, t,
		&esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: "kube"}, Spec: esv1.SecretStoreSpec{Provider: kubeProvider(src, "reader", nil)}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: "tmpl"}, Data: map[string]string{
			"config.yaml": "url: postgres://{{ .user }}:{{ .password }}@db/app\n",
		}},
		&esv1.ExternalSecret{
			ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: "rendered"},
			Spec: esv1.ExternalSecretSpec{
				SecretStoreRef: esv1.SecretStoreRef{Name: "kube"},
				Target: esv1.ExternalSecretTarget{Template: &esv1.ExternalSecretTemplate{
					Type:     corev1.SecretTypeBasicAuth,
					Metadata: esv1.ExternalSecretTemplateMetadata{Labels: map[string]string{"user": "{{ .user }}"}},
					Data:     map[string]string{"username": "{{ .user }}", "password": "{{ .password }}"},
					TemplateFrom: []esv1.TemplateFrom{{ConfigMap: &esv1.TemplateRef{Name: "tmpl",
						Items: []esv1.TemplateRefItem{{Key: "config.yaml"}}}}},
				}},
				DataFrom: []esv1.ExternalSecretDataFromRemoteRef{
					{Extract: &esv1.ExternalSecretDataRemoteRef{Key: "db"}},
					{Find: &esv1.ExternalSecretFind{Name: &esv1.FindName{RegExp: "^api-"}},
						Rewrite: []esv1.ExternalSecretRewrite{{Regexp: &esv1.ExternalSecretRewriteRegexp{Source: "^api-(.*)$", Target: "json-$1"}}}},
				},
			},
		},
	)
	e.waitReady(ctx, t, app, "rendered", corev1.ConditionTrue, esv1.ReasonSecretSynced)
	s := e.waitSecret(ctx, t, app, "rendered", nil)
	want := map[string]string{
		"username": "app", "password": "pw", "config.yaml": "url: postgres://app:pw@db/app\n",
	}
	for k, v := range want {
		if string(s.Data[k]) != v {
			t.Errorf("%s = %q, want %q", k, s.Data[k], v)
		}
	}
	if len(s.Data) != len(want) {
		t.Errorf("keys %v: fetched data should be replaced by the templates", keysOf(s.Data))
	}
	if s.Type != corev1.SecretTypeBasicAuth || s.Labels["user"] != "app" {
		t.Errorf("type %s labels %v", s.Type, s.Labels)
	}

	// Without templates, find results arrive under their rewritten names.
	plain := &esv1.ExternalSecret{
		ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: "found"},
		Spec: esv1.ExternalSecretSpec{
			SecretStoreRef: esv1.SecretStoreRef{Name: "kube"},
			DataFrom: []esv1.ExternalSecretDataFromRemoteRef{{Find: &esv1.ExternalSecretFind{Name: &esv1.FindName{RegExp: "^api-"}},
				Rewrite: []esv1.ExternalSecretRewrite{{Regexp: &esv1.ExternalSecretRewriteRegexp{Source: "^api-", Target: "API_"}}}}},
		},
	}
	e.create(ctx, t, plain)
	e.waitReady(ctx, t, app, "found", corev1.ConditionTrue, esv1.ReasonSecretSynced)
	f := e.waitSecret(ctx, t, app, "found", nil)
	if string(f.Data["API_key"]) != `{"key":"k1"}` || string(f.Data["API_cert"]) != `{"key":"c1"}` {
		t.Errorf("find results: %q", f.Data)
	}
}

func keysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
