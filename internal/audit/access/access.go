// Package access computes who can read each Secret, directly through RBAC and
// through the indirect paths that RBAC analysers usually miss: running a Pod
// that mounts it, exec into a Pod that has it, impersonation, escalate/bind,
// minting a ServiceAccount token, the node authorizer and system:masters.
//
// It works on plain API objects and holds no client, so a lister, a file of
// manifests or a test table can feed it alike.
package access

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
)

// All stands for every namespace (Grant.Namespace) or every Secret of a
// namespace (Grant.Secret).
const All = "*"

// Groups every authenticated request, or every ServiceAccount, carries
// implicitly: bindings to them reach subjects that no binding names.
const (
	GroupAuthenticated   = "system:authenticated"
	GroupServiceAccounts = "system:serviceaccounts"
	GroupMasters         = "system:masters"
	GroupNodes           = "system:nodes"
	nodeUserPrefix       = "system:node:"
	saUserPrefix         = "system:serviceaccount:"
)

// Subject is who can read. Kind is rbacv1.UserKind, rbacv1.GroupKind or
// rbacv1.ServiceAccountKind; Namespace is set for ServiceAccounts only.
type Subject struct {
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
}

func (s Subject) String() string {
	if s.Namespace != "" {
		return s.Kind + "/" + s.Namespace + "/" + s.Name
	}
	return s.Kind + "/" + s.Name
}

// Grant says that Subject can read Secret in Namespace with Verbs, and why:
// each Via entry is one chain (binding → role → rule, or an indirect path).
type Grant struct {
	Subject   Subject  `json:"subject"`
	Namespace string   `json:"namespace"`
	Secret    string   `json:"secret"`
	Verbs     []string `json:"verbs"`
	Via       []string `json:"via"`
}

// Input is what the analysis reads. Secrets maps a namespace to the names of
// its Secrets; when it is nil every name a Pod refers to is taken to exist.
type Input struct {
	ClusterRoles        []rbacv1.ClusterRole
	Roles               []rbacv1.Role
	ClusterRoleBindings []rbacv1.ClusterRoleBinding
	RoleBindings        []rbacv1.RoleBinding
	ServiceAccounts     []corev1.ServiceAccount
	Pods                []corev1.Pod
	Secrets             map[string][]string
}

// Report holds every grant found, sorted by subject, namespace and Secret.
type Report struct {
	Grants []Grant
}

// Analyze computes every grant. Impersonation and token paths are followed one
// hop: the caller gains what its target reads directly or through the other
// paths, not what the target could in turn gain by impersonating.
func Analyze(in Input) (*Report, error) {
	crRules, err := clusterRoleRules(in.ClusterRoles)
	if err != nil {
		return nil, fmt.Errorf("resolve clusterroles: %w", err)
	}
	a := newAnalysis(in, crRules)
	for i := range in.ClusterRoleBindings {
		b := &in.ClusterRoleBindings[i]
		rules, err := a.roleRules("", b.RoleRef)
		if err != nil {
			return nil, fmt.Errorf("clusterrolebinding %s: %w", b.Name, err)
		}
		a.bind(All, "ClusterRoleBinding/"+b.Name, b.Subjects, rules)
	}
	for i := range in.RoleBindings {
		b := &in.RoleBindings[i]
		rules, err := a.roleRules(b.Namespace, b.RoleRef)
		if err != nil {
			return nil, fmt.Errorf("rolebinding %s/%s: %w", b.Namespace, b.Name, err)
		}
		a.bind(b.Namespace, "RoleBinding/"+b.Namespace+"/"+b.Name, b.Subjects, rules)
	}
	a.nodes()
	a.add(Subject{Kind: rbacv1.GroupKind, Name: GroupMasters}, All, All, maskAll,
		"group system:masters bypasses authorization")
	a.followHops()
	return &Report{Grants: a.grants.list()}, nil
}

// Namespace returns the grants that reach Secrets of ns, cluster-wide ones
// included.
func (r *Report) Namespace(ns string) []Grant {
	var out []Grant
	for _, g := range r.Grants {
		if g.Namespace == ns || g.Namespace == All {
			out = append(out, g)
		}
	}
	return out
}

// Secret answers "who can read this one": grants that reach ns/name, through
// a namespace or Secret wildcard or by name.
func (r *Report) Secret(ns, name string) []Grant {
	var out []Grant
	for _, g := range r.Grants {
		if (g.Namespace == ns || g.Namespace == All) && (g.Secret == name || g.Secret == All) {
			out = append(out, g)
		}
	}
	return out
}

// For answers "what can this one read": the subject's own grants and those of
// the groups it belongs to without being named, attributed to it. Groups a
// User gets from its authenticator are unknown here and not counted.
func (r *Report) For(s Subject) []Grant {
	s = subjectOf(rbacv1.Subject{Kind: s.Kind, Name: s.Name, Namespace: s.Namespace}, s.Namespace)
	groups := map[string]bool{}
	if s.Kind != rbacv1.GroupKind {
		for _, g := range implicitGroups(s) {
			groups[g] = true
		}
	}
	set := newGrantSet()
	for _, g := range r.Grants {
		switch {
		case g.Subject == s:
			set.merge(s, g, "")
		case g.Subject.Kind == rbacv1.GroupKind && groups[g.Subject.Name]:
			set.merge(s, g, "member of Group/"+g.Subject.Name+" → ")
		}
	}
	return set.list()
}

// implicitGroups are the groups the authenticator adds to every request of s.
func implicitGroups(s Subject) []string {
	if s.Kind == rbacv1.ServiceAccountKind {
		return []string{GroupServiceAccounts, GroupServiceAccounts + ":" + s.Namespace, GroupAuthenticated}
	}
	// Kubelet credentials carry system:nodes; a node's name says it is one.
	if strings.HasPrefix(s.Name, nodeUserPrefix) {
		return []string{GroupNodes, GroupAuthenticated}
	}
	return []string{GroupAuthenticated}
}

// subjectOf normalises a binding subject; ServiceAccount subjects of a
// RoleBinding default to its namespace, as the API server does.
func subjectOf(s rbacv1.Subject, bindingNS string) Subject {
	switch s.Kind {
	case rbacv1.ServiceAccountKind:
		ns := s.Namespace
		if ns == "" {
			ns = bindingNS
		}
		return Subject{Kind: s.Kind, Name: s.Name, Namespace: ns}
	case rbacv1.UserKind:
		// A User named like a ServiceAccount is that ServiceAccount.
		if rest, ok := strings.CutPrefix(s.Name, saUserPrefix); ok {
			if ns, name, ok := strings.Cut(rest, ":"); ok {
				return Subject{Kind: rbacv1.ServiceAccountKind, Name: name, Namespace: ns}
			}
		}
	}
	return Subject{Kind: s.Kind, Name: s.Name}
}

// verb masks keep grant merging cheap at thousands of bindings.
type verbMask uint8

const (
	maskGet verbMask = 1 << iota
	maskList
	maskWatch
	maskAll = maskGet | maskList | maskWatch
)

func (m verbMask) verbs() []string {
	var out []string
	for i, v := range readVerbs {
		if m&(1<<i) != 0 {
			out = append(out, v)
		}
	}
	return out
}

type grantKey struct {
	s          Subject
	ns, secret string
}

// entry keeps chains in a slice, deduplicated when listed: a map per grant
// would double the analysis' memory at cluster scale.
type entry struct {
	mask verbMask
	via  []string
}

// grantSet merges findings on (subject, namespace, secret).
type grantSet map[grantKey]*entry

func newGrantSet() grantSet { return grantSet{} }

func (gs grantSet) add(s Subject, ns, secret string, m verbMask, via string) {
	k := grantKey{s, ns, secret}
	e := gs[k]
	if e == nil {
		e = &entry{}
		gs[k] = e
	}
	e.mask |= m
	if n := len(e.via); n == 0 || e.via[n-1] != via {
		e.via = append(e.via, via)
	}
}

// merge adds g to the set as a grant of s, each chain prefixed.
func (gs grantSet) merge(s Subject, g Grant, prefix string) {
	var m verbMask
	for i, v := range readVerbs {
		for _, gv := range g.Verbs {
			if gv == v {
				m |= 1 << i
			}
		}
	}
	for _, v := range g.Via {
		gs.add(s, g.Namespace, g.Secret, m, prefix+v)
	}
}

func (gs grantSet) list() []Grant {
	out := make([]Grant, 0, len(gs))
	for k, e := range gs {
		sort.Strings(e.via)
		out = append(out, Grant{Subject: k.s, Namespace: k.ns, Secret: k.secret, Verbs: e.mask.verbs(), Via: slices.Compact(e.via)})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Subject != b.Subject {
			return a.Subject.String() < b.Subject.String()
		}
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Secret < b.Secret
	})
	return out
}
