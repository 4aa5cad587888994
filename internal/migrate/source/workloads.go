package source

import (
	"encoding/json"
	"sort"

	corev1 "k8s.io/api/core/v1"

	"github.com/keyward/keyward/internal/controller/reload"
)

// Workload is a workload manifest of the tree and the Secrets its Pods
// use, so a plan can name who uses a Secret without a cluster.
type Workload struct {
	Kind, Namespace, Name string
	File                  string
	Secrets               map[string]bool
}

// podSpecPaths says where each workload kind keeps its Pod spec.
var podSpecPaths = map[string][]string{
	"Pod":         {"spec"},
	"Deployment":  {"spec", "template", "spec"},
	"StatefulSet": {"spec", "template", "spec"},
	"DaemonSet":   {"spec", "template", "spec"},
	"ReplicaSet":  {"spec", "template", "spec"},
	"Job":         {"spec", "template", "spec"},
	"CronJob":     {"spec", "jobTemplate", "spec", "template", "spec"},
}

// workloadOf reads a workload document; ok is false for other kinds or a
// shape it does not know (a workload is only ever a hint).
func workloadOf(doc []byte, kind, ns, file string) (Workload, bool) {
	path, ok := podSpecPaths[kind]
	if !ok {
		return Workload{}, false
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(doc, &obj) != nil {
		return Workload{}, false
	}
	var meta struct{ Name, Namespace string }
	if json.Unmarshal(obj["metadata"], &meta) != nil || meta.Name == "" {
		return Workload{}, false
	}
	raw := json.RawMessage(doc)
	for _, p := range path {
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil || m[p] == nil {
			return Workload{}, false
		}
		raw = m[p]
	}
	var spec corev1.PodSpec
	if json.Unmarshal(raw, &spec) != nil {
		return Workload{}, false
	}
	if meta.Namespace == "" {
		meta.Namespace = ns
	}
	w := Workload{Kind: kind, Namespace: meta.Namespace, Name: meta.Name, File: file, Secrets: map[string]bool{}}
	for name := range reload.SecretUses(&spec) {
		w.Secrets[name] = true
	}
	for _, r := range spec.ImagePullSecrets {
		w.Secrets[r.Name] = true
	}
	return w, true
}

// Consumers names the workloads of the tree that use Secret namespace/name,
// as Kind/namespace/name.
func (t *Tree) Consumers(namespace, name string) []string {
	var out []string
	for _, w := range t.Workloads {
		if w.Namespace == namespace && w.Secrets[name] {
			out = append(out, w.Kind+"/"+w.Namespace+"/"+w.Name)
		}
	}
	sort.Strings(out)
	return out
}
