package e2e

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	esv1alpha1 "github.com/keyward/keyward/api/externalsecrets/v1alpha1"
	genv1alpha1 "github.com/keyward/keyward/api/generators/v1alpha1"
	"github.com/keyward/keyward/test/leak"
)

// genRef names a generator of kind and name.
func genRef(kind, name string) *esv1.GeneratorRef {
	return &esv1.GeneratorRef{APIVersion: genv1alpha1.GroupVersion.String(), Kind: kind, Name: name}
}

// generatedES is an ExternalSecret whose dataFrom entries are the generators refs name.
func generatedES(ns, name string, refresh time.Duration, refs ...*esv1.GeneratorRef) *esv1.ExternalSecret {
	es := &esv1.ExternalSecret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       esv1.ExternalSecretSpec{RefreshInterval: esDuration(refresh)},
	}
	for _, r := range refs {
		es.Spec.DataFrom = append(es.Spec.DataFrom, esv1.ExternalSecretDataFromRemoteRef{SourceRef: &esv1.StoreGeneratorSourceRef{GeneratorRef: r}})
	}
	return es
}

// noGeneratedLeaks checks that no generated value, in any form the leak
// package knows, reached the namespace's ExternalSecrets, PushSecrets,
// generators, events, or the controller's logs and metrics.
func noGeneratedLeaks(ctx context.Context, t *testing.T, e *esEnv, ns string, values ...string) {
	t.Helper()
	texts := map[string]string{"logs": e.logs.String(), "metrics": e.metricsText(t)}
	for what, list := range map[string]client.ObjectList{
		"ExternalSecrets": &esv1.ExternalSecretList{}, "PushSecrets": &esv1alpha1.PushSecretList{},
		"events": &eventsv1.EventList{}, "Passwords": &genv1alpha1.PasswordList{},
		"VaultDynamicSecrets": &genv1alpha1.VaultDynamicSecretList{},
	} {
		if err := e.client.List(ctx, list, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(list)
		texts[what] = string(b)
	}
	for what, text := range texts {
		for _, v := range values {
			if v == "" {
				continue
			}
			for _, f := range leak.In(text, v) {
				t.Errorf("a generated value reached the %s (%s)", what, f.Name)
			}
		}
	}
}

// TestGeneratorPasswordRefreshes: a Password generator behind an
// ExternalSecret makes a password with the asked-for classes, and a new one
// each refreshInterval; the values never show in status, events, logs or metrics.
func TestGeneratorPasswordRefreshes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e := externalSecretsEnv(t)
	ns := newNamespace(ctx, t)
	digits, symbols := 4, 2
	e.create(ctx, t,
		&genv1alpha1.Password{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "db"},
			Spec: genv1alpha1.PasswordSpec{Length: 20, Digits: &digits, Symbols: &symbols, SymbolCharacters: ptrTo("-_")}},
		generatedES(ns, "db-password", 2*time.Second, genRef("Password", "db")))

	s := e.waitSecret(ctx, t, ns, "db-password", func(s *corev1.Secret) bool { return len(s.Data["password"]) > 0 })
	first := string(s.Data["password"])
	if len(s.Data) != 1 || len(first) != 20 {
		t.Fatalf("Secret has %d keys and a password of %d characters; want 1 key and 20", len(s.Data), len(first))
	}
	var d, sy int
	for _, c := range first {
		switch {
		case c >= '0' && c <= '9':
			d++
		case c == '-' || c == '_':
			sy++
		}
	}
	if d != digits || sy != symbols {
		t.Errorf("password has %d digits and %d symbols; want %d and %d", d, sy, digits, symbols)
	}
	start := time.Now()
	s = e.waitSecret(ctx, t, ns, "db-password", func(s *corev1.Secret) bool { return string(s.Data["password"]) != first })
	second := string(s.Data["password"])
	t.Logf("a new password %s after the first was seen (refreshInterval 2s)", time.Since(start).Round(100*time.Millisecond))
	e.waitReady(ctx, t, ns, "db-password", corev1.ConditionTrue, esv1.ReasonSecretSynced)
	noGeneratedLeaks(ctx, t, e, ns, first, second)
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestGeneratorUUIDFakeAndCluster merges a UUID, a Fake and a
// ClusterGenerator (a Password for any namespace) into one Secret, as
// extract entries merge; a later entry wins a key, and rewrite applies.
func TestGeneratorUUIDFakeAndCluster(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e := externalSecretsEnv(t)
	ns := newNamespace(ctx, t)
	cg := &genv1alpha1.ClusterGenerator{ObjectMeta: metav1.ObjectMeta{Name: "pw-" + ns},
		Spec: genv1alpha1.ClusterGeneratorSpec{Kind: "Password", Generator: genv1alpha1.GeneratorSpec{PasswordSpec: &genv1alpha1.PasswordSpec{Length: 32}}}}
	e.create(ctx, t, cg,
		&genv1alpha1.UUID{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "id"}},
		&genv1alpha1.Fake{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "static"},
			Spec: genv1alpha1.FakeSpec{Data: map[string]string{"username": "app", "uuid": "overridden-by-the-later-uuid"}}},
	)
	t.Cleanup(func() { _ = e.client.Delete(context.Background(), cg) })
	es := generatedES(ns, "mixed", time.Hour, genRef("Fake", "static"), genRef("UUID", "id"), genRef("ClusterGenerator", cg.Name))
	// The ClusterGenerator's key is renamed, as rewrite does for extract.
	es.Spec.DataFrom[2].Rewrite = []esv1.ExternalSecretRewrite{{Regexp: &esv1.ExternalSecretRewriteRegexp{Source: "^password$", Target: "admin-password"}}}
	e.create(ctx, t, es)
	s := e.waitSecret(ctx, t, ns, "mixed", nil)
	got := map[string]string{}
	for k, v := range s.Data {
		got[k] = string(v)
	}
	if got["username"] != "app" || !uuidV4.MatchString(got["uuid"]) || len(got["admin-password"]) != 32 || len(got) != 3 {
		t.Fatalf("Secret keys %v; want username=app, uuid a version 4 UUID, admin-password of 32 characters", keysOf(got))
	}
	e.waitReady(ctx, t, ns, "mixed", corev1.ConditionTrue, esv1.ReasonSecretSynced)

	// A Fake refreshed gives the same data; a UUID a new one.
	e.forceSync(ctx, t, es)
	s = e.waitSecret(ctx, t, ns, "mixed", func(s *corev1.Secret) bool { return string(s.Data["uuid"]) != got["uuid"] })
	if string(s.Data["username"]) != "app" {
		t.Errorf("the Fake's value changed on refresh")
	}
	noGeneratedLeaks(ctx, t, e, ns, got["uuid"], got["admin-password"], string(s.Data["uuid"]))
}

// TestGeneratorFailureKeepsSecret: when the generator goes away (or its
// spec goes wrong), the sync fails with an error naming the field, and the
// Secret keeps the last good value.
func TestGeneratorFailureKeepsSecret(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e := externalSecretsEnv(t)
	ns := newNamespace(ctx, t)
	pw := &genv1alpha1.Password{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "db"}, Spec: genv1alpha1.PasswordSpec{Length: 16}}
	e.create(ctx, t, pw, generatedES(ns, "db", time.Second, genRef("Password", "db")))
	s := e.waitSecret(ctx, t, ns, "db", func(s *corev1.Secret) bool { return len(s.Data["password"]) == 16 })
	e.waitReady(ctx, t, ns, "db", corev1.ConditionTrue, esv1.ReasonSecretSynced)

	// More digits and symbols than characters: a spec error.
	eight := 8
	pw.Spec.Digits, pw.Spec.Symbols = &eight, &eight
	pw.Spec.Length = 10
	if err := e.client.Update(ctx, pw); err != nil {
		t.Fatal(err)
	}
	es := e.waitReady(ctx, t, ns, "db", corev1.ConditionFalse, esv1.ReasonSecretSyncedError)
	msg := readyCondition(es).Message
	if !strings.Contains(msg, "spec.dataFrom[0]: sourceRef.generatorRef: Password "+ns+"/db: spec.digits + spec.symbols (16) exceed spec.length (10)") {
		t.Errorf("message %q does not name the generator and its field", msg)
	}
	// Now it is gone.
	if err := e.client.Delete(ctx, pw); err != nil {
		t.Fatal(err)
	}
	eventually(ctx, t, "the not-found error", func(ctx context.Context) (bool, error) {
		if err := e.client.Get(ctx, client.ObjectKeyFromObject(es), es); err != nil {
			return false, err
		}
		return strings.Contains(readyCondition(es).Message, "Password "+ns+"/db not found"), nil
	})
	var now corev1.Secret
	if err := e.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "db"}, &now); err != nil {
		t.Fatal(err)
	}
	if string(now.Data["password"]) != string(s.Data["password"]) {
		t.Fatal("a failed generate changed the Secret")
	}
	noGeneratedLeaks(ctx, t, e, ns, string(s.Data["password"]))
}
