package encryption

import (
	"fmt"
	"strconv"

	"github.com/keyward/keyward/internal/audit"
)

const checkName = "encryption"

// Record is one Secret as `keyward audit encryption -o json` prints it.
type Record struct {
	Namespace string         `json:"namespace"`
	Name      string         `json:"name"`
	Encrypted bool           `json:"encrypted"`
	Provider  string         `json:"provider"`
	Key       string         `json:"key"`
	Severity  audit.Severity `json:"severity"`
	// rule is the finding's rule, so Fix knows what to rewrite.
	rule string
}

// Rewrite says whether rewriting the Secret through the API server would
// store it with the current write provider and key: it is plaintext or
// under an older key.
func (r Record) Rewrite() bool { return r.rule == RulePlaintext || r.rule == RuleOldKey }

// Rules of the findings about stored Secrets.
const (
	RulePlaintext = "plaintext"
	RuleOldKey    = "old-key"
	RuleNoKey     = "key-not-in-config"
	RuleKMSv1     = "kms-v1-stored"
	RuleUnknown   = "unknown-format"
)

// Check turns what etcd holds (stored; nil when etcd was not read) and the
// EncryptionConfiguration (cfg and its lint findings; nil when no file was
// given) into the check's result.
func Check(stored []Stored, cfg *Config, lint []audit.Finding) *audit.Result {
	res := &audit.Result{
		Check:  checkName,
		Header: []string{"namespace", "name", "encrypted", "provider", "key", "severity"},
	}
	// Is encryption on? The file says so; without one, any encrypted
	// Secret in etcd shows the API server has a provider configured.
	encrypting := cfg != nil && cfg.Encrypts()
	if cfg == nil {
		for _, s := range stored {
			if s.Encrypted {
				encrypting = true
				break
			}
		}
	}
	wProvider, wKey := cfg.Writes()
	records := make([]Record, 0, len(stored))
	counts := map[string]int{}
	for _, s := range stored {
		r := Record{Namespace: s.Namespace, Name: s.Name, Encrypted: s.Encrypted, Provider: s.Provider, Key: s.Key}
		var msg string
		switch {
		case s.Provider == Unknown:
			r.Severity, r.rule = audit.Medium, RuleUnknown
			msg = "etcd holds neither a plaintext object nor an envelope the API server writes: check what wrote it"
		case !s.Encrypted && encrypting:
			r.Severity, r.rule = audit.High, RulePlaintext
			msg = "stored in plaintext in etcd, probably written before encryption at rest was turned on: 'keyward audit encryption --fix' rewrites it through the API server, which stores it encrypted"
		case !s.Encrypted:
			r.Severity, r.rule = audit.High, RulePlaintext
			msg = "stored in plaintext in etcd: turn on encryption at rest (kube-apiserver --encryption-provider-config), then rewrite existing Secrets with 'keyward audit encryption --fix'"
		case cfg != nil && !cfg.Reads(s.Provider, s.Key):
			r.Severity, r.rule = audit.High, RuleNoKey
			msg = fmt.Sprintf("encrypted with %s key %q, which %s does not list: an API server with this file cannot read it", s.Provider, s.Key, cfg.File)
		case cfg != nil && encrypting && (s.Provider != wProvider || s.Key != wKey):
			r.Severity, r.rule = audit.Medium, RuleOldKey
			msg = fmt.Sprintf("encrypted with %s key %q, not the write key (%s key %q): rewrite to rotate ('keyward audit encryption --fix'), then the old key can go", s.Provider, s.Key, wProvider, wKey)
		case s.Provider == KMSv1:
			r.Severity, r.rule = audit.Low, RuleKMSv1
			msg = fmt.Sprintf("encrypted with KMS v1 (provider %q), which is deprecated: move to kms apiVersion v2 and rewrite", s.Key)
		}
		counts[r.rule]++
		records = append(records, r)
		res.Rows = append(res.Rows, []string{r.Namespace, r.Name, strconv.FormatBool(r.Encrypted), r.Provider, r.Key, r.Severity.String()})
		if r.rule != "" {
			res.Findings = append(res.Findings, audit.Finding{
				Check: checkName, Rule: r.rule, Severity: r.Severity,
				Object:  audit.Object{Kind: "Secret", Namespace: r.Namespace, Name: r.Name},
				Message: msg,
			})
		}
	}
	res.Records = records
	if n := counts[RulePlaintext]; n > 0 && encrypting {
		res.Notes = append(res.Notes, fmt.Sprintf("%d Secret(s) still plaintext in etcd although the API server encrypts: they were written before encryption was turned on and stay plaintext until rewritten; --fix rewrites them", n))
	} else if n > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("%d Secret(s) plaintext in etcd and no sign that the API server encrypts: pass --encryption-config to lint its configuration", n))
	}
	if n := counts[RuleOldKey]; n > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("%d Secret(s) under an older key: --fix rewrites them with the write key (%s %q)", n, wProvider, wKey))
	}
	// The table has no place for file findings; they are told as notes
	// (JSON and SARIF carry them as findings).
	for _, f := range lint {
		res.Notes = append(res.Notes, fmt.Sprintf("%s: %s %s: %s", f.Object, f.Severity, f.Rule, f.Message))
	}
	res.Findings = append(res.Findings, lint...)
	return res
}
