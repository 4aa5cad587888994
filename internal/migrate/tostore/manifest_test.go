package tostore

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
)

func TestManifest(t *testing.T) {
	p, _ := ParsePath("aura/{{.Namespace}}/postgres")
	s := secret(map[string]string{"postgres-db-uri": "PLANTED-VALUE"})
	rs, err := layout(p, s)
	if err != nil {
		t.Fatal(err)
	}
	es := externalSecret(s, rs, esv1.SecretStoreRef{Name: "aws-secrets-manager", Kind: esv1.ClusterSecretStoreKind}, time.Hour)
	for _, v := range []string{"v1", "v1beta1"} {
		b, err := manifest(es, v)
		if err != nil {
			t.Fatal(err)
		}
		got := string(b)
		for _, want := range []string{"apiVersion: external-secrets.io/" + v + "\n", "kind: ExternalSecret", "name: backend-secrets",
			"creationPolicy: Owner", "secretKey: postgres-db-uri", "key: aura/production/postgres", "property: postgres-db-uri",
			"refreshInterval: 1h0m0s", "kind: ClusterSecretStore"} {
			if !strings.Contains(got, want) {
				t.Errorf("%s manifest lacks %q:\n%s", v, want, got)
			}
		}
		for _, bad := range []string{"PLANTED", "status", "creationTimestamp"} {
			if strings.Contains(got, bad) {
				t.Errorf("%s manifest holds %q:\n%s", v, bad, got)
			}
		}
	}
	tls := secret(map[string]string{"tls.crt": "c", "tls.key": "k"})
	tls.Type = corev1.SecretTypeTLS
	rs, _ = layout(p, tls)
	if es := externalSecret(tls, rs, esv1.SecretStoreRef{Name: "v"}, time.Hour); es.Spec.Target.Template == nil || es.Spec.Target.Template.Type != corev1.SecretTypeTLS {
		t.Errorf("a TLS Secret's ExternalSecret should carry its type in the template")
	}
}

func TestSameSpec(t *testing.T) {
	p, _ := ParsePath("aura/{{.Namespace}}/{{.Name}}")
	s := secret(map[string]string{"a": "1", "b": "2"})
	rs, _ := layout(p, s)
	ref := esv1.SecretStoreRef{Name: "vault", Kind: esv1.SecretStoreKind}
	want := externalSecret(s, rs, ref, time.Hour)
	// What the API server returns: defaults filled in, data in another order.
	served := func(edit func(m map[string]any)) *unstructured.Unstructured {
		b, _ := manifest(want, "v1")
		var m map[string]any
		if err := yaml.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		spec := m["spec"].(map[string]any)
		data := spec["data"].([]any)
		data[0], data[1] = data[1], data[0]
		for _, d := range data {
			d.(map[string]any)["remoteRef"].(map[string]any)["conversionStrategy"] = "Default"
		}
		spec["target"].(map[string]any)["deletionPolicy"] = "Retain"
		edit(m)
		return &unstructured.Unstructured{Object: m}
	}
	spec := func(m map[string]any) map[string]any { return m["spec"].(map[string]any) }
	for _, tc := range []struct {
		name string
		edit func(m map[string]any)
		want string
	}{
		{name: "same with defaults", edit: func(map[string]any) {}},
		{name: "other store", edit: func(m map[string]any) { spec(m)["secretStoreRef"].(map[string]any)["name"] = "aws" }, want: "another store"},
		{name: "orphan policy", edit: func(m map[string]any) { spec(m)["target"].(map[string]any)["creationPolicy"] = "Orphan" }, want: "creationPolicy Orphan"},
		{name: "a key less", edit: func(m map[string]any) { spec(m)["data"] = spec(m)["data"].([]any)[:1] }, want: "other data"},
		{name: "other property", edit: func(m map[string]any) {
			spec(m)["data"].([]any)[0].(map[string]any)["remoteRef"].(map[string]any)["property"] = "x"
		}, want: "other data"},
		{name: "other refresh", edit: func(m map[string]any) { spec(m)["refreshInterval"] = "5m" }, want: "refreshInterval"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			same, why := sameSpec(served(tc.edit), want)
			if same != (tc.want == "") || !strings.Contains(why, tc.want) {
				t.Errorf("sameSpec = %v %q, want %q", same, why, tc.want)
			}
		})
	}
}
