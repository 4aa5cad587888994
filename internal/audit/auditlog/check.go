package auditlog

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/keyward/keyward/internal/audit"
	"github.com/keyward/keyward/internal/audit/access"
)

// Check is the check's name, as its subcommand is called.
const Check = "log"

// Rules of the check's findings.
const (
	RuleUnexpectedReader = "unexpected-reader"
	RuleDeniedAttempt    = "denied-attempt"
	RuleCorruptLine      = "corrupt-line"
	RuleBodiesLogged     = "bodies-logged"
)

// Resource names a record's kind of access: a Secret, or a subresource that
// reaches one without a get.
const ResourceSecrets = "secrets"

// Record is what one requester did to one object, as `keyward audit log -o
// json` prints it. Requests are grouped by (user, impersonator, resource,
// namespace, name, denied): an attempt that was refused is its own record.
type Record struct {
	// User is who the request acted as: the impersonated user when there was
	// one, with the real requester in Impersonator.
	User         string         `json:"user"`
	Groups       []string       `json:"groups,omitempty"`
	Impersonator string         `json:"impersonator,omitempty"`
	Subject      access.Subject `json:"subject"`
	// Resource is "secrets", or "pods/exec", "pods/attach",
	// "serviceaccounts/token" for the indirect paths.
	Resource  string `json:"resource"`
	Namespace string `json:"namespace,omitempty"`
	// Secret is the Secret's name, "*" for a list or watch of all Secrets.
	Secret string `json:"secret,omitempty"`
	// Target is the Pod or ServiceAccount of an indirect path.
	Target string    `json:"target,omitempty"`
	Verbs  []string  `json:"verbs"`
	Codes  []int     `json:"codes"`
	Count  int       `json:"count"`
	First  time.Time `json:"first"`
	Last   time.Time `json:"last"`
	Denied bool      `json:"denied,omitempty"`
	// System is a control-plane component: a system: user that is not a
	// ServiceAccount, or a ServiceAccount of kube-system.
	System bool `json:"system,omitempty"`
	// Compared says the successful reads were set against the access
	// analysis; Expected is its answer: the reader may read it today.
	Compared bool           `json:"compared"`
	Expected bool           `json:"expected"`
	Severity audit.Severity `json:"severity"`

	okReads map[string]bool
}

// readVerbs are the verbs that return a Secret's data.
var readVerbs = []string{"get", "list", "watch"}

type recordKey struct {
	user, impersonator, resource, ns, name string
	denied                                 bool
}

// Aggregator groups events into records as a Reader passes them on; it keeps
// one record per key, never the events.
type Aggregator struct {
	records map[recordKey]*Record
	// bodies counts Secret events logged above Metadata level.
	bodies int
}

// NewAggregator returns an empty Aggregator.
func NewAggregator() *Aggregator { return &Aggregator{records: map[recordKey]*Record{}} }

// Add counts one event; events on other resources are ignored.
func (a *Aggregator) Add(ev *Event) {
	o := ev.ObjectRef
	if o == nil || o.APIGroup != "" {
		return
	}
	resource := o.Resource
	if o.Subresource != "" {
		resource += "/" + o.Subresource
	}
	switch resource {
	case ResourceSecrets:
		if ev.Level == "Request" || ev.Level == "RequestResponse" {
			a.bodies++
		}
	case "pods/exec", "pods/attach", "serviceaccounts/token":
	default:
		return
	}
	code := 0
	if ev.ResponseStatus != nil {
		code = ev.ResponseStatus.Code
	}
	user, groups, imp := ev.User.Username, ev.User.Groups, ""
	if iu := ev.ImpersonatedUser; iu != nil && iu.Username != "" {
		user, groups, imp = iu.Username, iu.Groups, ev.User.Username
	}
	k := recordKey{user: user, impersonator: imp, resource: resource, ns: o.Namespace, name: o.Name, denied: code == 403}
	r := a.records[k]
	if r == nil {
		r = &Record{User: user, Impersonator: imp, Subject: subjectOf(user), Resource: resource,
			Namespace: o.Namespace, Denied: k.denied, okReads: map[string]bool{}}
		if resource == ResourceSecrets {
			r.Secret = o.Name
			if r.Secret == "" {
				r.Secret = access.All
			}
		} else {
			r.Target = o.Name
		}
		r.System = isSystem(r.Subject)
		a.records[k] = r
	}
	for _, g := range groups {
		if !slices.Contains(r.Groups, g) {
			r.Groups = append(r.Groups, g)
		}
	}
	if !slices.Contains(r.Verbs, ev.Verb) {
		r.Verbs = append(r.Verbs, ev.Verb)
	}
	if !slices.Contains(r.Codes, code) {
		r.Codes = append(r.Codes, code)
	}
	if code >= 200 && code < 300 && slices.Contains(readVerbs, ev.Verb) {
		r.okReads[ev.Verb] = true
	}
	r.Count++
	at := ev.RequestReceived
	if at.IsZero() {
		at = ev.StageTimestamp
	}
	if r.First.IsZero() || at.Before(r.First) {
		r.First = at
	}
	if at.After(r.Last) {
		r.Last = at
	}
}

// subjectOf names the RBAC subject a username is: a ServiceAccount's
// username says so, anything else is a User.
func subjectOf(user string) access.Subject {
	if rest, ok := strings.CutPrefix(user, "system:serviceaccount:"); ok {
		if ns, name, ok := strings.Cut(rest, ":"); ok {
			return access.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name}
		}
	}
	return access.Subject{Kind: rbacv1.UserKind, Name: user}
}

func isSystem(s access.Subject) bool {
	if s.Kind == rbacv1.ServiceAccountKind {
		return s.Namespace == "kube-system"
	}
	return strings.HasPrefix(s.Name, "system:")
}

// Options tune the report.
type Options struct {
	// Access is the analysis readers are compared with; nil lists readers
	// without judging them (the cluster could not be reached).
	Access *access.Report
	// NotCompared says why Access is nil, for the note.
	NotCompared string
	// Namespace keeps records of this namespace and cluster-wide ones
	// ("" keeps all).
	Namespace string
}

// maxLineFindings bounds the corrupt-line findings; the rest are counted in a
// note, so a log that is not an audit log does not bury the report.
const maxLineFindings = 20

// Result compares what the log shows with the access analysis and makes the
// check's result.
//
// A corrupt line is a low finding (rule corrupt-line) naming file and line,
// not a failure of the check: the lines around it still count, a log being
// written often ends in a half line, and SARIF points at the place. --fail-on
// low turns it into a failing run for whoever needs every line read.
func Result(rd *Reader, ag *Aggregator, o Options) *audit.Result {
	res := &audit.Result{
		Check:  Check,
		Header: []string{"user", "namespace", "object", "verbs", "count", "last", "codes", "status"},
	}
	m := newMatcher(o.Access)
	records := []Record{}
	for _, r := range ag.records {
		if o.Namespace != "" && r.Namespace != o.Namespace && r.Namespace != "" {
			continue
		}
		judge(r, m)
		sort.Strings(r.Verbs)
		sort.Ints(r.Codes)
		sort.Strings(r.Groups)
		records = append(records, *r)
	}
	sort.Slice(records, func(i, j int) bool {
		a, b := records[i], records[j]
		if a.System != b.System {
			return !a.System
		}
		if a.User != b.User {
			return a.User < b.User
		}
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		if a.object() != b.object() {
			return a.object() < b.object()
		}
		if a.Impersonator != b.Impersonator {
			return a.Impersonator < b.Impersonator
		}
		return !a.Denied && b.Denied
	})
	system := 0
	for _, r := range records {
		if r.System {
			system++
		}
		res.Rows = append(res.Rows, r.row())
		if f, ok := r.finding(); ok {
			res.Findings = append(res.Findings, f)
		}
	}
	res.Records = records

	for i, p := range rd.Problems {
		if i == maxLineFindings {
			res.Notes = append(res.Notes, fmt.Sprintf("%d more unreadable lines not listed", len(rd.Problems)-i))
			break
		}
		res.Findings = append(res.Findings, audit.Finding{Check: Check, Rule: RuleCorruptLine, Severity: audit.Low,
			Object:  audit.Object{File: p.File, Line: p.Line},
			Message: fmt.Sprintf("skipped: %v; the other lines were read", p.Err)})
		// The table shows findings only as a count: say which line here.
		res.Notes = append(res.Notes, fmt.Sprintf("skipped %v", p))
	}
	if ag.bodies > 0 {
		res.Findings = append(res.Findings, audit.Finding{Check: Check, Rule: RuleBodiesLogged, Severity: audit.High,
			Object:  audit.Object{Kind: "Policy"},
			Message: fmt.Sprintf("%d Secret events were logged at Request or RequestResponse level: the audit log holds Secret values; log Secrets at Metadata level (keyward audit policy)", ag.bodies)})
	}

	if o.Access == nil {
		why := o.NotCompared
		if why == "" {
			why = "no access analysis"
		}
		res.Notes = append(res.Notes, "readers were not compared with who may read each Secret: "+why)
	} else {
		res.Notes = append(res.Notes, "expected readers are those today's RBAC lets read the Secret: a reader whose access was removed after the read shows as unexpected")
	}
	res.Notes = append(res.Notes, fmt.Sprintf("%d lines read, %d requests counted (last stage only), %d repeated across files skipped",
		rd.Lines, rd.Events, rd.Duplicates))
	if system > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("%d records from control-plane components are listed last", system))
	}
	return res
}

// judge sets Compared, Expected and Severity.
func judge(r *Record, m *matcher) {
	switch {
	case r.Denied:
		r.Severity = audit.Medium
	case r.Resource != ResourceSecrets:
		// Indirect paths are listed for the reader to weigh: which Secrets a
		// Pod mounted when it was exec'd into is not in the log.
		r.Severity = audit.Info
	case len(r.okReads) == 0 || m == nil:
		r.Severity = audit.None
	default:
		r.Compared = true
		r.Expected = m.allows(r)
		if !r.Expected {
			r.Severity = audit.High
		}
	}
}

func (r *Record) object() string {
	if r.Resource == ResourceSecrets {
		return "secret/" + r.Secret
	}
	return r.Resource + ":" + r.Target
}

func (r *Record) status() string {
	switch {
	case r.Denied:
		return "denied"
	case r.Resource != ResourceSecrets:
		return "indirect"
	case len(r.okReads) == 0 && slices.ContainsFunc(r.Verbs, func(v string) bool { return !slices.Contains(readVerbs, v) }):
		return "write"
	case len(r.okReads) == 0:
		return "failed"
	case !r.Compared:
		return "not compared"
	case r.Expected:
		return "expected"
	}
	return "UNEXPECTED"
}

func (r *Record) who() string {
	if r.Impersonator != "" {
		return r.User + " (by " + r.Impersonator + ")"
	}
	return r.User
}

func (r *Record) row() []string {
	codes := make([]string, len(r.Codes))
	for i, c := range r.Codes {
		codes[i] = fmt.Sprint(c)
	}
	last := ""
	if !r.Last.IsZero() {
		last = r.Last.UTC().Format(time.RFC3339)
	}
	return []string{r.who(), r.Namespace, r.object(), strings.Join(r.Verbs, ","), fmt.Sprint(r.Count), last,
		strings.Join(codes, ","), r.status()}
}

func (r *Record) finding() (audit.Finding, bool) {
	obj := audit.Object{Kind: "Secret", Namespace: r.Namespace, Name: r.Secret}
	when := fmt.Sprintf("%d time(s) between %s and %s", r.Count, r.First.UTC().Format(time.RFC3339), r.Last.UTC().Format(time.RFC3339))
	switch {
	case r.Denied:
		if r.Resource != ResourceSecrets {
			obj = audit.Object{Kind: r.Resource, Namespace: r.Namespace, Name: r.Target}
		}
		return audit.Finding{Check: Check, Rule: RuleDeniedAttempt, Severity: r.Severity, Object: obj,
			Message: fmt.Sprintf("%s tried to %s and was refused, %s: find out why it tries", r.who(), strings.Join(r.Verbs, ","), when)}, true
	case r.Compared && !r.Expected:
		return audit.Finding{Check: Check, Rule: RuleUnexpectedReader, Severity: r.Severity, Object: obj,
			Message: fmt.Sprintf("%s read it (%s), %s, but no grant lets it read it today: its access was removed since, or came by a path the analysis does not see",
				r.who(), strings.Join(r.Verbs, ","), when)}, true
	}
	return audit.Finding{}, false
}

// matcher answers "may this requester read this Secret" from the access
// analysis, counting the groups the event recorded.
type matcher struct {
	rep     *access.Report
	byGroup map[string][]access.Grant
	bySubj  map[access.Subject][]access.Grant
}

func newMatcher(rep *access.Report) *matcher {
	if rep == nil {
		return nil
	}
	m := &matcher{rep: rep, byGroup: map[string][]access.Grant{}, bySubj: map[access.Subject][]access.Grant{}}
	for _, g := range rep.Grants {
		if g.Subject.Kind == rbacv1.GroupKind {
			m.byGroup[g.Subject.Name] = append(m.byGroup[g.Subject.Name], g)
		}
	}
	return m
}

// allows says whether every verb the record read with succeeded is granted
// on its Secret to the user or to a group the request carried.
func (m *matcher) allows(r *Record) bool {
	own, ok := m.bySubj[r.Subject]
	if !ok {
		// For counts the groups every such user carries, should the log
		// not list them.
		own = m.rep.For(r.Subject)
		m.bySubj[r.Subject] = own
	}
	granted := map[string]bool{}
	take := func(gs []access.Grant) {
		for _, g := range gs {
			if covers(g, r.Namespace, r.Secret) {
				for _, v := range g.Verbs {
					granted[v] = true
				}
			}
		}
	}
	take(own)
	for _, grp := range r.Groups {
		take(m.byGroup[grp])
	}
	for v := range r.okReads {
		if !granted[v] {
			return false
		}
	}
	return true
}

// covers says whether g reaches Secret name of ns; "" ns is a cluster-wide
// request, which only a grant on every namespace covers, and "*" a request
// for every Secret.
func covers(g access.Grant, ns, name string) bool {
	if ns == "" {
		ns = access.All
	}
	return (g.Namespace == access.All || g.Namespace == ns) && (g.Secret == access.All || g.Secret == name)
}
