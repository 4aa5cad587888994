// Package age is the `keyward audit age` check: when each Secret's value
// last changed, where the value comes from, and whether that is longer ago
// than the rotation period allows. It reads metadata only, never values.
package age

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/keyward/keyward/internal/audit"
	"github.com/keyward/keyward/internal/audit/inventory"
)

// The marks Keyward's controllers set when they change a Secret's data
// (sealedsecret.ValueChangedAnnotation, externalsecret.ValueChangedAnnotation;
// a test keeps them equal).
const (
	SealedValueChanged   = "sealedsecrets.keyward.dev/value-changed-at"
	ExternalValueChanged = "externalsecrets.keyward.dev/value-changed-at"
)

// Sources of a Secret's value.
const (
	SourceSealedSecret   = "SealedSecret"
	SourceExternalSecret = "ExternalSecret"
	SourceGenerator      = "generator"
	SourceManual         = "manual"
)

// Bases of the change time, from the most to the least exact.
const (
	// BasisAnnotation: Keyward's value-changed mark.
	BasisAnnotation = "annotation"
	// BasisManagedFields: the newest managedFields entry owning data; it
	// is when that writer last changed anything it owns, so the value may
	// be older than it says, never younger.
	BasisManagedFields = "managedFields"
	// BasisCreated: the Secret's creation, when nothing better is known.
	BasisCreated = "created"
)

// DefaultMaxAge is --max-age's default: the 90 days common rotation
// policies ask for.
const DefaultMaxAge = 90 * 24 * time.Hour

// Record is one Secret as `keyward audit age -o json` prints it.
type Record struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Source    string `json:"source"`
	// Changed is when the value last changed (RFC 3339), by Basis.
	Changed string `json:"changed"`
	Basis   string `json:"basis"`
	// Age is the time since, for people ("123d"); AgeSeconds for tools.
	Age        string         `json:"age"`
	AgeSeconds int64          `json:"ageSeconds"`
	Severity   audit.Severity `json:"severity"`
}

// Options tune the check.
type Options struct {
	// MaxAge is the longest a value may go unchanged (DefaultMaxAge if 0).
	MaxAge time.Duration
	// Now is the time ages are measured to (time.Now if zero).
	Now time.Time
}

// Check reports the age of every Secret in snap.SecretMeta. Secrets that
// Kubernetes or Helm manage are skipped (see skipReason). Over MaxAge is
// medium, over twice MaxAge high.
func Check(snap *inventory.Snapshot, o Options) *audit.Result {
	if o.MaxAge <= 0 {
		o.MaxAge = DefaultMaxAge
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	res := &audit.Result{
		Check:  "age",
		Header: []string{"namespace", "name", "source", "changed", "basis", "age", "severity"},
	}
	metas := make([]*metav1.ObjectMeta, 0, len(snap.SecretMeta))
	for i := range snap.SecretMeta {
		metas = append(metas, &snap.SecretMeta[i])
	}
	sort.Slice(metas, func(i, j int) bool {
		if metas[i].Namespace != metas[j].Namespace {
			return metas[i].Namespace < metas[j].Namespace
		}
		return metas[i].Name < metas[j].Name
	})
	records := []Record{}
	skipped := map[string]int{}
	for _, m := range metas {
		if why := skipReason(m); why != "" {
			skipped[why]++
			continue
		}
		changed, basis := lastChange(m)
		age := o.Now.Sub(changed)
		if age < 0 {
			age = 0
		}
		sev := audit.None
		switch {
		case age > 2*o.MaxAge:
			sev = audit.High
		case age > o.MaxAge:
			sev = audit.Medium
		}
		r := Record{
			Namespace: m.Namespace, Name: m.Name, Source: Source(m),
			Changed: changed.UTC().Format(time.RFC3339), Basis: basis,
			Age: Human(age), AgeSeconds: int64(age / time.Second), Severity: sev,
		}
		records = append(records, r)
		res.Rows = append(res.Rows, []string{r.Namespace, r.Name, r.Source, r.Changed, r.Basis, r.Age, sev.String()})
		if sev > audit.None {
			res.Findings = append(res.Findings, audit.Finding{
				Check: "age", Rule: "stale", Severity: sev,
				Object: audit.Object{Kind: "Secret", Namespace: m.Namespace, Name: m.Name},
				Message: fmt.Sprintf("Secret %s/%s (%s) last changed %s ago (%s, by %s), longer than --max-age %s: rotate it%s",
					m.Namespace, m.Name, r.Source, r.Age, r.Changed, basis, Human(o.MaxAge), rotateHint(r.Source)),
			})
		}
	}
	res.Records = records
	for _, why := range []string{skipServiceAccountToken, skipHelmRelease} {
		if n := skipped[why]; n > 0 {
			res.Notes = append(res.Notes, fmt.Sprintf("skipped %d %s", n, why))
		}
	}
	return res
}

func rotateHint(source string) string {
	switch source {
	case SourceSealedSecret:
		return " (reseal a new value)"
	case SourceExternalSecret:
		return " (rotate it in the provider; the ExternalSecret follows)"
	case SourceGenerator:
		return " (refresh the generator's ExternalSecret)"
	}
	return ""
}

const (
	skipServiceAccountToken = "service-account-token Secrets (minted by Kubernetes; rotate by deleting them, or use projected tokens)"
	skipHelmRelease         = "Helm release Secrets (release records, written anew on each upgrade, not credentials)"
)

// skipReason says why a Secret has no age to report. Only metadata is at
// hand, so the kinds are told by the marks Kubernetes and Helm set.
func skipReason(m *metav1.ObjectMeta) string {
	// The API server requires this annotation on every token Secret; the
	// uid one comes later, from the token controller.
	if m.Annotations["kubernetes.io/service-account.name"] != "" {
		return skipServiceAccountToken
	}
	if m.Labels["owner"] == "helm" && strings.HasPrefix(m.Name, "sh.helm.release.v1.") {
		return skipHelmRelease
	}
	return ""
}

// Source says where the Secret's value comes from: its controller owner
// (a SealedSecret of bitnami.com, an ExternalSecret of
// external-secrets.io, one of ESO's generators), else the marks those
// controllers set when they own no reference, else manual. A Secret of an
// ExternalSecret fed by a generatorRef carries nothing that says so; it is
// reported as ExternalSecret.
func Source(m *metav1.ObjectMeta) string {
	for _, ref := range m.OwnerReferences {
		group, _, _ := strings.Cut(ref.APIVersion, "/")
		switch {
		case ref.Kind == "SealedSecret" && group == "bitnami.com":
			return SourceSealedSecret
		case group == "generators.external-secrets.io":
			return SourceGenerator
		case ref.Kind == "ExternalSecret" && group == "external-secrets.io":
			return SourceExternalSecret
		}
	}
	switch {
	case m.Labels["sealedsecrets.keyward.dev/unsealed"] == "true", m.Annotations[SealedValueChanged] != "":
		return SourceSealedSecret
	case m.Labels["reconcile.external-secrets.io/managed"] == "true", m.Annotations[ExternalValueChanged] != "":
		return SourceExternalSecret
	}
	return SourceManual
}

// lastChange is when the value last changed, and how that is known.
func lastChange(m *metav1.ObjectMeta) (time.Time, string) {
	for _, a := range []string{SealedValueChanged, ExternalValueChanged} {
		if v := m.Annotations[a]; v != "" {
			if t, err := time.Parse(time.RFC3339, v); err == nil {
				return t, BasisAnnotation
			}
		}
	}
	var newest time.Time
	for _, mf := range m.ManagedFields {
		if mf.Time == nil || mf.FieldsV1 == nil || !touchesData(mf.FieldsV1.Raw) {
			continue
		}
		if mf.Time.Time.After(newest) {
			newest = mf.Time.Time
		}
	}
	if !newest.IsZero() {
		return newest, BasisManagedFields
	}
	return m.CreationTimestamp.Time, BasisCreated
}

// touchesData says a managedFields entry owns keys of data or stringData.
func touchesData(raw []byte) bool {
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil {
		return false
	}
	_, data := fields["f:data"]
	_, stringData := fields["f:stringData"]
	return data || stringData
}

// Human writes a duration in its largest whole unit: "120d", "5h", "3m".
func Human(d time.Duration) string {
	switch {
	case d >= 24*time.Hour:
		return fmt.Sprintf("%dd", int64(d/(24*time.Hour)))
	case d >= time.Hour:
		return fmt.Sprintf("%dh", int64(d/time.Hour))
	}
	return fmt.Sprintf("%dm", int64(d/time.Minute))
}

// ParseMaxAge reads --max-age: a whole number of days ("90d") or a Go
// duration ("2160h", "36h30m").
func ParseMaxAge(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseUint(days, 10, 32)
		if err != nil || n == 0 {
			return 0, fmt.Errorf("max age %q: want a positive number of days (90d) or a duration (2160h)", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("max age %q: want a positive number of days (90d) or a duration (2160h)", s)
	}
	return d, nil
}
