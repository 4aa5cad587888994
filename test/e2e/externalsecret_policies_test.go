package e2e

import (
	"context"
	"crypto/sha3"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	esv1alpha1 "github.com/keyward/keyward/api/externalsecrets/v1alpha1"
)

// esoDataHash is ESO's data-hash annotation value, written out here
// independently of the controller's code.
func esoDataHash(data map[string][]byte) string {
	return fmt.Sprintf("%x", sha3.Sum224([]byte(fmt.Sprintf("%+v", data))))
}

func newES(ns, name, store string, policy esv1.ExternalSecretCreationPolicy, deletion esv1.ExternalSecretDeletionPolicy, data ...esv1.ExternalSecretData) *esv1.ExternalSecret {
	return &esv1.ExternalSecret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: esv1.ExternalSecretSpec{
			SecretStoreRef:  esv1.SecretStoreRef{Name: store},
			RefreshInterval: esDuration(time.Hour),
			Target:          esv1.ExternalSecretTarget{CreationPolicy: policy, DeletionPolicy: deletion},
			Data:            data,
		},
	}
}

func entry(secretKey, key, property string) esv1.ExternalSecretData {
	return esv1.ExternalSecretData{SecretKey: secretKey, RemoteRef: esv1.ExternalSecretDataRemoteRef{Key: key, Property: property}}
}

// TestExternalSecretAdoptsExistingSecrets swaps ESO out in place: a Secret
// ESO wrote (markers, its field manager) and a plain Secret made by hand
// are both taken over as they are, foreign keys kept.
func TestExternalSecretAdoptsExistingSecrets(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e := externalSecretsEnv(t)
	app := newNamespace(ctx, t)
	src := e.kubeStore(ctx, t, app, "reader", false, map[string]map[string]string{"db": {"password": "new"}})
	e.create(ctx, t, &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: "kube"}, Spec: esv1.SecretStoreSpec{Provider: kubeProvider(src, "reader", nil)}})

	// As ESO left it: managed label, data-hash, written by ESO's field manager;
	// a second writer added a key of its own.
	esoData := map[string][]byte{"password": []byte("old"), "stale": []byte("x")}
	esoMade := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: "from-eso",
			Labels:      map[string]string{esv1.LabelManaged: "true"},
			Annotations: map[string]string{esv1.AnnotationDataHash: esoDataHash(esoData)}},
		Data: esoData,
	}
	if err := e.client.Create(ctx, esoMade, client.FieldOwner(esv1.FieldManagerPrefix+"from-eso")); err != nil {
		t.Fatal(err)
	}
	esoMade.Data["foreign"] = []byte("kept")
	if err := e.client.Update(ctx, esoMade, client.FieldOwner("someone-else")); err != nil {
		t.Fatal(err)
	}
	byHand := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: "by-hand"}, StringData: map[string]string{"note": "mine"}}
	e.create(ctx, t, byHand)

	eso := newES(app, "from-eso", "kube", "", "", entry("password", "db", "password"))
	eso.Finalizers = []string{esv1.FinalizerExternalSecret} // what ESO put on its objects
	e.create(ctx, t, eso, newES(app, "by-hand", "kube", esv1.CreatePolicyOwner, "", entry("password", "db", "password")))

	for _, want := range []struct {
		name string
		uid  string
		data map[string]string
	}{
		{"from-eso", string(esoMade.UID), map[string]string{"password": "new", "foreign": "kept"}},
		{"by-hand", string(byHand.UID), map[string]string{"password": "new", "note": "mine"}},
	} {
		es := e.waitReady(ctx, t, app, want.name, corev1.ConditionTrue, esv1.ReasonSecretSynced)
		s := e.waitSecret(ctx, t, app, want.name, func(s *corev1.Secret) bool { return string(s.Data["password"]) == "new" })
		if string(s.UID) != want.uid {
			t.Errorf("%s: Secret was recreated (UID %s, was %s), not adopted", want.name, s.UID, want.uid)
		}
		got := map[string]string{}
		for k, v := range s.Data {
			got[k] = string(v)
		}
		if fmt.Sprint(got) != fmt.Sprint(want.data) {
			t.Errorf("%s: data %v, want %v (ESO's stale key dropped, foreign keys kept)", want.name, got, want.data)
		}
		if s.Annotations[esv1.AnnotationDataHash] != esoDataHash(s.Data) || !metav1.IsControlledBy(s, es) {
			t.Errorf("%s: markers %v, owners %v", want.name, s.Annotations, s.OwnerReferences)
		}
	}

	// ESO's finalizer does not keep the ExternalSecret alive.
	if err := e.client.Delete(ctx, eso); err != nil {
		t.Fatal(err)
	}
	e.waitGone(ctx, t, eso, 60*time.Second)
}

// TestExternalSecretCreationPolicies exercises each creationPolicy.
func TestExternalSecretCreationPolicies(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	e := externalSecretsEnv(t)
	app := newNamespace(ctx, t)
	src := e.kubeStore(ctx, t, app, "reader", false, map[string]map[string]string{"db": {"password": "pw"}})
	e.create(ctx, t,
		&esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: "kube"}, Spec: esv1.SecretStoreSpec{Provider: kubeProvider(src, "reader", nil)}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: "merge-target"}, StringData: map[string]string{"theirs": "t"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: "createormerge-existing"}, StringData: map[string]string{"theirs": "t"}},
	)
	pw := entry("password", "db", "password")
	tests := []struct {
		es       *esv1.ExternalSecret
		reason   string
		status   corev1.ConditionStatus
		secret   bool // a Secret exists afterwards
		owned    bool
		keys     string
		survives bool // the Secret outlives its ExternalSecret
	}{
		{newES(app, "owner", "kube", esv1.CreatePolicyOwner, "", pw), esv1.ReasonSecretSynced, corev1.ConditionTrue, true, true, "password", false},
		{newES(app, "orphan", "kube", esv1.CreatePolicyOrphan, "", pw), esv1.ReasonSecretSynced, corev1.ConditionTrue, true, false, "password", true},
		{newES(app, "merge-target", "kube", esv1.CreatePolicyMerge, "", pw), esv1.ReasonSecretSynced, corev1.ConditionTrue, true, false, "password,theirs", true},
		{newES(app, "merge-missing", "kube", esv1.CreatePolicyMerge, "", pw), esv1.ReasonSecretMissing, corev1.ConditionFalse, false, false, "", true},
		{newES(app, "none", "kube", esv1.CreatePolicyNone, "", pw), esv1.ReasonSecretSynced, corev1.ConditionTrue, false, false, "", true},
		{newES(app, "createormerge-new", "kube", esv1.CreatePolicyCreateOrMerge, "", pw), esv1.ReasonSecretSynced, corev1.ConditionTrue, true, false, "password", true},
		{newES(app, "createormerge-existing", "kube", esv1.CreatePolicyCreateOrMerge, "", pw), esv1.ReasonSecretSynced, corev1.ConditionTrue, true, false, "password,theirs", true},
	}
	for _, tt := range tests {
		e.create(ctx, t, tt.es)
	}
	for _, tt := range tests {
		t.Run(string(tt.es.Spec.Target.CreationPolicy)+"/"+tt.es.Name, func(t *testing.T) {
			es := e.waitReady(ctx, t, app, tt.es.Name, tt.status, tt.reason)
			s := &corev1.Secret{}
			err := e.client.Get(ctx, client.ObjectKey{Namespace: app, Name: tt.es.Name}, s)
			if tt.secret != (err == nil) {
				t.Fatalf("Secret exists = %v, want %v", err == nil, tt.secret)
			}
			if !tt.secret {
				return
			}
			if got := strings.Join(keysSorted(s.Data), ","); got != tt.keys {
				t.Errorf("keys %s, want %s", got, tt.keys)
			}
			if metav1.IsControlledBy(s, es) != tt.owned {
				t.Errorf("controlled by the ExternalSecret = %v, want %v", !tt.owned, tt.owned)
			}
			if err := e.client.Delete(ctx, es); err != nil {
				t.Fatal(err)
			}
			if tt.survives {
				e.waitGone(ctx, t, es, 30*time.Second)
				if err := e.client.Get(ctx, client.ObjectKeyFromObject(s), &corev1.Secret{}); err != nil {
					t.Errorf("Secret gone with its ExternalSecret under %s: %v", tt.es.Spec.Target.CreationPolicy, err)
				}
			} else {
				e.waitGone(ctx, t, s, 60*time.Second)
			}
		})
	}
}

// TestExternalSecretDeletionPolicies removes remote data under each deletionPolicy.
func TestExternalSecretDeletionPolicies(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	e := externalSecretsEnv(t)
	app := newNamespace(ctx, t)
	src := e.kubeStore(ctx, t, app, "reader", false, map[string]map[string]string{
		"retain-a": {"v": "1"}, "delete-a": {"v": "1"}, "merge-a": {"v": "1"}, "merge-b": {"v": "2"},
	})
	e.create(ctx, t, &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: "kube"}, Spec: esv1.SecretStoreSpec{Provider: kubeProvider(src, "reader", nil)}})
	retain := newES(app, "retain", "kube", "", esv1.DeletionPolicyRetain, entry("a", "retain-a", "v"))
	del := newES(app, "delete", "kube", "", esv1.DeletionPolicyDelete, entry("a", "delete-a", "v"))
	merge := newES(app, "merge", "kube", "", esv1.DeletionPolicyMerge, entry("a", "merge-a", "v"), entry("b", "merge-b", "v"))
	e.create(ctx, t, retain, del, merge)
	for _, es := range []*esv1.ExternalSecret{retain, del, merge} {
		e.waitReady(ctx, t, app, es.Name, corev1.ConditionTrue, esv1.ReasonSecretSynced)
		e.waitSecret(ctx, t, app, es.Name, nil)
	}
	kept := e.waitSecret(ctx, t, app, "retain", nil)

	for _, name := range []string{"retain-a", "delete-a", "merge-a"} {
		if err := e.client.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: src, Name: name}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, es := range []*esv1.ExternalSecret{retain, del, merge} {
		e.forceSync(ctx, t, es)
	}

	t.Run("Retain keeps the Secret and reports the error", func(t *testing.T) {
		es := e.waitReady(ctx, t, app, "retain", corev1.ConditionFalse, esv1.ReasonSecretSyncedError)
		if msg := readyCondition(es).Message; !strings.Contains(msg, "retain-a") || !strings.Contains(msg, "not found") {
			t.Errorf("message %q should name the missing key", msg)
		}
		s := e.waitSecret(ctx, t, app, "retain", nil)
		if s.ResourceVersion != kept.ResourceVersion || string(s.Data["a"]) != "1" {
			t.Errorf("the Secret changed after a failed sync")
		}
	})
	t.Run("Delete deletes the Secret", func(t *testing.T) {
		e.waitReady(ctx, t, app, "delete", corev1.ConditionTrue, esv1.ReasonSecretDeleted)
		e.waitGone(ctx, t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: "delete"}}, 30*time.Second)
	})
	t.Run("Merge drops the key", func(t *testing.T) {
		e.waitSecret(ctx, t, app, "merge", func(s *corev1.Secret) bool {
			_, hasA := s.Data["a"]
			return !hasA && string(s.Data["b"]) == "2"
		})
	})
}

// TestClusterExternalSecretAcrossNamespaces fans out to labelled namespaces
// and follows label changes.
func TestClusterExternalSecretAcrossNamespaces(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	e := externalSecretsEnv(t)
	home := newNamespace(ctx, t)
	src := e.kubeStore(ctx, t, home, "fanout", false, map[string]map[string]string{"shared": {"token": "t0k"}})
	tag := rand.String(6)
	var members []string
	for range 3 {
		ns := newNamespace(ctx, t)
		nsObj := &corev1.Namespace{}
		if err := e.client.Get(ctx, client.ObjectKey{Name: ns}, nsObj); err != nil {
			t.Fatal(err)
		}
		nsObj.Labels = setString(nsObj.Labels, "shared-"+tag, "true")
		if err := e.client.Update(ctx, nsObj); err != nil {
			t.Fatal(err)
		}
		members = append(members, ns)
	}
	storeName := "shared-" + tag
	e.create(ctx, t,
		&esv1.ClusterSecretStore{ObjectMeta: metav1.ObjectMeta{Name: storeName}, Spec: esv1.SecretStoreSpec{
			Provider:   kubeProvider(src, "fanout", &home),
			Conditions: []esv1.ClusterSecretStoreCondition{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"shared-" + tag: "true"}}}},
		}},
		&esv1.ClusterExternalSecret{ObjectMeta: metav1.ObjectMeta{Name: storeName}, Spec: esv1.ClusterExternalSecretSpec{
			ExternalSecretName: "shared-credentials",
			NamespaceSelectors: []*metav1.LabelSelector{{MatchLabels: map[string]string{"shared-" + tag: "true"}}},
			ExternalSecretSpec: esv1.ExternalSecretSpec{
				SecretStoreRef: esv1.SecretStoreRef{Name: storeName, Kind: esv1.ClusterSecretStoreKind},
				DataFrom:       []esv1.ExternalSecretDataFromRemoteRef{{Extract: &esv1.ExternalSecretDataRemoteRef{Key: "shared"}}},
			},
		}},
	)
	for _, ns := range members {
		e.waitReady(ctx, t, ns, "shared-credentials", corev1.ConditionTrue, esv1.ReasonSecretSynced)
		e.waitSecret(ctx, t, ns, "shared-credentials", func(s *corev1.Secret) bool { return string(s.Data["token"]) == "t0k" })
	}
	// A namespace that leaves loses its ExternalSecret (and so its Secret).
	leaver := &corev1.Namespace{}
	if err := e.client.Get(ctx, client.ObjectKey{Name: members[0]}, leaver); err != nil {
		t.Fatal(err)
	}
	delete(leaver.Labels, "shared-"+tag)
	if err := e.client.Update(ctx, leaver); err != nil {
		t.Fatal(err)
	}
	e.waitGone(ctx, t, &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: members[0], Name: "shared-credentials"}}, 60*time.Second)
	ces := &esv1.ClusterExternalSecret{}
	eventually(ctx, t, "ClusterExternalSecret status", func(ctx context.Context) (bool, error) {
		err := e.client.Get(ctx, client.ObjectKey{Name: storeName}, ces)
		return err == nil && len(ces.Status.ProvisionedNamespaces) == 2, err
	})
}

// TestPushSecretIntoKubernetesStore pushes a key into another namespace
// and removes it again with the PushSecret (deletionPolicy Delete).
func TestPushSecretIntoKubernetesStore(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e := externalSecretsEnv(t)
	app := newNamespace(ctx, t)
	dst := e.kubeStore(ctx, t, app, "pusher", true, nil)
	e.create(ctx, t,
		&esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: "remote"}, Spec: esv1.SecretStoreSpec{Provider: kubeProvider(dst, "pusher", nil)}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: "source"}, StringData: map[string]string{"token": "pushed-value", "ignored": "x"}},
	)
	ps := &esv1alpha1.PushSecret{
		ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: "push"},
		Spec: esv1alpha1.PushSecretSpec{
			DeletionPolicy:  esv1alpha1.PushSecretDeletionPolicyDelete,
			SecretStoreRefs: []esv1alpha1.PushSecretStoreRef{{Name: "remote", Kind: esv1.SecretStoreKind}},
			Selector:        esv1alpha1.PushSecretSelector{Secret: &esv1alpha1.PushSecretSecret{Name: "source"}},
			Data: []esv1alpha1.PushSecretData{{Match: esv1alpha1.PushSecretMatch{SecretKey: "token",
				RemoteRef: esv1alpha1.PushSecretRemoteRef{RemoteKey: "pushed", Property: "api-token"}}}},
		},
	}
	e.create(ctx, t, ps)
	e.waitSecret(ctx, t, dst, "pushed", func(s *corev1.Secret) bool { return string(s.Data["api-token"]) == "pushed-value" && len(s.Data) == 1 })
	eventually(ctx, t, "PushSecret status", func(ctx context.Context) (bool, error) {
		err := e.client.Get(ctx, client.ObjectKeyFromObject(ps), ps)
		return err == nil && len(ps.Status.Conditions) == 1 && ps.Status.Conditions[0].Status == corev1.ConditionTrue &&
			len(ps.Status.SyncedPushSecrets["SecretStore/remote"]) == 1, err
	})
	if err := e.client.Delete(ctx, ps); err != nil {
		t.Fatal(err)
	}
	e.waitGone(ctx, t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: dst, Name: "pushed"}}, 60*time.Second)
}

// TestExternalSecretStoreDownKeepsSecretAndValues takes a store down and
// plants distinctive values, then checks that the last good Secret stays,
// the failure is reported, and no value reaches logs, events, status or
// metrics.
func TestExternalSecretStoreDownKeepsSecretAndValues(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	e := externalSecretsEnv(t)
	app := newNamespace(ctx, t)
	planted := "PLANTED-" + rand.String(12)
	planted64 := "UExBTlRFRC0" // how the planted prefix starts in base64
	src := e.kubeStore(ctx, t, app, "reader", false, map[string]map[string]string{
		"db": {"password": planted, "json": `{"k":"` + planted + `"}`},
	})
	store := &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: app, Name: "kube"}, Spec: esv1.SecretStoreSpec{Provider: kubeProvider(src, "reader", nil)}}
	good := newES(app, "good", "kube", "", "", entry("password", "db", "password"))
	badTemplate := newES(app, "bad-template", "kube", "", "", entry("password", "db", "password"))
	badTemplate.Spec.Target.Template = &esv1.ExternalSecretTemplate{Data: map[string]string{"x": `{{ fail .password }}`}}
	badDecode := newES(app, "bad-decode", "kube", "", "", entry("password", "db", "password"))
	badDecode.Spec.Data[0].RemoteRef.DecodingStrategy = esv1.DecodingStrategyBase64
	badProperty := newES(app, "bad-property", "kube", "", "", entry("password", "db", "json.k.deeper"))
	e.create(ctx, t, store, good, badTemplate, badDecode, badProperty)

	e.waitReady(ctx, t, app, "good", corev1.ConditionTrue, esv1.ReasonSecretSynced)
	before := e.waitSecret(ctx, t, app, "good", nil)
	for _, name := range []string{"bad-template", "bad-decode", "bad-property"} {
		e.waitReady(ctx, t, app, name, corev1.ConditionFalse, esv1.ReasonSecretSyncedError)
	}

	// The store goes down: it now points at an address nothing listens on.
	if err := e.client.Get(ctx, client.ObjectKeyFromObject(store), store); err != nil {
		t.Fatal(err)
	}
	store.Spec.Provider.Kubernetes.Server.URL = "https://127.0.0.1:1"
	if err := e.client.Update(ctx, store); err != nil {
		t.Fatal(err)
	}
	e.forceSync(ctx, t, good)
	es := e.waitReady(ctx, t, app, "good", corev1.ConditionFalse, esv1.ReasonSecretSyncedError)
	if msg := readyCondition(es).Message; !strings.Contains(msg, "SecretStore/"+app+"/kube") {
		t.Errorf("the failure does not name the store: %q", msg)
	}
	after := e.waitSecret(ctx, t, app, "good", nil)
	if after.ResourceVersion != before.ResourceVersion || string(after.Data["password"]) != planted {
		t.Errorf("the last good Secret was changed by a failed sync")
	}

	// Nothing but the Secrets may hold the values.
	var list esv1.ExternalSecretList
	if err := e.client.List(ctx, &list, client.InNamespace(app)); err != nil {
		t.Fatal(err)
	}
	statuses, _ := json.Marshal(list)
	var evs eventsv1.EventList
	if err := e.client.List(ctx, &evs, client.InNamespace(app)); err != nil {
		t.Fatal(err)
	}
	if len(evs.Items) == 0 {
		t.Error("no events were recorded")
	}
	events, _ := json.Marshal(evs)
	for what, text := range map[string]string{
		"ExternalSecret objects": string(statuses), "events": string(events),
		"logs": e.logs.String(), "metrics": e.metricsText(t),
	} {
		if leak := containsAny(text, planted, planted64); leak != "" {
			t.Errorf("a planted value reached the %s", what)
		}
	}
	if !strings.Contains(string(statuses), `template \"spec.target.template.data[x]\": 1:3: fail was called`) {
		t.Error("the template failure should be reported by name, position and a fixed description")
	}
}

func keysSorted[V any](m map[string]V) []string {
	keys := keysOf(m)
	sort.Strings(keys)
	return keys
}
