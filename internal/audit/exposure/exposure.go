// Package exposure is the `keyward audit exposure` check: Secret material
// where it should not be (kubectl's last-applied annotation, ConfigMaps,
// Pod env and args, Events, Helm release records) and Pods that mount
// Secrets with no NetworkPolicy around them.
//
// Values are compared by keyed hash in memory (see index); results name
// objects, fields and keys, never values.
package exposure

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/keyward/keyward/internal/audit"
	"github.com/keyward/keyward/internal/audit/inventory"
)

// Rule ids.
const (
	RuleLastApplied     = "last-applied"
	RuleConfigMapCopy   = "configmap-copy"
	RuleEnvLiteral      = "env-literal"
	RuleSecretEnv       = "secret-env"
	RuleEventCopy       = "event-copy"
	RuleHelmRelease     = "helm-release"
	RuleNoNetworkPolicy = "no-networkpolicy"
)

const (
	lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"
	helmReleaseType       = corev1.SecretType("helm.sh/release.v1")
	// maxRelease bounds a decompressed Helm release (Secrets hold 1 MiB;
	// gzip can inflate that a thousandfold).
	maxRelease = 64 << 20
)

// DefaultMinLen is the shortest value looked for: shorter ones match
// everywhere by chance.
const DefaultMinLen = 8

// Options tune the check.
type Options struct {
	// Key keys the in-memory hashes (a random one if nil).
	Key []byte
	// MinLen is the shortest value looked for (DefaultMinLen if 0).
	MinLen int
}

// Record is one exposure as `keyward audit exposure -o json` prints it.
type Record struct {
	Rule      string `json:"rule"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Field is where in the object ("data.app.properties",
	// "spec.containers[api].env[DB_PASSWORD]").
	Field string `json:"field,omitempty"`
	// Secret and Key name the Secret whose value is exposed, or that the
	// object reads or mounts.
	Secret   string         `json:"secret,omitempty"`
	Key      string         `json:"key,omitempty"`
	Message  string         `json:"message"`
	Severity audit.Severity `json:"severity"`
}

// Check looks for exposures in snap. It uses what was listed: Secrets with
// values (all value rules), ConfigMaps, Events, Pods and workloads, and
// NetworkPolicies; a kind not listed is not looked at.
func Check(snap *inventory.Snapshot, o Options) (*audit.Result, error) {
	if o.MinLen <= 0 {
		o.MinLen = DefaultMinLen
	}
	ix, err := newIndex(snap.Secrets, o.Key, o.MinLen)
	if err != nil {
		return nil, fmt.Errorf("exposure: %w", err)
	}
	c := &checker{ix: ix, seen: map[string]bool{}}
	for i := range snap.Secrets {
		c.secret(&snap.Secrets[i])
	}
	for i := range snap.ConfigMaps {
		c.configMap(&snap.ConfigMaps[i])
	}
	workloads := snap.Deployments != nil || snap.StatefulSets != nil || snap.DaemonSets != nil
	for i := range snap.Pods {
		p := &snap.Pods[i]
		if workloads && controlledByWorkload(p) {
			continue // its workload's template is reported
		}
		c.podSpec("Pod", p.Namespace, p.Name, "spec", &p.Spec)
	}
	for i := range snap.Deployments {
		d := &snap.Deployments[i]
		c.podSpec("Deployment", d.Namespace, d.Name, "spec.template.spec", &d.Spec.Template.Spec)
	}
	for i := range snap.StatefulSets {
		s := &snap.StatefulSets[i]
		c.podSpec("StatefulSet", s.Namespace, s.Name, "spec.template.spec", &s.Spec.Template.Spec)
	}
	for i := range snap.DaemonSets {
		d := &snap.DaemonSets[i]
		c.podSpec("DaemonSet", d.Namespace, d.Name, "spec.template.spec", &d.Spec.Template.Spec)
	}
	for i := range snap.Events {
		c.event(&snap.Events[i])
	}
	if snap.NetworkPolicies != nil {
		c.networkPolicies(snap.Pods, snap.NetworkPolicies)
	}
	return c.result(), nil
}

type checker struct {
	ix      *index
	records []Record
	seen    map[string]bool
	notes   []string
}

func (c *checker) add(r Record) {
	id := strings.Join([]string{r.Rule, r.Kind, r.Namespace, r.Name, r.Field, r.Secret, r.Key}, "\x00")
	if c.seen[id] {
		return
	}
	c.seen[id] = true
	c.records = append(c.records, r)
}

// copies records every Secret value found in text.
func (c *checker) copies(rule, kind, ns, name, field, text string, decode bool, what string) {
	for _, r := range c.ix.find(text, ns, decode) {
		c.add(Record{
			Rule: rule, Severity: audit.High, Kind: kind, Namespace: ns, Name: name, Field: field,
			Secret: r.String(), Key: r.key,
			Message: fmt.Sprintf("%s %s/%s %s holds the value of Secret %s key %s: %s", kind, ns, name, field, r, r.key, what),
		})
	}
}

func (c *checker) secret(s *corev1.Secret) {
	if v, ok := s.Annotations[lastAppliedAnnotation]; ok {
		var applied struct {
			Data       map[string]json.RawMessage `json:"data"`
			StringData map[string]json.RawMessage `json:"stringData"`
		}
		if json.Unmarshal([]byte(v), &applied) == nil && len(applied.Data)+len(applied.StringData) > 0 {
			var keys []string
			for k := range applied.Data {
				keys = append(keys, k)
			}
			for k := range applied.StringData {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			c.add(Record{
				Rule: RuleLastApplied, Severity: audit.High, Kind: "Secret", Namespace: s.Namespace, Name: s.Name,
				Field: "metadata.annotations[" + lastAppliedAnnotation + "]", Secret: s.Namespace + "/" + s.Name, Key: strings.Join(keys, ","),
				Message: fmt.Sprintf("Secret %s/%s carries its values (keys %s) a second time in kubectl's last-applied annotation, readable with the Secret's metadata (list/watch through a metadata client, tools that print annotations); apply Secrets server-side (kubectl apply --server-side) or create them, and remove the annotation",
					s.Namespace, s.Name, strings.Join(keys, ",")),
			})
		}
	}
	if s.Type == helmReleaseType {
		c.helmRelease(s)
	}
}

func (c *checker) configMap(cm *corev1.ConfigMap) {
	const what = "ConfigMaps are not protected as Secrets are; move it to a Secret"
	for _, k := range sortedKeys(cm.Data) {
		c.copies(RuleConfigMapCopy, "ConfigMap", cm.Namespace, cm.Name, "data."+k, cm.Data[k], false, what)
	}
	for _, k := range sortedKeys(cm.BinaryData) {
		c.copies(RuleConfigMapCopy, "ConfigMap", cm.Namespace, cm.Name, "binaryData."+k, string(cm.BinaryData[k]), false, what)
	}
}

func (c *checker) podSpec(kind, ns, name, path string, spec *corev1.PodSpec) {
	type container struct {
		field string
		c     *corev1.Container
	}
	var all []container
	for i := range spec.InitContainers {
		all = append(all, container{"initContainers", &spec.InitContainers[i]})
	}
	for i := range spec.Containers {
		all = append(all, container{"containers", &spec.Containers[i]})
	}
	for i := range spec.EphemeralContainers {
		ec := corev1.Container(spec.EphemeralContainers[i].EphemeralContainerCommon)
		all = append(all, container{"ephemeralContainers", &ec})
	}
	const what = "Pod specs are readable by everyone who can read the workload; read it from a Secret (as a file)"
	for _, ct := range all {
		at := fmt.Sprintf("%s.%s[%s]", path, ct.field, ct.c.Name)
		for _, e := range ct.c.Env {
			field := at + ".env[" + e.Name + "]"
			if e.Value != "" {
				c.copies(RuleEnvLiteral, kind, ns, name, field, e.Value, false, what)
			}
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				ref := e.ValueFrom.SecretKeyRef
				c.add(Record{
					Rule: RuleSecretEnv, Severity: audit.Low, Kind: kind, Namespace: ns, Name: name, Field: field,
					Secret: ns + "/" + ref.Name, Key: ref.Key,
					Message: fmt.Sprintf("%s %s/%s %s takes Secret %s/%s key %s as an environment variable, which child processes inherit and crash dumps and logs show; mount it as a file (CIS 5.4.1)",
						kind, ns, name, field, ns, ref.Name, ref.Key),
				})
			}
		}
		for i, ef := range ct.c.EnvFrom {
			if ef.SecretRef == nil {
				continue
			}
			field := fmt.Sprintf("%s.envFrom[%d]", at, i)
			c.add(Record{
				Rule: RuleSecretEnv, Severity: audit.Low, Kind: kind, Namespace: ns, Name: name, Field: field,
				Secret: ns + "/" + ef.SecretRef.Name,
				Message: fmt.Sprintf("%s %s/%s %s takes every key of Secret %s/%s as environment variables, which child processes inherit and crash dumps and logs show; mount it as files (CIS 5.4.1)",
					kind, ns, name, field, ns, ef.SecretRef.Name),
			})
		}
		for i, a := range ct.c.Command {
			c.copies(RuleEnvLiteral, kind, ns, name, fmt.Sprintf("%s.command[%d]", at, i), a, false, what)
		}
		for i, a := range ct.c.Args {
			c.copies(RuleEnvLiteral, kind, ns, name, fmt.Sprintf("%s.args[%d]", at, i), a, false, what)
		}
	}
}

func (c *checker) event(e *corev1.Event) {
	what := fmt.Sprintf("about %s %s; Events are readable by many and kept for an hour or more; find what logs the value", e.InvolvedObject.Kind, e.InvolvedObject.Name)
	c.copies(RuleEventCopy, "Event", e.Namespace, e.Name, "message", e.Message, false, what)
}

// helmRelease looks for other Secrets' values in a Helm release record:
// data.release is base64 of gzipped JSON, whose strings (the rendered
// manifest, the chart's values) are searched, base64 pieces decoded.
func (c *checker) helmRelease(s *corev1.Secret) {
	raw := s.Data["release"]
	if len(raw) == 0 {
		return
	}
	skip := func(why string) {
		c.notes = append(c.notes, fmt.Sprintf("Helm release Secret %s/%s not searched: %s", s.Namespace, s.Name, why))
	}
	dec, err := base64.StdEncoding.DecodeString(string(raw))
	if err != nil {
		skip("data.release is not base64")
		return
	}
	body := dec
	if bytes.HasPrefix(dec, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(bytes.NewReader(dec))
		if err != nil {
			skip("data.release is not gzip")
			return
		}
		body, err = io.ReadAll(io.LimitReader(zr, maxRelease+1))
		if err != nil {
			skip("data.release does not decompress")
			return
		}
		if len(body) > maxRelease {
			skip(fmt.Sprintf("the release decompresses to more than %d MiB", maxRelease>>20))
			return
		}
	}
	var release any
	if json.Unmarshal(body, &release) != nil {
		skip("the release is not JSON")
		return
	}
	const what = "Helm keeps every release's rendered manifest and values, old ones included, for everyone who can read Secrets of the namespace; keep the value out of chart values (reference an existing Secret) and limit the release history"
	walkStrings(release, "release", func(path, v string) {
		c.copies(RuleHelmRelease, "Secret", s.Namespace, s.Name, "data.release ("+path+")", v, true, what)
	})
}

// walkStrings calls f with every string in v and where it is: the top-level
// field names it sits under ("release.manifest", "release.config").
func walkStrings(v any, path string, f func(path, v string)) {
	switch t := v.(type) {
	case string:
		f(path, t)
	case map[string]any:
		for _, k := range sortedKeys(t) {
			p := path
			if strings.Count(path, ".") < 1 {
				p = path + "." + k
			}
			walkStrings(t[k], p, f)
		}
	case []any:
		for _, e := range t {
			walkStrings(e, path, f)
		}
	}
}

// networkPolicies reports running Pods that mount a Secret and that no
// NetworkPolicy selects, for ingress, egress or both.
func (c *checker) networkPolicies(pods []corev1.Pod, policies []networkingv1.NetworkPolicy) {
	byNS := map[string][]*networkingv1.NetworkPolicy{}
	for i := range policies {
		byNS[policies[i].Namespace] = append(byNS[policies[i].Namespace], &policies[i])
	}
	for i := range pods {
		p := &pods[i]
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		secrets := mountedSecrets(&p.Spec)
		if len(secrets) == 0 {
			continue
		}
		ingress, egress := false, false
		for _, np := range byNS[p.Namespace] {
			sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
			if err != nil || !sel.Matches(labels.Set(p.Labels)) {
				continue
			}
			in, out := directions(np)
			ingress, egress = ingress || in, egress || out
		}
		var missing []string
		sev := audit.Low
		switch {
		case !ingress && !egress:
			missing, sev = []string{"ingress", "egress"}, audit.Medium
		case !ingress:
			missing = []string{"ingress"}
		case !egress:
			missing = []string{"egress"}
		default:
			continue
		}
		c.add(Record{
			Rule: RuleNoNetworkPolicy, Severity: sev, Kind: "Pod", Namespace: p.Namespace, Name: p.Name,
			Secret: p.Namespace + "/" + strings.Join(secrets, ","),
			Message: fmt.Sprintf("Pod %s/%s mounts Secret(s) %s and no NetworkPolicy selects it for %s: anything can reach it, and it can send what it holds anywhere; add a NetworkPolicy",
				p.Namespace, p.Name, strings.Join(secrets, ","), strings.Join(missing, " or ")),
		})
	}
}

// directions says which traffic a NetworkPolicy governs, with the API's
// defaults when policyTypes is empty.
func directions(np *networkingv1.NetworkPolicy) (ingress, egress bool) {
	if len(np.Spec.PolicyTypes) == 0 {
		return true, len(np.Spec.Egress) > 0
	}
	for _, t := range np.Spec.PolicyTypes {
		switch t {
		case networkingv1.PolicyTypeIngress:
			ingress = true
		case networkingv1.PolicyTypeEgress:
			egress = true
		}
	}
	return ingress, egress
}

// mountedSecrets are the Secrets a Pod mounts as volumes.
func mountedSecrets(spec *corev1.PodSpec) []string {
	set := map[string]bool{}
	for _, v := range spec.Volumes {
		if v.Secret != nil {
			set[v.Secret.SecretName] = true
		}
		if v.Projected != nil {
			for _, src := range v.Projected.Sources {
				if src.Secret != nil {
					set[src.Secret.Name] = true
				}
			}
		}
	}
	return sortedKeys(set)
}

// controlledByWorkload: a Pod of a Deployment (through its ReplicaSet), a
// StatefulSet or a DaemonSet.
func controlledByWorkload(p *corev1.Pod) bool {
	ref := metav1.GetControllerOf(p)
	return ref != nil && strings.HasPrefix(ref.APIVersion, "apps/") &&
		(ref.Kind == "ReplicaSet" || ref.Kind == "StatefulSet" || ref.Kind == "DaemonSet")
}

var ruleOrder = map[string]int{RuleLastApplied: 0, RuleConfigMapCopy: 1, RuleEnvLiteral: 2, RuleEventCopy: 3, RuleHelmRelease: 4, RuleSecretEnv: 5, RuleNoNetworkPolicy: 6}

func (c *checker) result() *audit.Result {
	sort.SliceStable(c.records, func(i, j int) bool {
		a, b := c.records[i], c.records[j]
		if ruleOrder[a.Rule] != ruleOrder[b.Rule] {
			return ruleOrder[a.Rule] < ruleOrder[b.Rule]
		}
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Field < b.Field
	})
	res := &audit.Result{
		Check:   "exposure",
		Header:  []string{"rule", "object", "field", "secret", "key", "severity"},
		Records: c.records,
		Notes:   c.notes,
	}
	if c.records == nil {
		res.Records = []Record{}
	}
	for _, r := range c.records {
		obj := audit.Object{Kind: r.Kind, Namespace: r.Namespace, Name: r.Name}
		res.Rows = append(res.Rows, []string{r.Rule, obj.String(), r.Field, r.Secret, r.Key, r.Severity.String()})
		res.Findings = append(res.Findings, audit.Finding{Check: "exposure", Rule: r.Rule, Severity: r.Severity, Object: obj, Message: r.Message})
	}
	return res
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
