package tostore

import (
	"encoding/json"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/keyward/keyward/internal/provider"
)

func secret(data map[string]string) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "production", Name: "backend-secrets"}, Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

func TestParsePath(t *testing.T) {
	for _, tc := range []struct {
		name, path string
		perKey     bool
		wantErr    string
	}{
		{name: "one remote secret per Secret", path: "aura/{{.Namespace}}/{{.Name}}"},
		{name: "one per key", path: "aura/{{.Namespace}}/{{.Name}}/{{.Key}}", perKey: true},
		{name: "empty", path: " ", wantErr: "no template"},
		{name: "bad syntax", path: "aura/{{.Name", wantErr: "--path"},
		{name: "unknown field", path: "aura/{{.Nope}}", wantErr: "Nope"},
		{name: "spaces", path: "aura/ {{.Name}} ", wantErr: "empty or has spaces"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParsePath(tc.path)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.PerKey() != tc.perKey {
				t.Errorf("PerKey = %v, want %v", p.PerKey(), tc.perKey)
			}
		})
	}
}

func TestLayout(t *testing.T) {
	whole, _ := ParsePath("aura/{{.Namespace}}/{{.Name}}")
	perKey, _ := ParsePath("aura/{{.Namespace}}/{{.Key}}")
	s := secret(map[string]string{"postgres-db-uri": "postgres://u:PLANTED@db/aura", "api-key": "k"})
	rs, err := layout(whole, s)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || rs[0].Path != "aura/production/backend-secrets" || !rs[0].Whole || strings.Join(rs[0].Keys(), ",") != "api-key,postgres-db-uri" {
		t.Fatalf("whole layout = %+v", rs)
	}
	v, err := rs[0].wholeValue()
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]string
	if err := json.Unmarshal(v, &back); err != nil || back["postgres-db-uri"] != "postgres://u:PLANTED@db/aura" {
		t.Fatalf("whole value does not round-trip: %v", err)
	}
	rs, err = layout(perKey, s)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].Path != "aura/production/api-key" || rs[1].Path != "aura/production/postgres-db-uri" || rs[1].Whole {
		t.Fatalf("per-key layout = %+v", rs)
	}
	bin := secret(nil)
	bin.Data["cert.der"] = []byte{0xff, 0xfe, 0x00}
	if _, err := layout(whole, bin); err == nil || !strings.Contains(err.Error(), "data[cert.der] is not UTF-8") {
		t.Errorf("binary value: err = %v", err)
	}
	if _, err := layout(whole, secret(nil)); err == nil || !strings.Contains(err.Error(), "no data") {
		t.Errorf("empty Secret: err = %v", err)
	}
}

func TestCompare(t *testing.T) {
	want := remote{Path: "p", Props: map[string][]byte{"a": []byte("1"), "b": []byte("2")}, Whole: true}
	perKey := remote{Path: "p", Props: map[string][]byte{"a": []byte("1")}}
	for _, tc := range []struct {
		name  string
		r     remote
		have  provider.Secret
		found bool
		want  string
	}{
		{name: "absent", r: want, want: "store has no value"},
		{name: "same JSON", r: want, have: provider.Secret{Value: []byte(`{"a":"1","b":"2"}`)}, found: true},
		{name: "same Data", r: want, have: provider.Secret{Data: map[string][]byte{"a": []byte("1"), "b": []byte("2")}}, found: true},
		{name: "one differs", r: want, have: provider.Secret{Value: []byte(`{"a":"1","b":"3"}`)}, found: true, want: "store value differs (keys b)"},
		{name: "one missing, one extra", r: want, have: provider.Secret{Value: []byte(`{"a":"1","c":"3"}`)}, found: true, want: "store value differs (keys b; other keys c)"},
		{name: "extra only", r: want, have: provider.Secret{Value: []byte(`{"a":"1","b":"2","c":"3"}`)}, found: true, want: "store holds other keys too (c)"},
		{name: "per key ignores others", r: perKey, have: provider.Secret{Value: []byte(`{"a":"1","c":"3"}`)}, found: true},
		{name: "not JSON", r: want, have: provider.Secret{Value: []byte(`plain`)}, found: true, want: "store value is not a JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := compare(tc.r, tc.have, tc.found)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("compare = %q, want %q", got, tc.want)
			}
		})
	}
}
