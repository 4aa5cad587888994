package encryption

import (
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/audit"
)

func TestCheck(t *testing.T) {
	rotating := &Config{File: "enc.yaml", Covered: true, Providers: []Provider{
		{Type: AESCBC, Keys: []string{"new", "old"}}, {Type: Identity},
	}}
	off := &Config{File: "enc.yaml", Covered: true, Providers: []Provider{{Type: Identity}}}
	for _, tc := range []struct {
		name     string
		cfg      *Config
		stored   []State
		rules    []string
		encNotes bool // the plaintext note says encryption is on
	}{
		{"no config, all plaintext", nil,
			[]State{{Provider: Identity}}, []string{RulePlaintext}, false},
		{"no config, mixed: encryption is on", nil,
			[]State{{Provider: Identity}, {Encrypted: true, Provider: AESCBC, Key: "k"}}, []string{RulePlaintext, ""}, true},
		{"config rotating", rotating,
			[]State{{Provider: Identity}, {Encrypted: true, Provider: AESCBC, Key: "new"}, {Encrypted: true, Provider: AESCBC, Key: "old"}, {Encrypted: true, Provider: AESCBC, Key: "gone"}},
			[]string{RulePlaintext, "", RuleOldKey, RuleNoKey}, true},
		{"config with identity first", off,
			[]State{{Provider: Identity}}, []string{RulePlaintext}, false},
		{"kms v1 and unknown", nil,
			[]State{{Encrypted: true, Provider: KMSv1, Key: "legacy"}, {Provider: Unknown}}, []string{RuleKMSv1, RuleUnknown}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stored []Stored
			for i, s := range tc.stored {
				stored = append(stored, Stored{Namespace: "ns", Name: string(rune('a' + i)), State: s})
			}
			res := Check(stored, tc.cfg, nil)
			recs := res.Records.([]Record)
			if len(recs) != len(stored) || len(res.Rows) != len(stored) {
				t.Fatalf("%d records, %d rows for %d Secrets", len(recs), len(res.Rows), len(stored))
			}
			findings := 0
			for i, r := range recs {
				if r.rule != tc.rules[i] {
					t.Errorf("%s: rule %q, want %q", r.Name, r.rule, tc.rules[i])
				}
				if (r.rule == "") != (r.Severity == audit.None) {
					t.Errorf("%s: rule %q with severity %s", r.Name, r.rule, r.Severity)
				}
				if r.rule != "" {
					findings++
				}
			}
			if len(res.Findings) != findings {
				t.Errorf("%d findings, want %d", len(res.Findings), findings)
			}
			notes := strings.Join(res.Notes, "\n")
			if got := strings.Contains(notes, "written before encryption was turned on"); got != tc.encNotes {
				t.Errorf("notes %q: says written-before-encryption = %v, want %v", notes, got, tc.encNotes)
			}
		})
	}
}

func TestCheckLintOnly(t *testing.T) {
	cfg, lint, err := Lint("enc.yaml", []byte("apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n- resources: [secrets]\n  providers:\n  - identity: {}\n"))
	if err != nil {
		t.Fatal(err)
	}
	res := Check(nil, cfg, lint)
	if res.Max() != audit.High || len(res.Rows) != 0 {
		t.Errorf("max %s, %d rows; want high and no rows", res.Max(), len(res.Rows))
	}
	if len(res.Notes) != 1 || !strings.HasPrefix(res.Notes[0], "enc.yaml:6: high identity-first:") {
		t.Errorf("notes %q: want the lint finding with file:line", res.Notes)
	}
}
