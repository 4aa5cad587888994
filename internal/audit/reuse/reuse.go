// Package reuse is the `keyward audit reuse` check: the same Secret value
// held in several namespaces or clusters. Values are compared by HMAC-SHA256
// under a key only this tool holds (see key.go); neither values nor their
// hashes leave the process.
package reuse

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/keyward/keyward/internal/audit"
	"github.com/keyward/keyward/internal/audit/inventory"
)

// DefaultMinLen is the shortest value compared: shorter ones ("true",
// "admin", a port) repeat everywhere without being shared credentials.
const DefaultMinLen = 8

// Input is one cluster's listing.
type Input struct {
	// Context is the kubeconfig context it was read with ("" for one).
	Context  string
	Snapshot *inventory.Snapshot
}

// Options tune the check.
type Options struct {
	// Key keys the HMAC; required.
	Key []byte
	// MinLen is the shortest value compared (DefaultMinLen if 0).
	MinLen int
}

// Member is one Secret key holding the shared value.
type Member struct {
	Context   string `json:"context,omitempty"`
	Namespace string `json:"namespace"`
	Secret    string `json:"secret"`
	Key       string `json:"key"`
}

func (m Member) String() string {
	s := m.Namespace + "/" + m.Secret + "[" + m.Key + "]"
	if m.Context != "" {
		s = m.Context + ":" + s
	}
	return s
}

// Record is one group of keys sharing a value, as `keyward audit reuse -o
// json` prints it. Groups are numbered from 1, most severe first.
type Record struct {
	Group      int            `json:"group"`
	Members    []Member       `json:"members"`
	Namespaces int            `json:"namespaces"`
	Contexts   int            `json:"contexts"`
	Reason     string         `json:"reason"`
	Severity   audit.Severity `json:"severity"`
}

// Check groups the Secret keys of every input by keyed hash of their value
// and reports the groups that span more than one namespace or context.
// Service-account-token and Helm release Secrets, ca.crt keys and values
// shorter than MinLen are left out.
func Check(in []Input, o Options) (*audit.Result, error) {
	if len(o.Key) == 0 {
		return nil, errors.New("reuse: no HMAC key")
	}
	if o.MinLen <= 0 {
		o.MinLen = DefaultMinLen
	}
	mac := hmac.New(sha256.New, o.Key)
	groups := map[[sha256.Size]byte][]Member{}
	for _, input := range in {
		for i := range input.Snapshot.Secrets {
			s := &input.Snapshot.Secrets[i]
			if ignoredSecret(s) {
				continue
			}
			for k, v := range s.Data {
				if len(v) < o.MinLen || k == "ca.crt" {
					continue
				}
				mac.Reset()
				mac.Write(v)
				var sum [sha256.Size]byte
				mac.Sum(sum[:0])
				groups[sum] = append(groups[sum], Member{Context: input.Context, Namespace: s.Namespace, Secret: s.Name, Key: k})
			}
		}
	}
	var records []Record
	for _, members := range groups {
		r, ok := classify(members)
		if ok {
			records = append(records, r)
		}
	}
	sort.Slice(records, func(i, j int) bool {
		if records[i].Severity != records[j].Severity {
			return records[i].Severity > records[j].Severity
		}
		return records[i].Members[0].String() < records[j].Members[0].String()
	})
	res := &audit.Result{Check: "reuse", Header: []string{"group", "members", "namespaces", "contexts", "reason", "severity"}}
	for i := range records {
		r := &records[i]
		r.Group = i + 1
		names := make([]string, len(r.Members))
		for j, m := range r.Members {
			names[j] = m.String()
		}
		shown := names
		if len(shown) > 3 {
			shown = append(shown[:3:3], fmt.Sprintf("+%d more", len(names)-3))
		}
		res.Rows = append(res.Rows, []string{fmt.Sprint(r.Group), strings.Join(shown, ", "),
			fmt.Sprint(r.Namespaces), fmt.Sprint(r.Contexts), r.Reason, r.Severity.String()})
		first := r.Members[0]
		res.Findings = append(res.Findings, audit.Finding{
			Check: "reuse", Rule: "shared-value", Severity: r.Severity,
			Object: audit.Object{Kind: "Secret", Namespace: first.Namespace, Name: first.Secret, Context: first.Context},
			Message: fmt.Sprintf("group %d: one value is held by %s (%s); give each environment its own value",
				r.Group, strings.Join(names, ", "), r.Reason),
		})
	}
	if records == nil {
		records = []Record{}
	}
	res.Records = records
	return res, nil
}

// ignoredSecret: Kubernetes' own tokens and Helm's release records are not
// credentials someone chose to share.
func ignoredSecret(s *corev1.Secret) bool {
	return s.Type == corev1.SecretTypeServiceAccountToken || s.Type == "helm.sh/release.v1"
}

// classify makes a record of a group spanning more than one namespace or
// context; keys sharing a value within one namespace are not reuse across
// environments.
func classify(members []Member) (Record, bool) {
	type place struct{ ctx, ns string }
	places, namespaces, contexts, envs := map[place]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, m := range members {
		places[place{m.Context, m.Namespace}] = true
		namespaces[m.Namespace] = true
		contexts[m.Context] = true
		if e := Environment(m.Namespace); e != "" {
			envs[e] = true
		}
	}
	if len(places) < 2 {
		return Record{}, false
	}
	sort.Slice(members, func(i, j int) bool { return members[i].String() < members[j].String() })
	r := Record{Members: members, Namespaces: len(namespaces), Contexts: len(contexts), Severity: audit.Medium, Reason: "spans namespaces"}
	switch {
	case len(contexts) > 1:
		r.Severity, r.Reason = audit.High, "spans clusters (contexts)"
	case len(envs) > 1:
		r.Severity, r.Reason = audit.High, "spans environments "+strings.Join(sortedKeys(envs), ", ")
	}
	return r, true
}

// envWords are the namespace name parts that say which environment it is.
var envWords = map[string]string{
	"prod": "production", "production": "production", "prd": "production", "live": "production",
	"staging": "staging", "stage": "staging", "stg": "staging", "preprod": "staging",
	"dev": "development", "development": "development", "sandbox": "development",
	"test": "test", "testing": "test", "qa": "test", "uat": "test",
}

// Environment guesses a namespace's environment from its name's parts
// ("payments-prod" is production); "" when none says.
func Environment(namespace string) string {
	for _, part := range strings.FieldsFunc(strings.ToLower(namespace), func(r rune) bool { return r == '-' || r == '.' || r == '_' }) {
		if e, ok := envWords[part]; ok {
			return e
		}
	}
	return ""
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
