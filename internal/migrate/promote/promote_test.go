package promote

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/keyward/keyward/internal/migrate"
)

const uri = "postgresql://aura:PLANTED@db/aura"

func secret(ns, name string, data map[string]string, owners ...metav1.OwnerReference) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, OwnerReferences: owners}, Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

func backend(ns string) *appsv1.Deployment {
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "backend"}, Spec: appsv1.DeploymentSpec{
		Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app",
			EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "backend-secrets"}}}}}}}}}}
}

func externalSecret(ns, name, target string, keys ...string) *unstructured.Unstructured {
	var data []any
	for _, k := range keys {
		data = append(data, map[string]any{"secretKey": k, "remoteRef": map[string]any{"key": "aura/" + k}})
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
		"metadata": map[string]any{"namespace": ns, "name": name},
		"spec":     map[string]any{"target": map[string]any{"name": target}, "data": data},
	}}
}

func cluster(objs []runtime.Object, dyn []runtime.Object) Cluster {
	scheme := runtime.NewScheme()
	return Cluster{
		Kube: fake.NewSimpleClientset(objs...),
		Dynamic: dynfake.NewSimpleDynamicClientWithCustomListKinds(scheme, map[schema.GroupVersionResource]string{
			esGVRs[0]: "ExternalSecretList", esGVRs[1]: "ExternalSecretList", sealedGVR: "SealedSecretList"}, dyn...),
	}
}

func TestRun(t *testing.T) {
	ctl := true
	sealedOwner := metav1.OwnerReference{APIVersion: "bitnami.com/v1alpha1", Kind: "SealedSecret", Name: "backend-secrets", Controller: &ctl}
	for _, tc := range []struct {
		name     string
		objs     []runtime.Object
		dyn      []runtime.Object
		values   bool
		want     map[migrate.Op]string // op -> keys
		same     int
		wantData map[string]string // target backend-secrets after the run
	}{
		{name: "target lacks the Secret",
			objs: []runtime.Object{backend("stg"), secret("stg", "backend-secrets", map[string]string{"postgres-db-uri": uri})},
			want: map[migrate.Op]string{migrate.Missing: "postgres-db-uri"}},
		{name: "same value found",
			objs: []runtime.Object{backend("stg"), secret("stg", "backend-secrets", map[string]string{"postgres-db-uri": uri, "api-key": "a"}),
				secret("prod", "backend-secrets", map[string]string{"postgres-db-uri": uri, "api-key": "b"})},
			want: map[migrate.Op]string{migrate.Same: "postgres-db-uri"}, same: 1},
		{name: "every value differs",
			objs: []runtime.Object{backend("stg"), secret("stg", "backend-secrets", map[string]string{"postgres-db-uri": uri}),
				secret("prod", "backend-secrets", map[string]string{"postgres-db-uri": "other"})},
			want: map[migrate.Op]string{migrate.Unchanged: "postgres-db-uri"}},
		{name: "values copied into a new Secret", values: true,
			objs:     []runtime.Object{backend("stg"), secret("stg", "backend-secrets", map[string]string{"postgres-db-uri": uri})},
			want:     map[migrate.Op]string{migrate.Missing: "postgres-db-uri", migrate.Copy: "postgres-db-uri"},
			wantData: map[string]string{"postgres-db-uri": uri}},
		{name: "a missing key added, the rest kept", values: true,
			objs: []runtime.Object{backend("stg"), secret("stg", "backend-secrets", map[string]string{"postgres-db-uri": uri, "api-key": "a"}),
				secret("prod", "backend-secrets", map[string]string{"postgres-db-uri": "other"})},
			want:     map[migrate.Op]string{migrate.Missing: "api-key", migrate.Copy: "api-key"},
			wantData: map[string]string{"postgres-db-uri": "other", "api-key": "a"}},
		{name: "a Secret a controller writes is not copied into", values: true,
			objs: []runtime.Object{backend("stg"), secret("stg", "backend-secrets", map[string]string{"postgres-db-uri": uri, "api-key": "a"}),
				secret("prod", "backend-secrets", map[string]string{"postgres-db-uri": "other"}, sealedOwner)},
			want:     map[migrate.Op]string{migrate.Missing: "api-key", migrate.Skipped: "api-key"},
			wantData: map[string]string{"postgres-db-uri": "other"}},
		{name: "an ExternalSecret's target is needed though nothing uses it",
			dyn:  []runtime.Object{externalSecret("stg", "db", "db-creds", "password")},
			want: map[migrate.Op]string{migrate.Missing: "password"}},
		{name: "tokens and unused Secrets are not needed",
			objs: []runtime.Object{secret("stg", "unused", map[string]string{"x": "y"})},
			want: map[migrate.Op]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := cluster(tc.objs, tc.dyn)
			res, err := Run(context.Background(), c, Options{From: "stg", To: "prod", HMACKey: []byte("k"), Values: tc.values})
			if err != nil {
				t.Fatal(err)
			}
			got := map[migrate.Op]string{}
			for _, a := range res.Report.Actions {
				got[a.Op] = strings.Join(a.Keys, ",")
			}
			if len(got) != len(tc.want) {
				t.Fatalf("actions = %v, want %v", got, tc.want)
			}
			for op, keys := range tc.want {
				if got[op] != keys {
					t.Errorf("%s keys = %q, want %q (all: %v)", op, got[op], keys, got)
				}
			}
			if res.Same != tc.same {
				t.Errorf("Same = %d, want %d", res.Same, tc.same)
			}
			var rep strings.Builder
			res.Report.Write(&rep, "json")
			if strings.Contains(rep.String(), "PLANTED") {
				t.Errorf("the report holds a value:\n%s", rep.String())
			}
			if tc.wantData != nil {
				s, err := c.Kube.CoreV1().Secrets("prod").Get(context.Background(), "backend-secrets", metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if len(s.Data) != len(tc.wantData) {
					t.Errorf("target data has %d keys, want %d", len(s.Data), len(tc.wantData))
				}
				for k, v := range tc.wantData {
					if string(s.Data[k]) != v {
						t.Errorf("target data[%s] is not the expected value", k)
					}
				}
			}
		})
	}
}

func TestOutSkeleton(t *testing.T) {
	c := cluster([]runtime.Object{backend("stg"), secret("stg", "backend-secrets", map[string]string{"postgres-db-uri": uri})}, nil)
	dir := t.TempDir()
	res, err := Run(context.Background(), c, Options{From: "stg", To: "prod", HMACKey: []byte("k"), OutDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "backend-secrets.secret.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if s := string(b); !strings.Contains(s, "namespace: prod") || !strings.Contains(s, `postgres-db-uri: ""`) || strings.Contains(s, "PLANTED") {
		t.Errorf("skeleton:\n%s", s)
	}
	again, err := Run(context.Background(), c, Options{From: "stg", To: "prod", HMACKey: []byte("k"), OutDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if res.Report.Changes() != 1 || again.Report.Changes() != 0 {
		t.Errorf("changes = %d then %d, want 1 then 0", res.Report.Changes(), again.Report.Changes())
	}
}
