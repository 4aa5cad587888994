package manifests

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestNamespacedOverlay checks deploy/overlays/namespaced: no cluster-wide
// grant, Roles in each watched namespace equal to the generated ClusterRole
// rules less the cluster-scoped kinds, and the flag naming those namespaces.
func TestNamespacedOverlay(t *testing.T) {
	wideOut, err := Build(filepath.Join(root, "deploy"))
	if err != nil {
		t.Fatal(err)
	}
	wide, err := Parse(wideOut)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Build(filepath.Join(root, "deploy", "overlays", "namespaced"))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if k := o.GetKind(); k == "ClusterRole" || k == "ClusterRoleBinding" {
			t.Errorf("%s in the namespaced overlay", ID(o))
		}
	}
	d, err := Deployment(objs)
	if err != nil {
		t.Fatal(err)
	}
	var watched []string
	for _, a := range Args(d) {
		if v, ok := strings.CutPrefix(a, "--watch-namespaces="); ok {
			watched = strings.Split(v, ",")
		}
	}
	if len(watched) == 0 {
		t.Fatalf("no --watch-namespaces in %v", Args(d))
	}
	for _, pillar := range []string{"keyward-sealed-secrets", "keyward-external-secrets"} {
		cr := Find(wide, "ClusterRole", pillar)
		if cr == nil {
			t.Fatalf("no ClusterRole %s in deploy/", pillar)
		}
		want := RoleRules(cr)
		for _, ns := range watched {
			var role, binding *unstructured.Unstructured
			for _, o := range objs {
				if o.GetNamespace() == ns && o.GetName() == pillar+"-watched" {
					switch o.GetKind() {
					case "Role":
						role = o
					case "RoleBinding":
						binding = o
					}
				}
			}
			if role == nil || binding == nil {
				t.Fatalf("%s: Role %v, RoleBinding %v in %s", pillar, role != nil, binding != nil, ns)
			}
			got, _, _ := unstructured.NestedSlice(role.Object, "rules")
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Role %s/%s rules differ from the generated ones less cluster-scoped kinds:\n%v\nwant:\n%v", ns, role.GetName(), got, want)
			}
		}
	}
}
