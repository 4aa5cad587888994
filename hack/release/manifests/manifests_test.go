package manifests

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

const root = "../../.."

func TestInstallManifestIsCurrent(t *testing.T) {
	want, err := Install(root)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(root, "deploy", "keyward.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("deploy/keyward.yaml is stale: run make manifests")
	}
}

var (
	allControllers = []string{"clusterexternalsecret", "clustersecretstore", "externalsecret", "pushsecret", "secretstore"}
	esCRDs         = []string{
		"clusterexternalsecrets.external-secrets.io", "clustersecretstores.external-secrets.io",
		"externalsecrets.external-secrets.io", "pushsecrets.external-secrets.io", "secretstores.external-secrets.io",
		"clustergenerators.generators.external-secrets.io", "fakes.generators.external-secrets.io",
		"passwords.generators.external-secrets.io", "uuids.generators.external-secrets.io",
		"vaultdynamicsecrets.generators.external-secrets.io",
	}
	ssCRDs = []string{"sealedsecrets.bitnami.com"}
)

// TestKustomizations builds every base and overlay and checks what each
// installs: the CRDs and RBAC of its pillars only, the controllers switched
// on, the hardened Pod, and the environment's namespace and replicas.
func TestKustomizations(t *testing.T) {
	tests := []struct {
		dir       string
		crds      []string
		roles     []string // ClusterRoles
		disabled  []string
		replicas  int32
		namespace string // the environment's namespace, if any
		proxySvc  bool   // kube-system/sealed-secrets-controller
		audit     bool   // the scheduled audit (deploy/components/audit)
	}{
		{dir: "deploy", crds: append(slices.Clone(ssCRDs), esCRDs...), roles: []string{"keyward-external-secrets", "keyward-reload", "keyward-sealed-secrets"}, replicas: 1, proxySvc: true},
		{dir: "deploy/sealed-secrets", crds: ssCRDs, roles: []string{"keyward-reload", "keyward-sealed-secrets"}, disabled: allControllers, replicas: 1, proxySvc: true},
		{dir: "deploy/external-secrets", crds: esCRDs, roles: []string{"keyward-external-secrets", "keyward-reload"}, disabled: []string{"sealedsecret"}, replicas: 1},
		{dir: "deploy/overlays/development", crds: append(slices.Clone(ssCRDs), esCRDs...), roles: []string{"keyward-external-secrets", "keyward-reload", "keyward-sealed-secrets"}, replicas: 1, namespace: "aura-development", proxySvc: true},
		{dir: "deploy/overlays/staging", crds: ssCRDs, roles: []string{"keyward-reload", "keyward-sealed-secrets"}, disabled: allControllers, replicas: 2, namespace: "aura-staging", proxySvc: true},
		{dir: "deploy/overlays/namespaced", crds: append(slices.Clone(ssCRDs), esCRDs...), disabled: []string{"clusterexternalsecret", "clustersecretstore"}, replicas: 1, namespace: "team-a", proxySvc: true},
		{dir: "deploy/overlays/production", crds: append(slices.Clone(ssCRDs), esCRDs...), roles: []string{"keyward-audit", "keyward-external-secrets", "keyward-reload", "keyward-sealed-secrets"}, replicas: 2, namespace: "aura-production", proxySvc: true, audit: true},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			out, err := Build(filepath.Join(root, tt.dir))
			if err != nil {
				t.Fatal(err)
			}
			objs, err := Parse(out)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := names(objs, "CustomResourceDefinition"), sorted(tt.crds); !slices.Equal(got, want) {
				t.Errorf("CRDs = %v, want %v", got, want)
			}
			if got, want := names(objs, "ClusterRole"), sorted(tt.roles); !slices.Equal(got, want) {
				t.Errorf("ClusterRoles = %v, want %v", got, want)
			}
			d, err := Deployment(objs)
			if err != nil {
				t.Fatal(err)
			}
			if d.Namespace != "kube-system" || d.Spec.Template.Spec.ServiceAccountName != "keyward" {
				t.Errorf("Deployment in %q as %q, want kube-system as keyward", d.Namespace, d.Spec.Template.Spec.ServiceAccountName)
			}
			if bad := Hardening(d); len(bad) > 0 {
				t.Errorf("controller Pod lacks: %s", strings.Join(bad, "; "))
			}
			if got, want := sorted(Disabled(Args(d))), sorted(tt.disabled); !slices.Equal(got, want) {
				t.Errorf("switched-off controllers = %v, want %v", got, want)
			}
			if got := slices.Contains(Args(d), "--enable-audit"); got != tt.audit {
				t.Errorf("--enable-audit in the controller's arguments = %v, want %v", got, tt.audit)
			}
			if d.Spec.Replicas == nil || *d.Spec.Replicas != tt.replicas {
				t.Errorf("replicas = %v, want %d", d.Spec.Replicas, tt.replicas)
			}
			if tt.namespace != "" && Find(objs, "Namespace", tt.namespace) == nil {
				t.Errorf("no Namespace %s", tt.namespace)
			}
			svc := Find(objs, "Service", "sealed-secrets-controller")
			if tt.proxySvc != (svc != nil) {
				t.Fatalf("Service sealed-secrets-controller present = %v, want %v", svc != nil, tt.proxySvc)
			}
			if svc != nil {
				ports, _, _ := unstructured.NestedSlice(svc.Object, "spec", "ports")
				if svc.GetNamespace() != "kube-system" || len(ports) == 0 || ports[0].(map[string]any)["name"] != "http" {
					t.Errorf("Service sealed-secrets-controller: namespace %q, ports %v; kubeseal wants kube-system and a first port named http", svc.GetNamespace(), ports)
				}
			}
			for _, kind := range []string{"ServiceAccount", "NetworkPolicy", "PodDisruptionBudget"} {
				if Find(objs, kind, "keyward") == nil {
					t.Errorf("no %s keyward", kind)
				}
			}
			if Find(objs, "Service", "keyward-metrics") == nil {
				t.Error("no Service keyward-metrics")
			}
		})
	}
}

func names(objs []*unstructured.Unstructured, kind string) []string {
	var out []string
	for _, o := range objs {
		if o.GetKind() == kind {
			out = append(out, o.GetName())
		}
	}
	sort.Strings(out)
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}
