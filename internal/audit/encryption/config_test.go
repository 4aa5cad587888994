package encryption

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/audit"
	"github.com/keyward/keyward/test/leak"
)

var (
	key32 = base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	key7  = base64.StdEncoding.EncodeToString([]byte("0123456"))
)

// lintWant is a finding by rule, severity and line.
type lintWant struct {
	rule string
	sev  audit.Severity
	line int
}

func TestLint(t *testing.T) {
	head := "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\n"
	for _, tc := range []struct {
		name  string
		yaml  string
		want  []lintWant
		write [2]string // provider, key
	}{
		{
			name: "aescbc with rotation staged and identity last",
			yaml: head + `resources:
  - resources: [secrets]
    providers:
      - aescbc:
          keys:
            - name: new
              secret: ` + key32 + `
            - name: old
              secret: ` + key32 + `
      - identity: {}
`,
			want:  []lintWant{{"aescbc", audit.Info, 6}},
			write: [2]string{AESCBC, "new"},
		},
		{
			name: "identity first",
			yaml: head + `resources:
  - resources: [secrets]
    providers:
      - identity: {}
      - aescbc:
          keys:
            - name: k1
              secret: ` + key32 + `
`,
			want:  []lintWant{{"aescbc", audit.Info, 7}, {"identity-first", audit.High, 6}},
			write: [2]string{Identity, ""},
		},
		{
			name: "secrets missing",
			yaml: head + `resources:
  - resources: [configmaps]
    providers:
      - secretbox:
          keys:
            - name: k1
              secret: ` + key32 + `
`,
			want:  []lintWant{{"secrets-not-covered", audit.High, 3}},
			write: [2]string{Identity, ""},
		},
		{
			name: "wildcard covers secrets",
			yaml: head + `resources:
  - resources: ["*.*"]
    providers:
      - kms:
          apiVersion: v2
          name: cloud
          endpoint: unix:///kms.sock
`,
			write: [2]string{KMSv2, "cloud"},
		},
		{
			name: "aescbc one key: no rotation",
			yaml: head + `resources:
  - resources: [secrets]
    providers:
      - aescbc:
          keys:
            - name: only
              secret: ` + key32 + `
`,
			want:  []lintWant{{"aescbc", audit.Info, 6}, {"no-rotation", audit.Low, 6}},
			write: [2]string{AESCBC, "only"},
		},
		{
			name: "aesgcm one key: rotation matters more",
			yaml: head + `resources:
  - resources: [secrets]
    providers:
      - aesgcm:
          keys:
            - name: only
              secret: ` + key32 + `
`,
			want:  []lintWant{{"aesgcm", audit.Info, 6}, {"no-rotation", audit.Medium, 6}},
			write: [2]string{AESGCM, "only"},
		},
		{
			name: "secretbox one key",
			yaml: head + `resources:
  - resources: [secrets]
    providers:
      - secretbox:
          keys:
            - name: box
              secret: ` + key32 + `
`,
			want:  []lintWant{{"no-rotation", audit.Low, 6}, {"secretbox", audit.Info, 6}},
			write: [2]string{Secretbox, "box"},
		},
		{
			name: "kms apiVersion v1 (the default)",
			yaml: head + `resources:
  - resources: [secrets]
    providers:
      - kms:
          name: legacy
          endpoint: unix:///kms.sock
      - identity: {}
`,
			want:  []lintWant{{"kms-v1", audit.Medium, 6}},
			write: [2]string{KMSv1, "legacy"},
		},
		{
			name: "bad key length and duplicate name",
			yaml: head + `resources:
  - resources: [secrets]
    providers:
      - aescbc:
          keys:
            - name: k
              secret: ` + key7 + `
            - name: k
              secret: ` + key32 + `
`,
			want:  []lintWant{{"aescbc", audit.Info, 6}, {"bad-key", audit.High, 8}, {"duplicate-key-name", audit.Medium, 10}},
			write: [2]string{AESCBC, "k"},
		},
		{
			name: "older kind name",
			yaml: "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfig\n" + `resources:
  - resources: [secrets]
    providers:
      - identity: {}
`,
			want:  []lintWant{{"identity-first", audit.High, 6}},
			write: [2]string{Identity, ""},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, findings, err := Lint("enc.yaml", []byte(tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			var got []lintWant
			for _, f := range findings {
				if f.Object.File != "enc.yaml" || f.Check != "encryption" {
					t.Errorf("finding %+v: want check encryption on file enc.yaml", f)
				}
				got = append(got, lintWant{f.Rule, f.Severity, f.Object.Line})
				leak.CheckError(t, f.Message, "0123456789abcdef0123456789abcdef")
				leak.CheckError(t, f.Message, "0123456")
			}
			slices.SortFunc(got, func(a, b lintWant) int { return strings.Compare(a.rule, b.rule) })
			if !slices.Equal(got, tc.want) {
				t.Errorf("findings = %+v, want %+v", got, tc.want)
			}
			if p, k := cfg.Writes(); [2]string{p, k} != tc.write {
				t.Errorf("Writes() = %s %q, want %v", p, k, tc.write)
			}
		})
	}
}

func TestLintRefuses(t *testing.T) {
	const value = "hunter2-not-a-number"
	for _, tc := range []struct{ name, yaml, want string }{
		{"not yaml", "a: [", "not YAML"},
		{"wrong kind", "apiVersion: v1\nkind: ConfigMap\n", `kind is "ConfigMap"`},
		{"wrong apiVersion", "apiVersion: apiserver.config.k8s.io/v2\nkind: EncryptionConfiguration\n", "apiVersion"},
		{"unknown provider", "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n- resources: [secrets]\n  providers:\n  - rot13: {}\n", `enc.yaml:6: unknown provider type "rot13"`},
		{"no keys", "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n- resources: [secrets]\n  providers:\n  - aescbc: {keys: []}\n", "keys is empty"},
		{"wrong type quotes no value", "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n- resources: [secrets]\n  providers:\n  - aescbc:\n      keys:\n      - name: k\n        secret: {x: 1}\n        other: 1\n      - " + value + "\n", "enc.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Lint("enc.yaml", []byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
			leak.CheckError(t, err.Error(), value)
		})
	}
}
