package chart

import (
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/keyward/keyward/hack/release/manifests"
)

// TestWatchNamespaces checks the namespaced switch: no cluster-wide grant at
// all, a Role and RoleBinding per watched namespace with the ClusterRole's
// rules less the cluster-scoped kinds, the controller's own Roles kept, and
// the flag passed.
func TestWatchNamespaces(t *testing.T) {
	watched := []string{"team-a", "team-b"}
	wide := render(t, nil)
	objs := render(t, map[string]any{"watchNamespaces": []any{"team-a", "team-b"}})
	if problems := Lint(dir, "kube-system", map[string]any{"watchNamespaces": []any{"team-a", "team-b"}}); len(problems) > 0 {
		t.Errorf("helm lint: %v", problems)
	}
	for _, o := range objs {
		if k := o.GetKind(); k == "ClusterRole" || k == "ClusterRoleBinding" {
			t.Errorf("%s rendered in a namespaced install", manifests.ID(o))
		}
	}
	d, err := manifests.Deployment(objs)
	if err != nil {
		t.Fatal(err)
	}
	wantArgs(t, manifests.Args(d), "--watch-namespaces=team-a,team-b")
	for _, pillar := range []string{"keyward-sealed-secrets", "keyward-external-secrets"} {
		want := withoutClusterScoped(t, manifests.Find(wide, "ClusterRole", pillar))
		if len(want) == 0 {
			t.Fatalf("%s: no namespaced rules to expect", pillar)
		}
		for _, ns := range watched {
			role := find(objs, "Role", ns, pillar+"-watched")
			binding := find(objs, "RoleBinding", ns, pillar+"-watched")
			if role == nil || binding == nil {
				t.Fatalf("%s: Role %v, RoleBinding %v in %s", pillar, role != nil, binding != nil, ns)
			}
			got, _, _ := unstructured.NestedSlice(role.Object, "rules")
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Role %s/%s rules:\n%v\nwant:\n%v", ns, role.GetName(), got, want)
			}
			subj, _, _ := unstructured.NestedSlice(binding.Object, "subjects")
			if len(subj) != 1 || subj[0].(map[string]any)["namespace"] != "kube-system" || subj[0].(map[string]any)["name"] != "keyward" {
				t.Errorf("RoleBinding %s/%s subjects %v", ns, binding.GetName(), subj)
			}
		}
		// Key Secrets and the Lease stay in the controller's namespace.
		if find(objs, "Role", "kube-system", pillar) == nil || find(objs, "RoleBinding", "kube-system", pillar) == nil {
			t.Errorf("%s: the controller namespace's Role or RoleBinding is missing", pillar)
		}
	}
}

// withoutClusterScoped is what a Role can grant of a ClusterRole's rules.
func withoutClusterScoped(t *testing.T, cr *unstructured.Unstructured) []any {
	t.Helper()
	if cr == nil {
		t.Fatal("no ClusterRole in the cluster-wide render")
	}
	return manifests.RoleRules(cr)
}

func find(objs []*unstructured.Unstructured, kind, ns, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetNamespace() == ns && o.GetName() == name {
			return o
		}
	}
	return nil
}
