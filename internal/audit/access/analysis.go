package access

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
)

const rbacGroup = rbacv1.GroupName

// hop is a path through another identity: the holder gains what the target
// reads. kind is "users", "groups", "serviceaccounts" (impersonate) or
// "token" (create serviceaccounts/token). names nil means any name.
type hop struct {
	holders []Subject
	scope   string
	kind    string
	names   []string
	via     string
}

type analysis struct {
	in       Input
	crRules  map[string][]sourcedRule
	roles    map[string][]sourcedRule // "ns/name"
	exists   map[string]map[string]bool
	mounts   map[string][]podMounts // by namespace, for exec/attach
	saByNS   map[string][]string
	grants   grantSet
	hops     []hop
	nsSorted []string // namespaces holding Pods, for cluster-wide exec
}

type podMounts struct {
	pod     string
	secrets []string // existing Secrets the Pod's containers can see
}

func newAnalysis(in Input, crRules map[string][]sourcedRule) *analysis {
	a := &analysis{
		in:      in,
		crRules: crRules,
		roles:   make(map[string][]sourcedRule, len(in.Roles)),
		mounts:  map[string][]podMounts{},
		saByNS:  map[string][]string{},
		grants:  newGrantSet(),
	}
	for i := range in.Roles {
		r := &in.Roles[i]
		a.roles[r.Namespace+"/"+r.Name] = sourced("Role/"+r.Namespace+"/"+r.Name, r.Rules)
	}
	if in.Secrets != nil {
		a.exists = make(map[string]map[string]bool, len(in.Secrets))
		for ns, names := range in.Secrets {
			set := make(map[string]bool, len(names))
			for _, n := range names {
				set[n] = true
			}
			a.exists[ns] = set
		}
	}
	for i := range in.ServiceAccounts {
		sa := &in.ServiceAccounts[i]
		a.saByNS[sa.Namespace] = append(a.saByNS[sa.Namespace], sa.Name)
	}
	for i := range in.Pods {
		p := &in.Pods[i]
		if s := a.existing(p.Namespace, podSecrets(&p.Spec, false)); len(s) > 0 {
			a.mounts[p.Namespace] = append(a.mounts[p.Namespace], podMounts{pod: p.Name, secrets: s})
		}
	}
	for ns := range a.mounts {
		a.nsSorted = append(a.nsSorted, ns)
	}
	sort.Strings(a.nsSorted)
	return a
}

func (a *analysis) existing(ns string, names []string) []string {
	if a.exists == nil {
		return names
	}
	out := names[:0]
	for _, n := range names {
		if a.exists[ns][n] {
			out = append(out, n)
		}
	}
	return out
}

func (a *analysis) add(s Subject, ns, secret string, m verbMask, via string) {
	a.grants.add(s, ns, secret, m, via)
}

// roleRules resolves a binding's roleRef; bindingNS is "" for a
// ClusterRoleBinding. A dangling roleRef grants nothing, as in the API server.
func (a *analysis) roleRules(bindingNS string, ref rbacv1.RoleRef) ([]sourcedRule, error) {
	switch ref.Kind {
	case "ClusterRole":
		return a.crRules[ref.Name], nil
	case "Role":
		if bindingNS == "" {
			return nil, fmt.Errorf("roleRef to Role %q outside a namespace", ref.Name)
		}
		return a.roles[bindingNS+"/"+ref.Name], nil
	}
	return nil, fmt.Errorf("roleRef kind %q unknown", ref.Kind)
}

// bind records what one binding gives its subjects; scope is the binding's
// namespace or All for a ClusterRoleBinding. A RoleBinding to a ClusterRole
// grants only in its own namespace, which scope carries.
func (a *analysis) bind(scope, bindingVia string, subs []rbacv1.Subject, rules []sourcedRule) {
	if len(subs) == 0 || len(rules) == 0 {
		return
	}
	holders := make([]Subject, len(subs))
	bindingNS := scope
	if scope == All {
		bindingNS = ""
	}
	for i, s := range subs {
		holders[i] = subjectOf(s, bindingNS)
	}
	give := func(ns, secret string, m verbMask, via string) {
		for _, h := range holders {
			a.add(h, ns, secret, m, via)
		}
	}
	for _, sr := range rules {
		r := sr.rule
		chain := bindingVia + " → " + sr.String()

		// Direct read. list and watch with resourceNames still return the
		// named Secrets (with a metadata.name field selector).
		var m verbMask
		for i, v := range readVerbs {
			if covers(r, v, "", "secrets") {
				m |= 1 << i
			}
		}
		if m != 0 {
			if len(r.ResourceNames) == 0 {
				give(scope, All, m, chain)
			}
			for _, n := range r.ResourceNames {
				give(scope, n, m, chain)
			}
		}

		// create carries no name at authorization, so a rule with
		// resourceNames never allows it.
		if len(r.ResourceNames) == 0 {
			var made []string
			for _, w := range workloads {
				if covers(r, "create", w.group, w.resource) {
					made = append(made, w.resource)
				}
			}
			if len(made) > 0 {
				give(scope, All, maskGet, chain+" → create "+strings.Join(made, ",")+" mounting the Secret")
			}
		}

		a.execPaths(scope, r, chain, give)

		// escalate lets one write a Role with rules one lacks, bind lets one
		// bind a Role one lacks: either ends with read on the namespace's
		// Secrets. Each also needs create/update on roles or rolebindings,
		// nearly always granted with it; we report on the verb alone since
		// a missed reader costs more than a reviewed extra line. With
		// resourceNames only the named roles can be bound.
		for _, v := range []string{"escalate", "bind"} {
			if !covers(r, v, rbacGroup, "roles") && !covers(r, v, rbacGroup, "clusterroles") {
				continue
			}
			if len(r.ResourceNames) == 0 {
				give(scope, All, maskAll, chain+" → "+v+" a role granting read on secrets")
				continue
			}
			for _, name := range r.ResourceNames {
				a.namedRoleReads(scope, name, chain+" → "+v+" role "+name, give)
			}
		}

		// users and groups are cluster-scoped: only a ClusterRoleBinding
		// lets one impersonate them. The API server takes a group only
		// along with a user; we do not require the pair, for the reason
		// given for escalate.
		for _, kind := range []string{"users", "groups", "serviceaccounts"} {
			if kind != "serviceaccounts" && scope != All {
				continue
			}
			if covers(r, "impersonate", "", kind) {
				a.hops = append(a.hops, hop{holders, scope, kind, r.ResourceNames, chain + " → impersonate " + kind})
			}
		}
		if covers(r, "create", "", "serviceaccounts/token") {
			a.hops = append(a.hops, hop{holders, scope, "token", r.ResourceNames, chain + " → create serviceaccounts/token"})
		}
	}
}

// execPaths: exec or attach into a Pod gives a shell that sees the Secrets
// the Pod mounts or has in its environment. WebSocket exec is authorized as
// get on older API servers and create on newer ones, so both count.
func (a *analysis) execPaths(scope string, r rbacv1.PolicyRule, chain string, give func(string, string, verbMask, string)) {
	for _, sub := range []string{"exec", "attach"} {
		if !covers(r, "create", "", "pods/"+sub) && !covers(r, "get", "", "pods/"+sub) {
			continue
		}
		nss := []string{scope}
		if scope == All {
			nss = a.nsSorted
		}
		for _, ns := range nss {
			for _, pm := range a.mounts[ns] {
				if len(r.ResourceNames) > 0 && !contains(r.ResourceNames, pm.pod) {
					continue
				}
				for _, s := range pm.secrets {
					give(ns, s, maskGet, chain+" → pods/"+sub+" into Pod "+ns+"/"+pm.pod+" that mounts it")
				}
			}
		}
	}
}

// namedRoleReads gives the direct reads of a role that bind/escalate is
// limited to. Roles are looked up in the binding's namespace.
func (a *analysis) namedRoleReads(scope, name, chain string, give func(string, string, verbMask, string)) {
	rules := a.crRules[name]
	if scope != All {
		rules = append(rules[:len(rules):len(rules)], a.roles[scope+"/"+name]...)
	}
	for _, sr := range rules {
		var m verbMask
		for i, v := range readVerbs {
			if covers(sr.rule, v, "", "secrets") {
				m |= 1 << i
			}
		}
		if m == 0 {
			continue
		}
		if len(sr.rule.ResourceNames) == 0 {
			give(scope, All, m, chain+" → "+sr.String())
		}
		for _, n := range sr.rule.ResourceNames {
			give(scope, n, m, chain+" → "+sr.String())
		}
	}
}

// nodes: the node authorizer lets the kubelet of node N read the Secrets of
// Pods bound to N, pull secrets included. It answers for the node's own
// identity, not for the group system:nodes as a whole.
func (a *analysis) nodes() {
	for i := range a.in.Pods {
		p := &a.in.Pods[i]
		if p.Spec.NodeName == "" {
			continue
		}
		node := Subject{Kind: rbacv1.UserKind, Name: nodeUserPrefix + p.Spec.NodeName}
		for _, s := range a.existing(p.Namespace, podSecrets(&p.Spec, true)) {
			a.add(node, p.Namespace, s, maskGet, "node authorizer: Pod "+p.Namespace+"/"+p.Name+" runs on node "+p.Spec.NodeName)
		}
	}
}

// followHops gives each impersonation or token holder what its targets read,
// from a snapshot taken before any hop, hence one hop deep.
func (a *analysis) followHops() {
	if len(a.hops) == 0 {
		return
	}
	// The snapshot copies keys and chain slices only; grants added below
	// append to fresh entries or past the copied lengths.
	type snap struct {
		k grantKey
		m verbMask
		v []string
	}
	base := map[Subject][]snap{}
	for k, e := range a.grants {
		base[k.s] = append(base[k.s], snap{k, e.mask, e.via[:len(e.via):len(e.via)]})
	}
	known := make([]Subject, 0, len(base))
	for s := range base {
		known = append(known, s)
	}
	for _, h := range a.hops {
		for _, t := range a.targets(h, known) {
			gs := base[t]
			if t.Kind != rbacv1.GroupKind {
				for _, g := range implicitGroups(t) {
					gs = append(gs[:len(gs):len(gs)], base[Subject{Kind: rbacv1.GroupKind, Name: g}]...)
				}
			}
			prefix := h.via + " as " + t.String() + " → "
			for _, g := range gs {
				for _, holder := range h.holders {
					if holder == t {
						continue
					}
					for _, v := range g.v {
						a.grants.add(holder, g.k.ns, g.k.secret, g.m, prefix+v)
					}
				}
			}
		}
	}
}

// targets lists the identities a hop reaches. Any-name user or group
// impersonation reaches every subject of that kind known to hold a grant,
// system:masters included.
func (a *analysis) targets(h hop, known []Subject) []Subject {
	var out []Subject
	switch h.kind {
	case "serviceaccounts", "token":
		for ns, names := range a.saByNS {
			if h.scope != All && ns != h.scope {
				continue
			}
			for _, n := range names {
				if h.names == nil || contains(h.names, n) {
					out = append(out, Subject{Kind: rbacv1.ServiceAccountKind, Name: n, Namespace: ns})
				}
			}
		}
	case "users", "groups":
		kind := rbacv1.UserKind
		if h.kind == "groups" {
			kind = rbacv1.GroupKind
		}
		if h.names == nil {
			for _, s := range known {
				if s.Kind == kind {
					out = append(out, s)
				}
			}
			break
		}
		for _, n := range h.names {
			out = append(out, subjectOf(rbacv1.Subject{Kind: kind, Name: n}, ""))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// podSecrets lists the Secrets a Pod's containers can see: volumes (also
// projected) and environment. Pull secrets reach the kubelet only, so they
// count for the node path and not for exec.
func podSecrets(spec *corev1.PodSpec, pull bool) []string {
	seen := map[string]bool{}
	var out []string
	addName := func(n string) {
		if n != "" && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	for _, v := range spec.Volumes {
		if v.Secret != nil {
			addName(v.Secret.SecretName)
		}
		if v.Projected != nil {
			for _, src := range v.Projected.Sources {
				if src.Secret != nil {
					addName(src.Secret.Name)
				}
			}
		}
	}
	env := func(c *corev1.Container) {
		for _, e := range c.Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				addName(e.ValueFrom.SecretKeyRef.Name)
			}
		}
		for _, ef := range c.EnvFrom {
			if ef.SecretRef != nil {
				addName(ef.SecretRef.Name)
			}
		}
	}
	for i := range spec.InitContainers {
		env(&spec.InitContainers[i])
	}
	for i := range spec.Containers {
		env(&spec.Containers[i])
	}
	for i := range spec.EphemeralContainers {
		c := corev1.Container(spec.EphemeralContainers[i].EphemeralContainerCommon)
		env(&c)
	}
	if pull {
		for _, r := range spec.ImagePullSecrets {
			addName(r.Name)
		}
	}
	return out
}
