// Package reload restarts Deployments, StatefulSets and DaemonSets when a
// Secret key their Pods read changes, as Stakater Reloader does for its
// annotations (and Keyward's own), but only for the keys used.
package reload

import (
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Use is what a pod template reads from one Secret: every key (envFrom, a
// volume without items) or the named ones.
type Use struct {
	All  bool
	Keys map[string]bool
}

func (u *Use) add(key string) {
	if u.Keys == nil {
		u.Keys = map[string]bool{}
	}
	u.Keys[key] = true
}

// SortedKeys returns the named keys in order.
func (u *Use) SortedKeys() []string {
	out := make([]string, 0, len(u.Keys))
	for k := range u.Keys {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// SecretUses returns, per Secret name, what the pod spec reads from it:
// env valueFrom.secretKeyRef, envFrom secretRef, secret volumes and
// projected volumes' secret sources, in every kind of container. Image
// pull Secrets are left out: a new one does not change a running Pod.
func SecretUses(spec *corev1.PodSpec) map[string]*Use {
	uses := map[string]*Use{}
	get := func(name string) *Use {
		u := uses[name]
		if u == nil {
			u = &Use{}
			uses[name] = u
		}
		return u
	}
	container := func(env []corev1.EnvVar, from []corev1.EnvFromSource) {
		for _, e := range env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && e.ValueFrom.SecretKeyRef.Name != "" {
				get(e.ValueFrom.SecretKeyRef.Name).add(e.ValueFrom.SecretKeyRef.Key)
			}
		}
		for _, f := range from {
			if f.SecretRef != nil && f.SecretRef.Name != "" {
				get(f.SecretRef.Name).All = true
			}
		}
	}
	for _, c := range spec.InitContainers {
		container(c.Env, c.EnvFrom)
	}
	for _, c := range spec.Containers {
		container(c.Env, c.EnvFrom)
	}
	for _, c := range spec.EphemeralContainers {
		container(c.Env, c.EnvFrom)
	}
	items := func(name string, items []corev1.KeyToPath) {
		u := get(name)
		if len(items) == 0 {
			u.All = true
			return
		}
		for _, it := range items {
			u.add(it.Key)
		}
	}
	for _, v := range spec.Volumes {
		if v.Secret != nil && v.Secret.SecretName != "" {
			items(v.Secret.SecretName, v.Secret.Items)
		}
		if v.Projected != nil {
			for _, s := range v.Projected.Sources {
				if s.Secret != nil && s.Secret.Name != "" {
					items(s.Secret.Name, s.Secret.Items)
				}
			}
		}
	}
	// A Secret read whole needs no list of keys.
	for _, u := range uses {
		if u.All {
			u.Keys = nil
		}
	}
	return uses
}

// Annotations Keyward reads and writes.
const (
	// AutoAnnotation on a workload: reload on a change of any Secret key it uses.
	AutoAnnotation = "reload.keyward.dev/auto"
	// SecretsAnnotation on a workload: reload on changes of these Secrets
	// ("a,b"), of the keys used or, for a Secret not in the pod spec, any key.
	SecretsAnnotation = "reload.keyward.dev/secrets"
	// HashAnnotation on the pod template: a keyed hash of the used keys'
	// values. Writing a new one is the restart.
	HashAnnotation = "reload.keyward.dev/secrets-hash"
	// ObservedAnnotation on the workload (not its template, so writing it
	// restarts nothing): what the controller last saw, to tell a changed
	// value from a changed pod template after a restart of the controller.
	ObservedAnnotation = "reload.keyward.dev/observed"
)

// Stakater Reloader's annotations, honoured as Reloader documents them.
const (
	ReloaderAuto         = "reloader.stakater.com/auto"
	ReloaderSecretAuto   = "secret.reloader.stakater.com/auto"
	ReloaderSecretReload = "secret.reloader.stakater.com/reload"
	ReloaderSearch       = "reloader.stakater.com/search"
	ReloaderMatch        = "reloader.stakater.com/match"
	ReloaderIgnore       = "reloader.stakater.com/ignore"
)

// Selection is what a workload's annotations ask for.
type Selection struct {
	// Auto: every Secret the pod spec reads.
	Auto bool
	// Search: the Secrets the pod spec reads that carry reloader.stakater.com/match: "true".
	Search bool
	// Named Secrets, whether or not the pod spec reads them.
	Named map[string]bool
}

// Any says whether the workload asked for reloads at all.
func (s Selection) Any() bool { return s.Auto || s.Search || len(s.Named) > 0 }

// ParseSelection reads a workload's annotations. Reloader's auto wins over
// search, and auto: "false" opts out of Reloader's annotations (Keyward's
// own still apply: they are a separate, explicit opt-in).
func ParseSelection(ann map[string]string) Selection {
	var s Selection
	isTrue := func(k string) bool { return strings.EqualFold(strings.TrimSpace(ann[k]), "true") }
	isFalse := func(k string) bool { return strings.EqualFold(strings.TrimSpace(ann[k]), "false") }
	name := func(list string) {
		for _, n := range strings.Split(list, ",") {
			if n = strings.TrimSpace(n); n != "" {
				if s.Named == nil {
					s.Named = map[string]bool{}
				}
				s.Named[n] = true
			}
		}
	}
	if !isFalse(ReloaderAuto) {
		switch {
		case isTrue(ReloaderAuto), isTrue(ReloaderSecretAuto):
			s.Auto = true
		case isTrue(ReloaderSearch):
			s.Search = true
		}
		name(ann[ReloaderSecretReload])
	}
	if isTrue(AutoAnnotation) {
		s.Auto, s.Search = true, false
	}
	name(ann[SecretsAnnotation])
	return s
}

// SecretMeta is what the controller keeps of a Secret: no data, and of its
// annotations only the two Reloader ones that select it.
type SecretMeta struct {
	ResourceVersion string
	Match, Ignore   bool
}

// Select returns the Secrets whose changes restart the workload and what
// it uses of each. meta reports a Secret's annotations (ok false when it is
// not known, which selects it unless search needs match).
func Select(sel Selection, uses map[string]*Use, meta func(name string) (SecretMeta, bool)) map[string]*Use {
	out := map[string]*Use{}
	for name, u := range uses {
		m, known := meta(name)
		if known && m.Ignore {
			continue
		}
		switch {
		case sel.Auto, sel.Named[name]:
			out[name] = u
		case sel.Search && known && m.Match:
			out[name] = u
		}
	}
	for name := range sel.Named {
		if _, used := uses[name]; used {
			continue
		}
		if m, known := meta(name); known && m.Ignore {
			continue
		}
		// Named but not in the pod spec: the app may read it another way.
		out[name] = &Use{All: true}
	}
	return out
}

// Referenced returns every Secret name the workload may select, for the
// index from Secret to workload.
func Referenced(sel Selection, uses map[string]*Use) []string {
	if !sel.Any() {
		return nil
	}
	seen := map[string]bool{}
	if sel.Auto || sel.Search {
		for n := range uses {
			seen[n] = true
		}
	} else {
		for n := range uses {
			if sel.Named[n] {
				seen[n] = true
			}
		}
	}
	for n := range sel.Named {
		seen[n] = true
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
