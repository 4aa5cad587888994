package tostore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/migrate"
	"github.com/keyward/keyward/internal/migrate/source"
	"github.com/keyward/keyward/internal/provider"
)

// memStore is a store in memory; down makes every call fail as a store
// that cannot be reached does.
type memStore struct {
	mu     sync.Mutex
	data   map[string]map[string]string
	writes int
	down   bool
}

func (m *memStore) Name() string { return "SecretStore/production/vault-backend" }

func (m *memStore) Read(_ context.Context, key string) (provider.Secret, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down {
		return provider.Secret{}, errors.New("SecretStore/production/vault-backend: reading key \"" + key + "\": connection refused")
	}
	d, ok := m.data[key]
	if !ok {
		return provider.Secret{}, provider.ErrNotFound
	}
	b, _ := json.Marshal(d)
	return provider.Secret{Value: b}, nil
}

func (m *memStore) Write(_ context.Context, key, property string, value []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.writes++
	if property == "" {
		var d map[string]string
		if err := json.Unmarshal(value, &d); err != nil {
			return err
		}
		m.data[key] = d
		return nil
	}
	if m.data[key] == nil {
		m.data[key] = map[string]string{}
	}
	m.data[key][property] = string(value)
	return nil
}

func fakeCluster(objs ...runtime.Object) Cluster {
	return Cluster{
		Kube: fake.NewSimpleClientset(objs...),
		Dynamic: dynfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
			esGVR("v1"): "ExternalSecretList", esGVR("v1beta1"): "ExternalSecretList", sealedSecretGVR: "SealedSecretList"}),
	}
}

func clusterSecrets(ss ...*corev1.Secret) []source.Secret {
	var out []source.Secret
	for _, s := range ss {
		out = append(out, source.Secret{Secret: s, Origin: source.Origin{Kind: source.FromCluster}})
	}
	return out
}

func ops(rep *migrate.Report) string {
	var out []string
	for _, a := range rep.Actions {
		out = append(out, string(a.Op))
	}
	return strings.Join(out, ",")
}

func TestPushWithoutApply(t *testing.T) {
	path, _ := ParsePath("aura/{{.Namespace}}/{{.Name}}")
	backend := secret(map[string]string{"postgres-db-uri": "PLANTED-URI"})
	ctl := true
	sealed := secret(map[string]string{"k": "PLANTED-K"})
	sealed.Name = "sealed"
	sealed.OwnerReferences = []metav1.OwnerReference{{APIVersion: "bitnami.com/v1alpha1", Kind: "SealedSecret", Name: "sealed", Controller: &ctl}}
	foreign := secret(map[string]string{"k": "PLANTED-F"})
	foreign.Name = "foreign"
	foreign.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: "x", Controller: &ctl}}

	store := &memStore{data: map[string]map[string]string{}}
	out := t.TempDir()
	o := Options{StoreRef: esv1.SecretStoreRef{Name: "vault-backend"}, Path: path, OutDir: out, DryRun: true,
		Consumers: func(context.Context, string, string) ([]string, error) {
			return []string{"Deployment/production/backend"}, nil
		}}
	c := fakeCluster(backend, sealed)

	// The plan: would push and write, names the consumers, changes nothing.
	rep, err := Push(context.Background(), clusterSecrets(backend, sealed), store, c, o)
	if err != nil {
		t.Fatal(err)
	}
	if got := ops(rep); got != "push,write-externalsecret,push,write-externalsecret" {
		t.Errorf("plan ops = %s", got)
	}
	if rep.Actions[0].Differs != "store has no value" || len(rep.Actions[0].Consumers) != 1 {
		t.Errorf("plan action = %+v", rep.Actions[0])
	}
	if store.writes != 0 {
		t.Error("the plan wrote to the store")
	}
	if ents, _ := os.ReadDir(out); len(ents) != 0 {
		t.Error("the plan wrote a file")
	}

	// The run, then a rerun that finds everything done.
	o.DryRun = false
	rep, err = Push(context.Background(), clusterSecrets(backend, sealed), store, c, o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Changes() != 4 || store.data["aura/production/backend-secrets"]["postgres-db-uri"] != "PLANTED-URI" {
		t.Errorf("run: %d changes (%s), store %d keys", rep.Changes(), ops(rep), len(store.data))
	}
	if _, err := os.Stat(filepath.Join(out, "backend-secrets.externalsecret.yaml")); err != nil {
		t.Error(err)
	}
	writes := store.writes
	rep, err = Push(context.Background(), clusterSecrets(backend, sealed), store, c, o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Changes() != 0 || store.writes != writes {
		t.Errorf("rerun: %d changes (%s), %d more writes", rep.Changes(), ops(rep), store.writes-writes)
	}

	// With apply, a SealedSecret's Secret is left to it until --cleanup:
	// the ExternalSecret goes in with creationPolicy None, writing nothing.
	o.Apply, o.DryRun = true, true
	rep, err = Push(context.Background(), clusterSecrets(sealed), store, c, o)
	if err != nil {
		t.Fatal(err)
	}
	if last := rep.Actions[len(rep.Actions)-1]; last.Op != migrate.Apply || !strings.Contains(last.Note, "creationPolicy None") || !strings.Contains(last.Note, "--cleanup") {
		t.Errorf("SealedSecret's Secret without --cleanup: %+v", last)
	}
	o.Cleanup = true
	rep, err = Push(context.Background(), clusterSecrets(sealed), store, c, o)
	if err != nil {
		t.Fatal(err)
	}
	// None first, to prove the store serves every value; then Owner.
	if got := ops(rep); got != "unchanged,unchanged,apply,apply" {
		t.Errorf("with --cleanup (no SealedSecret left in the cluster) ops = %s", got)
	}

	// A Secret something else controls is refused by name.
	_, err = Push(context.Background(), clusterSecrets(foreign), store, fakeCluster(foreign), o)
	if err == nil || !strings.Contains(err.Error(), "production/foreign is controlled by Deployment x") {
		t.Errorf("foreign controller: err = %v", err)
	}

	// Every report and error so far is free of values.
	var b strings.Builder
	rep.Write(&b, "json")
	if strings.Contains(b.String(), "PLANTED") {
		t.Error("a report holds a value")
	}
}

func TestPushStoreDown(t *testing.T) {
	path, _ := ParsePath("aura/{{.Namespace}}/{{.Name}}")
	var ss []*corev1.Secret
	for i := range 20 {
		s := secret(map[string]string{"k": fmt.Sprintf("PLANTED-%d", i)})
		s.Name = fmt.Sprintf("app-%02d", i)
		ss = append(ss, s)
	}
	store := &memStore{data: map[string]map[string]string{}, down: true}
	var objs []runtime.Object
	for _, s := range ss {
		objs = append(objs, s)
	}
	_, err := Push(context.Background(), clusterSecrets(ss...), store, fakeCluster(objs...), Options{Path: path, Workers: 1})
	if err == nil {
		t.Fatal("no error with the store down")
	}
	msg := err.Error()
	if !strings.Contains(msg, "20 of 20 Secret(s) not migrated") || !strings.Contains(msg, "SecretStore/production/vault-backend: reading key \"aura/production/app-00\"") ||
		strings.Count(msg, "failed on an earlier Secret") != 19 || strings.Contains(msg, "PLANTED") {
		t.Errorf("error:\n%s", msg)
	}
}

func TestPushOneBadSecretDoesNotStopOthers(t *testing.T) {
	path, _ := ParsePath("aura/{{.Namespace}}/{{.Name}}")
	good := secret(map[string]string{"k": "PLANTED-GOOD"})
	empty := secret(nil)
	empty.Name = "empty"
	binary := secret(nil)
	binary.Name = "binary"
	binary.Data["cert.der"] = []byte{0xff, 0x00}
	store := &memStore{data: map[string]map[string]string{}}
	rep, err := Push(context.Background(), clusterSecrets(good, empty, binary), store, fakeCluster(good, empty, binary), Options{Path: path})
	if err == nil || !strings.Contains(err.Error(), "1 of 3 Secret(s) not migrated") || !strings.Contains(err.Error(), "production/binary: data[cert.der] is not UTF-8") {
		t.Fatalf("err = %v", err)
	}
	if store.data["aura/production/backend-secrets"]["k"] != "PLANTED-GOOD" {
		t.Error("the good Secret was not pushed")
	}
	if got := ops(rep); got != "push,skipped" {
		t.Errorf("ops = %s, want the good push and the empty Secret skipped", got)
	}
}
