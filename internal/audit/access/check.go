package access

import (
	"fmt"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/keyward/keyward/internal/audit"
)

// Record is one grant as `keyward audit access -o json` prints it: the grant
// and how serious it is.
type Record struct {
	Grant
	Severity audit.Severity `json:"severity"`
}

// CheckOptions narrow and tune the check.
type CheckOptions struct {
	// Namespace keeps grants that reach this namespace ("" keeps all).
	Namespace string
	// Subject, when set, keeps what this one can read (its groups' grants
	// included).
	Subject *Subject
	// Allowed subjects are expected readers: their grants are listed but
	// are not findings (the controller's own ServiceAccount, a backup tool).
	Allowed []Subject
}

// Check turns a report into the audit result: every grant a record, and the
// risky ones findings.
func Check(r *Report, o CheckOptions) *audit.Result {
	grants := r.Grants
	if o.Subject != nil {
		grants = r.For(*o.Subject)
	}
	res := &audit.Result{
		Check:  "access",
		Header: []string{"subject", "namespace", "secret", "verbs", "via", "severity"},
	}
	allowed := map[Subject]bool{}
	for _, s := range o.Allowed {
		allowed[subjectOf(rbacv1.Subject{Kind: s.Kind, Name: s.Name, Namespace: s.Namespace}, s.Namespace)] = true
	}
	records := []Record{}
	for _, g := range grants {
		if o.Namespace != "" && g.Namespace != o.Namespace && g.Namespace != All {
			continue
		}
		sev, rule, why := classify(g)
		if allowed[g.Subject] {
			sev, rule = audit.None, ""
		}
		records = append(records, Record{Grant: g, Severity: sev})
		via := g.Via[0]
		if len(g.Via) > 1 {
			via += fmt.Sprintf(" (+%d more)", len(g.Via)-1)
		}
		res.Rows = append(res.Rows, []string{g.Subject.String(), g.Namespace, g.Secret, strings.Join(g.Verbs, ","), via, sev.String()})
		if sev > audit.None {
			res.Findings = append(res.Findings, audit.Finding{
				Check: "access", Rule: rule, Severity: sev,
				Object:  audit.Object{Kind: "Secret", Namespace: g.Namespace, Name: g.Secret},
				Message: fmt.Sprintf("%s can read %s (%s) %s: %s", g.Subject, what(g), strings.Join(g.Verbs, ","), why, g.Via[0]),
			})
		}
	}
	res.Records = records
	return res
}

func what(g Grant) string {
	switch {
	case g.Namespace == All && g.Secret == All:
		return "every Secret in every namespace"
	case g.Secret == All:
		return "every Secret in namespace " + g.Namespace
	case g.Namespace == All:
		return "Secrets named " + g.Secret + " in every namespace"
	}
	return "Secret " + g.Namespace + "/" + g.Secret
}

// classify says how serious a grant is. Kubernetes' own components and
// system:masters read Secrets by design; groups every user or every
// ServiceAccount is in make a Secret public; reaching every namespace, or
// reading through a path RBAC reviews miss, is worth a look.
func classify(g Grant) (audit.Severity, string, string) {
	s := g.Subject
	switch {
	case s.Kind == rbacv1.GroupKind && (s.Name == GroupAuthenticated || s.Name == "system:unauthenticated"),
		s.Kind == rbacv1.UserKind && s.Name == "system:anonymous":
		return audit.Critical, "public", "as everyone who can reach the API server"
	case s.Kind == rbacv1.GroupKind && s.Name == GroupServiceAccounts:
		return audit.High, "all-serviceaccounts", "as every ServiceAccount of the cluster"
	case s.Kind == rbacv1.GroupKind && s.Name == GroupMasters:
		return audit.Info, "system-masters", "by bypassing authorization"
	case isNode(s):
		return audit.None, "", ""
	case s.Kind == rbacv1.UserKind && strings.HasPrefix(s.Name, "system:"),
		s.Kind == rbacv1.ServiceAccountKind && s.Namespace == "kube-system":
		// The control plane's own identities.
		return audit.None, "", ""
	case s.Kind == rbacv1.GroupKind && strings.HasPrefix(s.Name, GroupServiceAccounts+":"):
		return audit.Medium, "namespace-serviceaccounts", "as every ServiceAccount of a namespace"
	}
	indirect := true
	for _, v := range g.Via {
		if !isIndirect(v) {
			indirect = false
		}
	}
	switch {
	case g.Namespace == All && indirect:
		return audit.High, "cluster-wide-indirect", "through a path RBAC reviews miss"
	case g.Namespace == All:
		return audit.High, "cluster-wide", "in every namespace"
	case indirect:
		return audit.Medium, "indirect", "through a path RBAC reviews miss"
	case g.Secret == All:
		return audit.Low, "namespace-wide", "directly"
	}
	return audit.None, "", ""
}

func isNode(s Subject) bool {
	return s.Kind == rbacv1.GroupKind && s.Name == GroupNodes ||
		s.Kind == rbacv1.UserKind && strings.HasPrefix(s.Name, nodeUserPrefix)
}

// isIndirect tells a chain that reads by another route than get/list/watch
// on secrets: the markers are the words the analysis writes for each path.
func isIndirect(via string) bool {
	for _, m := range []string{" → create ", " → pods/", " → escalate", " → bind", " → impersonate ", " as ", "node authorizer", "system:masters"} {
		if strings.Contains(via, m) {
			return true
		}
	}
	return false
}

// ParseSubject reads a subject as the command line gives it: Kind/name or
// Kind/namespace/name (User/alice, Group/devs, ServiceAccount/team-a/deployer),
// Kind:name as kubectl-who-can prints it, or a ServiceAccount's user name
// (system:serviceaccount:team-a:deployer).
func ParseSubject(s string) (Subject, error) {
	if rest, ok := strings.CutPrefix(s, saUserPrefix); ok {
		ns, name, ok := strings.Cut(rest, ":")
		if !ok || ns == "" || name == "" {
			return Subject{}, fmt.Errorf("subject %q: want system:serviceaccount:NAMESPACE:NAME", s)
		}
		return Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name}, nil
	}
	i := strings.IndexAny(s, "/:")
	if i < 0 {
		return Subject{}, fmt.Errorf("subject %q: want User/NAME, Group/NAME or ServiceAccount/NAMESPACE/NAME", s)
	}
	kind, rest := s[:i], s[i+1:]
	switch strings.ToLower(kind) {
	case "user":
		return Subject{Kind: rbacv1.UserKind, Name: rest}, nil
	case "group":
		return Subject{Kind: rbacv1.GroupKind, Name: rest}, nil
	case "serviceaccount", "sa":
		ns, name, ok := strings.Cut(rest, "/")
		if !ok {
			ns, name, ok = strings.Cut(rest, ":")
		}
		if !ok || ns == "" || name == "" {
			return Subject{}, fmt.Errorf("subject %q: a ServiceAccount needs its namespace: ServiceAccount/NAMESPACE/NAME", s)
		}
		return Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name}, nil
	}
	return Subject{}, fmt.Errorf("subject %q: unknown kind %q (want User, Group or ServiceAccount)", s, kind)
}
