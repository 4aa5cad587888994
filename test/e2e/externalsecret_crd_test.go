package e2e

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// readManifests splits a multi-document YAML file into objects, skipping
// empty documents.
func readManifests(t *testing.T, path string) []*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := decodeManifests(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return objs
}

func decodeManifests(data []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, err
		}
		if len(m) == 0 {
			continue
		}
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
}

// dryRunCreate asks the API server to validate obj as if it were created
// in ns (cluster-scoped kinds ignore ns).
func dryRunCreate(ctx context.Context, obj *unstructured.Unstructured, ns string) error {
	obj = obj.DeepCopy()
	if !strings.HasPrefix(obj.GetKind(), "Cluster") {
		obj.SetNamespace(ns)
	}
	return cluster.Client.Create(ctx, obj, client.DryRunAll)
}

// TestExternalSecretCRDsAcceptManifests applies every document of our
// example manifests (both versions, every kind, every provider) with a
// server-side dry run.
func TestExternalSecretCRDsAcceptManifests(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ns := newNamespace(ctx, t)
	files, _ := filepath.Glob("testdata/externalsecrets/*.yaml")
	if len(files) == 0 {
		t.Fatal("no manifests in testdata/externalsecrets")
	}
	for _, f := range files {
		for _, obj := range readManifests(t, f) {
			if err := dryRunCreate(ctx, obj, ns); err != nil {
				t.Errorf("%s: %s %s/%s refused: %v", filepath.Base(f), obj.GetAPIVersion(), obj.GetKind(), obj.GetName(), err)
			}
		}
	}
}

// TestExternalSecretCRDsRejectInvalid checks that what ESO refuses in its
// webhook is refused by our schema, with a message naming the field.
func TestExternalSecretCRDsRejectInvalid(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ns := newNamespace(ctx, t)
	const es = "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: bad}\nspec:\n"
	const store = "apiVersion: external-secrets.io/v1beta1\nkind: SecretStore\nmetadata: {name: bad}\nspec:\n"
	tests := []struct {
		name, doc, want string
	}{
		{"engine v1", es + "  target: {template: {engineVersion: v1}}\n  data: [{secretKey: a, remoteRef: {key: k}}]",
			"spec.target.template.engineVersion: Invalid value: \"v1\": engineVersion: only v2 is supported"},
		{"Delete without Owner", es + "  target: {creationPolicy: Merge, deletionPolicy: Delete}\n  data: [{secretKey: a, remoteRef: {key: k}}]",
			"spec.target: Invalid value: target.deletionPolicy: Delete needs target.creationPolicy Owner"},
		{"Merge deletion with None", es + "  target: {creationPolicy: None, deletionPolicy: Merge}\n  data: [{secretKey: a, remoteRef: {key: k}}]",
			"target.deletionPolicy: Merge cannot be used with target.creationPolicy None"},
		{"no data", es + "  secretStoreRef: {name: s}", "spec: set data or dataFrom"},
		{"empty data", es + "  data: []", "spec: set data or dataFrom"},
		{"duplicate secretKey", es + "  data: [{secretKey: a, remoteRef: {key: k}}, {secretKey: a, remoteRef: {key: j}}]",
			"spec.data[1]: Duplicate value"},
		{"bad secretKey", es + "  data: [{secretKey: 'a/b', remoteRef: {key: k}}]", "spec.data[0].secretKey: Invalid value"},
		{"empty remote key", es + "  data: [{secretKey: a, remoteRef: {key: ''}}]", "spec.data[0].remoteRef.key"},
		{"bad refreshInterval", es + "  refreshInterval: 1d\n  data: [{secretKey: a, remoteRef: {key: k}}]",
			"spec.refreshInterval: Invalid value: \"1d\": refreshInterval: must be a Go duration"},
		{"bad creationPolicy", es + "  target: {creationPolicy: Own}\n  data: [{secretKey: a, remoteRef: {key: k}}]",
			"spec.target.creationPolicy: Unsupported value: \"Own\""},
		{"extract and find", es + "  dataFrom: [{extract: {key: k}, find: {name: {regexp: x}}}]",
			"spec.dataFrom[0]: Invalid value: dataFrom: set only one of extract, find and sourceRef.generatorRef"},
		{"two rewrites in one", es + "  dataFrom: [{extract: {key: k}, rewrite: [{regexp: {source: a, target: b}, transform: {template: x}}]}]",
			"spec.dataFrom[0].rewrite[0]: Invalid value: rewrite: set only one of merge, regexp and transform"},
		{"store without provider", store + "  controller: x", "spec.provider: Required value"},
		{"kubernetes with two auths", store + "  provider: {kubernetes: {auth: {token: {bearerToken: {name: a, key: b}}, serviceAccount: {name: c}}}}",
			"spec.provider.kubernetes.auth: Invalid value: auth: set only one of cert, token and serviceAccount"},
		{"bad store kind", es + "  secretStoreRef: {name: s, kind: Store}\n  data: [{secretKey: a, remoteRef: {key: k}}]",
			"spec.secretStoreRef.kind: Unsupported value: \"Store\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := decodeManifests([]byte(tt.doc))
			if err != nil || len(objs) != 1 {
				t.Fatalf("test manifest: %v", err)
			}
			err = dryRunCreate(ctx, objs[0], ns)
			if err == nil {
				t.Fatalf("accepted, want refusal mentioning %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("refused with\n  %v\nwant it to mention\n  %s", err, tt.want)
			}
		})
	}
}

// esoExampleRefusals are the documents of ESO's own documentation that no
// schema can accept, with the part of the API server's answer that says why.
var esoExampleRefusals = map[string]string{
	// Not valid YAML (a map key repeated after a blank line at another indent).
	"pkcs12-template-v2-external-secret.yaml": "yaml",
	// Placeholders written as YAML lists: projectID: [PROJECT_ID].
	"gcpsm-sa-secret-store.yaml":                                     "spec.provider.gcpsm.projectID",
	"gcpsm-wif-core-controller-secret-store.yaml":                    "spec.provider.gcpsm.projectID",
	"gcpsm-wif-iam-secret-store.yaml":                                "spec.provider.gcpsm.projectID",
	"gcpsm-wif-non-native-iam-secret-store.yaml":                     "spec.provider.gcpsm.projectID",
	"gcpsm-wif-sa-secret-store-with-explicit-name-and-location.yaml": "spec.provider.gcpsm.projectID",
	"gcpsm-wif-sa-secret-store.yaml":                                 "spec.provider.gcpsm.projectID",
	// A placeholder written as "auth: ..." where an object belongs.
	"vault-mtls-store.yaml": "spec.provider.vault.auth in body must be of type object",
	// Template engine v1 was removed from ESO in 0.16; refused with a message
	// saying so instead of failing at render time.
	"pkcs12-template-v1-external-secret.yaml": "engineVersion: only v2 is supported",
	// metadata.annotations value written as a number (acme.org/sha: 1234).
	"full-external-secret.yaml": "annotations",
	// PushSecret never existed as v1beta1 in ESO either.
	"template-v2-push-secret.yaml": "no matches for kind \"PushSecret\" in version \"external-secrets.io/v1beta1\"",
}

// TestExternalSecretCRDsAcceptESOExamples applies ESO's documentation
// examples when KEYWARD_ESO_EXAMPLES names their folder. They are not part
// of this repository (their licence and purpose are ESO's); the test says
// so and skips when the folder is not given.
func TestExternalSecretCRDsAcceptESOExamples(t *testing.T) {
	dir := os.Getenv("KEYWARD_ESO_EXAMPLES")
	if dir == "" {
		t.Skip("KEYWARD_ESO_EXAMPLES is not set: no ESO documentation examples to check")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ns := newNamespace(ctx, t)
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if len(files) == 0 {
		t.Fatalf("no YAML files in %s", dir)
	}
	for _, f := range files {
		name := filepath.Base(f)
		want, refused := esoExampleRefusals[name]
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		objs, err := decodeManifests(data)
		var errs []string
		if err != nil {
			errs = append(errs, err.Error())
		}
		for _, obj := range objs {
			if !strings.HasPrefix(obj.GetAPIVersion(), "external-secrets.io/") {
				continue
			}
			if err := dryRunCreate(ctx, obj, ns); err != nil {
				errs = append(errs, err.Error())
			}
		}
		got := strings.Join(errs, "\n")
		switch {
		case refused && !strings.Contains(got, want):
			t.Errorf("%s: want a refusal mentioning %q, got %q", name, want, got)
		case !refused && got != "":
			t.Errorf("%s refused: %s", name, got)
		}
	}
}
