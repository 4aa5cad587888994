package manifests

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Parse splits multi-document YAML into objects, skipping empty documents.
func Parse(data []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, fmt.Errorf("decoding document %d: %w", len(objs)+1, err)
		}
		if len(m) == 0 {
			continue
		}
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
}

// ID names an object as kind/namespace/name (namespace empty when cluster-scoped).
func ID(o *unstructured.Unstructured) string {
	return o.GetKind() + "/" + o.GetNamespace() + "/" + o.GetName()
}

// Find returns the one object of kind named name, or nil.
func Find(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

// clusterScopedResources are the resources of Keyward's ClusterRoles that a
// namespaced install cannot grant with a Role.
var clusterScopedResources = []string{"namespaces", "clustersecretstores", "clustersecretstores/status", "clusterexternalsecrets", "clusterexternalsecrets/status", "clusterexternalsecrets/finalizers", "clustergenerators"}

// RoleRules is what a Role can grant of the ClusterRole cr's rules: each rule
// without the cluster-scoped resources, and no rule left empty by that.
// It edits cr's rules in place.
func RoleRules(cr *unstructured.Unstructured) []any {
	rules, _, _ := unstructured.NestedSlice(cr.Object, "rules")
	var out []any
	for _, r := range rules {
		rule := r.(map[string]any)
		var res []any
		for _, x := range rule["resources"].([]any) {
			if !slices.Contains(clusterScopedResources, x.(string)) {
				res = append(res, x)
			}
		}
		if len(res) > 0 {
			rule["resources"] = res
			out = append(out, rule)
		}
	}
	return out
}

// Deployment decodes the keyward Deployment of objs.
func Deployment(objs []*unstructured.Unstructured) (*appsv1.Deployment, error) {
	o := Find(objs, "Deployment", "keyward")
	if o == nil {
		return nil, errors.New("no Deployment keyward")
	}
	data, err := yaml.Marshal(o.Object)
	if err != nil {
		return nil, err
	}
	var d appsv1.Deployment
	if err := yaml.UnmarshalStrict(data, &d); err != nil {
		return nil, fmt.Errorf("decoding Deployment keyward: %w", err)
	}
	return &d, nil
}

// Hardening lists what the controller Pod lacks of the restricted Pod
// Security Standard and of what the install promises (probes on the health
// port, resource requests); empty when nothing.
func Hardening(d *appsv1.Deployment) []string {
	var bad []string
	add := func(ok bool, what string) {
		if !ok {
			bad = append(bad, what)
		}
	}
	pod := d.Spec.Template.Spec
	psc := pod.SecurityContext
	add(psc != nil && isTrue(psc.RunAsNonRoot), "pod runAsNonRoot")
	add(psc != nil && psc.SeccompProfile != nil && psc.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault, "pod seccomp RuntimeDefault")
	add(len(pod.Containers) > 0, "a container")
	for _, c := range pod.Containers {
		sc := c.SecurityContext
		add(sc != nil && isTrue(sc.ReadOnlyRootFilesystem), c.Name+": readOnlyRootFilesystem")
		add(sc != nil && sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation, c.Name+": allowPrivilegeEscalation false")
		add(sc != nil && sc.Capabilities != nil && len(sc.Capabilities.Drop) == 1 && sc.Capabilities.Drop[0] == "ALL" && len(sc.Capabilities.Add) == 0, c.Name+": drop ALL capabilities")
		add(sc == nil || sc.Privileged == nil || !*sc.Privileged, c.Name+": not privileged")
		uid := int64(0)
		if psc != nil && psc.RunAsUser != nil {
			uid = *psc.RunAsUser
		}
		if sc != nil && sc.RunAsUser != nil {
			uid = *sc.RunAsUser
		}
		add(uid != 0, c.Name+": a non-zero runAsUser")
		add(!c.Resources.Requests.Cpu().IsZero() && !c.Resources.Requests.Memory().IsZero(), c.Name+": cpu and memory requests")
		add(probeOn(c.LivenessProbe, "/healthz", "health"), c.Name+": liveness probe on health /healthz")
		add(probeOn(c.ReadinessProbe, "/readyz", "health"), c.Name+": readiness probe on health /readyz")
		add(hasArg(c.Args, "--health-addr=:8082") && hasPort(c, "health", 8082), c.Name+": the health port 8082")
	}
	return bad
}

// Args returns the controller container's arguments.
func Args(d *appsv1.Deployment) []string {
	if len(d.Spec.Template.Spec.Containers) == 0 {
		return nil
	}
	return d.Spec.Template.Spec.Containers[0].Args
}

func probeOn(p *corev1.Probe, path, port string) bool {
	return p != nil && p.HTTPGet != nil && p.HTTPGet.Path == path && p.HTTPGet.Port.String() == port
}

func hasArg(args []string, want string) bool {
	for _, a := range args {
		if a == want {
			return true
		}
	}
	return false
}

func hasPort(c corev1.Container, name string, port int32) bool {
	for _, p := range c.Ports {
		if p.Name == name && p.ContainerPort == port {
			return true
		}
	}
	return false
}

func isTrue(b *bool) bool { return b != nil && *b }

// Disabled reports which controllers the arguments switch off, by name.
func Disabled(args []string) []string {
	var off []string
	for _, a := range args {
		if name, ok := strings.CutPrefix(a, "--enable-"); ok {
			if n, v, _ := strings.Cut(name, "="); v == "false" {
				off = append(off, n)
			}
		}
	}
	return off
}
