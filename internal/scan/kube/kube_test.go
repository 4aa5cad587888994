package kube

import (
	"fmt"
	"slices"
	"testing"
)

func TestAnalyze(t *testing.T) {
	tests := []struct {
		name, path, doc string
		want            []string // "rule@line:key"
		quiet           bool
	}{
		{name: "plain data", path: "s.yaml", doc: `apiVersion: v1
kind: Secret
metadata: {name: db}
data:
  password: UzNjcjN0LXBhc3M=
  empty: ""
`, want: []string{"kubernetes-secret@5:password"}, quiet: true},
		{name: "kind after data, stringData", path: "s.yaml", doc: `apiVersion: v1
metadata:
  name: x
stringData:
  token: q8Vd2LmZ0xR7tNw4Kp9s
kind: Secret
`, want: []string{"kubernetes-secret@5:token"}, quiet: true},
		{name: "multi-document", path: "m.yaml", doc: `kind: ConfigMap
data: {a: b}
---
kind: Secret
data:
  k: dmFsdWUtb25lLXR3bw==
`, want: []string{"kubernetes-secret@6:k"}, quiet: true},
		{name: "json list", path: "l.json", doc: `{"kind": "List", "items": [
  {"kind": "Secret", "apiVersion": "v1",
   "data": {"token": "cTh2ZDJMbVoweFI3dE53NEtwOXM="}}]}`, want: []string{"kubernetes-secret@3:token"}, quiet: true},
		{name: "helm templated", path: "templates/secret.yaml", doc: `apiVersion: v1
kind: Secret
metadata:
  name: {{ include "x.fullname" . }}
data:
  password: {{ .Values.password | b64enc | quote }}
  {{- range $k, $v := .Values.extra }}
  {{ $k }}: {{ $v | b64enc }}
  {{- end }}
`, quiet: true},
		{name: "placeholder decoded", path: "s.yaml", doc: "kind: Secret\ndata:\n  password: Y2hhbmdlbWU=\n", quiet: true},
		// base64 of "password": a tutorial's value, not a credential
		{name: "trivial decoded", path: "s.yaml", doc: "kind: Secret\ndata:\n  password: cGFzc3dvcmQ=\n", quiet: true},
		// a user name leaks nothing; the password next to it does
		{name: "user name", path: "s.yaml", doc: "kind: Secret\ndata:\n  username: b3JkZXJz\n  password: cFlsN2hkdGNJMWYxITE=\n",
			want: []string{"kubernetes-secret@4:password"}, quiet: true},
		{name: "sealed secret", path: "ss.yaml", doc: "kind: SealedSecret\nspec:\n  encryptedData:\n    password: AgBy3i4OJSWK+PiTySYZZA==\n", quiet: true},
		{name: "external secret", path: "es.yaml", doc: "kind: ExternalSecret\nspec:\n  data:\n    - secretKey: password\n      remoteRef: {key: db, property: password}\n"},
		{name: "sops", path: "s.yaml", doc: "kind: Secret\nstringData:\n  k: ENC[AES256_GCM,data:abc=,type:str]\nsops:\n  mac: ENC[AES256_GCM,data:x]\n", quiet: true},
		{name: "kubeconfig", path: "kubeconfig", doc: `apiVersion: v1
kind: Config
clusters: []
users:
  - name: a
    user:
      token: q8Vd2LmZ0xR7tNw4Kp9s
      client-key: /etc/key.pem
  - name: b
    user:
      auth-provider:
        config:
          refresh-token: r8Vd2LmZ0xR7tNw4Kp9s
`, want: []string{"kubeconfig-credential@7:token", "kubeconfig-credential@13:refresh-token"}},
		{name: "kustomize", path: "kustomization.yaml", doc: `secretGenerator:
  - name: app
    literals:
      - API_KEY=q8Vd2LmZ0xR7tNw4Kp9s
      - EMPTY=
`, want: []string{"kustomize-secret-literal@4:API_KEY"}},
		{name: "unparseable template falls back", path: "t.yaml", doc: `kind: Secret
data:
  {{- if .Values.a }}
  a: cTh2ZDJMbVoweFI3dE53NEtwOXM=
  {{ else }}
  b: [unclosed
`, want: []string{"kubernetes-secret@4:a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if (len(tt.want) > 0 || tt.quiet) && !Relevant([]byte(tt.doc)) {
				t.Fatalf("Relevant = false")
			}
			res := Analyze([]byte(tt.doc), tt.path)
			var got []string
			for _, f := range res.Findings {
				got = append(got, fmt.Sprintf("%s@%d:%s", f.Rule, f.Line, f.Key))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("findings %v, want %v", got, tt.want)
			}
			if (len(res.Quiet) > 0) != tt.quiet {
				t.Errorf("quiet %v, want %v", res.Quiet, tt.quiet)
			}
		})
	}
}
