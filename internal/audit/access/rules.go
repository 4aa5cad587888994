package access

import (
	"fmt"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// readVerbs are the verbs that return a Secret's value to the caller.
var readVerbs = [...]string{"get", "list", "watch"}

// workloads are the resources whose create lets the caller run a Pod that
// mounts any Secret of the namespace. The API server checks only the
// workload's own verb, never the Secret, so each is a read path.
var workloads = [...]struct{ group, resource string }{
	{"", "pods"},
	{"", "replicationcontrollers"},
	{"apps", "deployments"},
	{"apps", "statefulsets"},
	{"apps", "daemonsets"},
	{"apps", "replicasets"},
	{"batch", "jobs"},
	{"batch", "cronjobs"},
}

// matches reports whether list holds v or the wildcard.
func matches(list []string, v string) bool {
	for _, x := range list {
		if x == rbacv1.VerbAll || x == v {
			return true
		}
	}
	return false
}

// matchesResource follows the RBAC authorizer: "*" is every resource and
// subresource, "pods/*" every subresource of pods, "*/exec" the exec
// subresource of every resource.
func matchesResource(list []string, res string) bool {
	base, sub, hasSub := strings.Cut(res, "/")
	for _, x := range list {
		switch {
		case x == rbacv1.ResourceAll || x == res:
			return true
		case hasSub && x == base+"/*":
			return true
		case hasSub && x == "*/"+sub:
			return true
		}
	}
	return false
}

// covers reports whether rule allows verb on group/resource, for any name.
// Names restricted by resourceNames are returned separately by the caller.
func covers(r rbacv1.PolicyRule, verb, group, res string) bool {
	return matches(r.Verbs, verb) && matches(r.APIGroups, group) && matchesResource(r.Resources, res)
}

// describe renders a rule for a `via` chain; it names what the rule allows,
// never anything read from a Secret.
func describe(role string, i int, r rbacv1.PolicyRule) string {
	s := fmt.Sprintf("%s rule[%d] %s %s", role, i, strings.Join(r.Verbs, ","), strings.Join(r.Resources, ","))
	if len(r.ResourceNames) > 0 {
		s += " names=" + strings.Join(r.ResourceNames, ",")
	}
	return s
}

// clusterRoleRules resolves each ClusterRole's rules, aggregation included.
// The controller-manager fills an aggregated role's rules asynchronously, so
// an audit that trusted the stored rules would miss grants added by a newly
// labelled role; we compute the union ourselves. Aggregation may chain (an
// aggregated role can be selected by another) and even loop.
func clusterRoleRules(crs []rbacv1.ClusterRole) (map[string][]sourcedRule, error) {
	byName := make(map[string]*rbacv1.ClusterRole, len(crs))
	for i := range crs {
		byName[crs[i].Name] = &crs[i]
	}
	selectors := make(map[string][]labels.Selector)
	for i := range crs {
		ar := crs[i].AggregationRule
		if ar == nil {
			continue
		}
		for j := range ar.ClusterRoleSelectors {
			sel, err := metav1.LabelSelectorAsSelector(&ar.ClusterRoleSelectors[j])
			if err != nil {
				return nil, fmt.Errorf("clusterrole %s: aggregation selector %d: %w", crs[i].Name, j, err)
			}
			selectors[crs[i].Name] = append(selectors[crs[i].Name], sel)
		}
	}
	// selects lists, per aggregated role, the roles its selectors match.
	selects := make(map[string][]string, len(selectors))
	for name, sels := range selectors {
		for i := range crs {
			other := &crs[i]
			if other.Name == name {
				continue
			}
			set := labels.Set(other.Labels)
			for _, sel := range sels {
				if sel.Matches(set) {
					selects[name] = append(selects[name], other.Name)
					break
				}
			}
		}
	}
	out := make(map[string][]sourcedRule, len(crs))
	for i := range crs {
		name := crs[i].Name
		// Keep the stored rules too: they are what the API server enforces
		// now, and the union never under-reports. A breadth-first walk
		// gathers every role reached, each once, so cycles end.
		rules := sourced("ClusterRole/"+name, crs[i].Rules)
		seen := map[string]bool{name: true}
		queue := append([]string(nil), selects[name]...)
		for len(queue) > 0 {
			next := queue[0]
			queue = queue[1:]
			if seen[next] {
				continue
			}
			seen[next] = true
			rules = append(rules, sourced("ClusterRole/"+next, byName[next].Rules)...)
			queue = append(queue, selects[next]...)
		}
		out[name] = rules
	}
	return out, nil
}

// sourcedRule keeps the role a rule was written in, so a `via` chain through
// an aggregated ClusterRole names the role that really holds the rule.
type sourcedRule struct {
	from string // "ClusterRole/name" or "Role/ns/name"
	idx  int
	rule rbacv1.PolicyRule
}

func sourced(from string, rules []rbacv1.PolicyRule) []sourcedRule {
	out := make([]sourcedRule, len(rules))
	for i, r := range rules {
		out[i] = sourcedRule{from: from, idx: i, rule: r}
	}
	return out
}

func (s sourcedRule) String() string { return describe(s.from, s.idx, s.rule) }
