package chart

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/keyward/keyward/hack/release/manifests"
)

const root = "../../.."

var dir = filepath.Join(root, "charts", "keyward")

func TestLint(t *testing.T) {
	for _, vals := range []map[string]any{
		nil,
		{"sealedSecrets": map[string]any{"enabled": false}},
		{"externalSecrets": map[string]any{"enabled": false}},
	} {
		if problems := Lint(dir, "kube-system", vals); len(problems) > 0 {
			t.Errorf("helm lint with %v:\n%s", vals, strings.Join(problems, "\n"))
		}
	}
}

func render(t *testing.T, vals map[string]any) []*unstructured.Unstructured {
	t.Helper()
	out, err := Render(dir, "keyward", "kube-system", vals)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := manifests.Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// TestAgreesWithInstallManifest checks that `helm install` with default
// values and `kubectl apply -f deploy/keyward.yaml` make the same objects
// with the same RBAC, Pod and Services.
func TestAgreesWithInstallManifest(t *testing.T) {
	chartObjs := render(t, nil)
	kust, err := manifests.Build(filepath.Join(root, "deploy"))
	if err != nil {
		t.Fatal(err)
	}
	kustObjs, err := manifests.Parse(kust)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(chartObjs), ids(kustObjs); !slices.Equal(got, want) {
		t.Fatalf("chart objects:\n%s\ndeploy/ objects:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, o := range kustObjs {
		c := manifests.Find(chartObjs, o.GetKind(), o.GetName())
		for _, field := range [][]string{{"rules"}, {"roleRef"}, {"subjects"}, {"spec", "ports"}, {"spec", "selector"}, {"spec", "ingress"}, {"spec", "egress"}, {"spec", "policyTypes"}, {"spec", "names"}, {"spec", "versions"}} {
			want, _, _ := unstructured.NestedFieldNoCopy(o.Object, field...)
			got, _, _ := unstructured.NestedFieldNoCopy(c.Object, field...)
			if o.GetKind() == "Deployment" || o.GetKind() == "PodDisruptionBudget" {
				continue // compared below
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s %s: chart %v, deploy/ %v", manifests.ID(o), strings.Join(field, "."), got, want)
			}
		}
	}
	cd, err := manifests.Deployment(chartObjs)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := manifests.Deployment(kustObjs)
	if err != nil {
		t.Fatal(err)
	}
	if bad := manifests.Hardening(cd); len(bad) > 0 {
		t.Errorf("chart's controller Pod lacks: %s", strings.Join(bad, "; "))
	}
	cc, kc := cd.Spec.Template.Spec.Containers[0], kd.Spec.Template.Spec.Containers[0]
	checks := []struct {
		what      string
		got, want any
	}{
		{"image", cc.Image, kc.Image},
		{"replicas", *cd.Spec.Replicas, *kd.Spec.Replicas},
		{"selector", cd.Spec.Selector, kd.Spec.Selector},
		{"serviceAccountName", cd.Spec.Template.Spec.ServiceAccountName, kd.Spec.Template.Spec.ServiceAccountName},
		{"pod securityContext", cd.Spec.Template.Spec.SecurityContext, kd.Spec.Template.Spec.SecurityContext},
		{"container securityContext", cc.SecurityContext, kc.SecurityContext},
		{"ports", cc.Ports, kc.Ports},
		{"probes", []any{cc.LivenessProbe, cc.ReadinessProbe}, []any{kc.LivenessProbe, kc.ReadinessProbe}},
		{"resources", cc.Resources, kc.Resources},
		{"env", cc.Env, kc.Env},
		{"volumes", cd.Spec.Template.Spec.Volumes, kd.Spec.Template.Spec.Volumes},
		{"switched-off controllers", manifests.Disabled(cc.Args), manifests.Disabled(kc.Args)},
		{"first arguments", cc.Args[:5], kc.Args[:5]},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("Deployment %s: chart %v, deploy/ %v", c.what, c.got, c.want)
		}
	}
}

func TestValues(t *testing.T) {
	tests := []struct {
		name     string
		vals     map[string]any
		check    func(t *testing.T, objs []*unstructured.Unstructured, args []string)
		disabled []string
	}{
		{
			name: "defaults",
			check: func(t *testing.T, objs []*unstructured.Unstructured, args []string) {
				wantArgs(t, args, "--key-renew-period=720h", "--store-qps=50", "--store-value-cache=5m", "--leader-elect")
			},
		},
		{
			name:     "sealed secrets only",
			vals:     map[string]any{"externalSecrets": map[string]any{"enabled": false}},
			disabled: []string{"clusterexternalsecret", "clustersecretstore", "externalsecret", "pushsecret", "secretstore"},
			check: func(t *testing.T, objs []*unstructured.Unstructured, args []string) {
				absent(t, objs, "ClusterRole", "keyward-external-secrets")
				present(t, objs, "Service", "sealed-secrets-controller")
			},
		},
		{
			name:     "external secrets only",
			vals:     map[string]any{"sealedSecrets": map[string]any{"enabled": false}},
			disabled: []string{"sealedsecret"},
			check: func(t *testing.T, objs []*unstructured.Unstructured, args []string) {
				absent(t, objs, "ClusterRole", "keyward-sealed-secrets")
				absent(t, objs, "Service", "sealed-secrets-controller")
				absent(t, objs, "Role", "keyward-service-proxier")
			},
		},
		{
			name: "image, replicas, resources, renewal, provider flags",
			vals: map[string]any{
				"image":         map[string]any{"repository": "registry.example/keyward", "tag": "v9"},
				"replicaCount":  3,
				"resources":     map[string]any{"requests": map[string]any{"cpu": "1", "memory": "1Gi"}},
				"sealedSecrets": map[string]any{"keyRenewPeriod": "0"},
				"externalSecrets": map[string]any{"controllerClass": "team-a",
					"provider": map[string]any{"qps": 5, "burst": 7, "maxConcurrent": 2, "valueCache": "-1s"}},
				"extraArgs": []any{"--log-level=DEBUG"},
			},
			check: func(t *testing.T, objs []*unstructured.Unstructured, args []string) {
				d, _ := manifests.Deployment(objs)
				c := d.Spec.Template.Spec.Containers[0]
				if c.Image != "registry.example/keyward:v9" || *d.Spec.Replicas != 3 || c.Resources.Requests.Memory().String() != "1Gi" {
					t.Errorf("image %s, replicas %d, memory %s", c.Image, *d.Spec.Replicas, c.Resources.Requests.Memory())
				}
				wantArgs(t, args, "--key-renew-period=0", "--controller-class=team-a", "--store-qps=5", "--store-burst=7",
					"--store-max-concurrent=2", "--store-value-cache=-1s", "--log-level=DEBUG")
			},
		},
		{
			name: "no network policy, PDB or metrics Service",
			vals: map[string]any{"networkPolicy": map[string]any{"enabled": false}, "podDisruptionBudget": map[string]any{"enabled": false},
				"metrics": map[string]any{"service": map[string]any{"enabled": false}}},
			check: func(t *testing.T, objs []*unstructured.Unstructured, args []string) {
				absent(t, objs, "NetworkPolicy", "keyward")
				absent(t, objs, "PodDisruptionBudget", "keyward")
				absent(t, objs, "Service", "keyward-metrics")
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs := render(t, tt.vals)
			d, err := manifests.Deployment(objs)
			if err != nil {
				t.Fatal(err)
			}
			if bad := manifests.Hardening(d); len(bad) > 0 {
				t.Errorf("controller Pod lacks: %s", strings.Join(bad, "; "))
			}
			args := manifests.Args(d)
			got := manifests.Disabled(args)
			sort.Strings(got)
			if !slices.Equal(got, tt.disabled) {
				t.Errorf("switched-off controllers = %v, want %v", got, tt.disabled)
			}
			tt.check(t, objs, args)
		})
	}
}

func TestNothingEnabledFails(t *testing.T) {
	_, err := Render(dir, "keyward", "kube-system", map[string]any{
		"sealedSecrets": map[string]any{"enabled": false}, "externalSecrets": map[string]any{"enabled": false}})
	if err == nil || !strings.Contains(err.Error(), "enable sealedSecrets, externalSecrets or both") {
		t.Fatalf("err = %v", err)
	}
}

func ids(objs []*unstructured.Unstructured) []string {
	out := make([]string, 0, len(objs))
	for _, o := range objs {
		out = append(out, manifests.ID(o))
	}
	sort.Strings(out)
	return out
}

func wantArgs(t *testing.T, args []string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !slices.Contains(args, w) {
			t.Errorf("args %v lack %s", args, w)
		}
	}
}

func present(t *testing.T, objs []*unstructured.Unstructured, kind, name string) {
	t.Helper()
	if manifests.Find(objs, kind, name) == nil {
		t.Errorf("no %s %s", kind, name)
	}
}

func absent(t *testing.T, objs []*unstructured.Unstructured, kind, name string) {
	t.Helper()
	if manifests.Find(objs, kind, name) != nil {
		t.Errorf("%s %s rendered, want none", kind, name)
	}
}

// TestAudit checks audit.enabled: the ClusterRole make generate writes for
// the scheduled audit, bound to the controller, and its flags; refused with
// watchNamespaces, which the audit cannot honour.
func TestAudit(t *testing.T) {
	objs := render(t, map[string]any{"audit": map[string]any{"enabled": true, "interval": "30m",
		"allow": []any{"ServiceAccount/velero/velero"}}})
	role := manifests.Find(objs, "ClusterRole", "keyward-audit")
	if role == nil || manifests.Find(objs, "ClusterRoleBinding", "keyward-audit") == nil {
		t.Fatal("audit.enabled renders no keyward-audit ClusterRole and binding")
	}
	shipped, err := manifests.Parse(mustRead(t, filepath.Join(root, "deploy", "components", "audit", "role.yaml")))
	if err != nil || len(shipped) != 1 {
		t.Fatalf("deploy/components/audit/role.yaml: %v", err)
	}
	if !reflect.DeepEqual(role.Object["rules"], shipped[0].Object["rules"]) {
		t.Errorf("chart's audit rules differ from deploy/components/audit/role.yaml")
	}
	d, err := manifests.Deployment(objs)
	if err != nil {
		t.Fatal(err)
	}
	args := manifests.Args(d)
	for _, want := range []string{"--enable-audit", "--audit-interval=30m", "--audit-allow=ServiceAccount/velero/velero"} {
		if !slices.Contains(args, want) {
			t.Errorf("controller arguments %v lack %s", args, want)
		}
	}
	if d, err := manifests.Deployment(render(t, nil)); err != nil || slices.Contains(manifests.Args(d), "--enable-audit") {
		t.Errorf("the audit is on by default (%v)", err)
	}
	if _, err := Render(dir, "keyward", "kube-system", map[string]any{"audit": map[string]any{"enabled": true},
		"watchNamespaces": []any{"team-a"}}); err == nil || !strings.Contains(err.Error(), "watchNamespaces") {
		t.Errorf("audit with watchNamespaces: %v, want a refusal naming watchNamespaces", err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
