package rewrite

import (
	"maps"
	"slices"
	"strings"
	"testing"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/specerr"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		strategy esv1.ExternalSecretDecodingStrategy
		in, want string
		fails    bool
	}{
		{"", "plain", "plain", false},
		{esv1.DecodingStrategyNone, "aGk=", "aGk=", false},
		{esv1.DecodingStrategyBase64, "aGk=", "hi", false},
		{esv1.DecodingStrategyBase64, "s3cr3t!", "", true},
		{esv1.DecodingStrategyBase64URL, "Pz8_", "???", false},
		{esv1.DecodingStrategyAuto, "aGk=", "hi", false},
		{esv1.DecodingStrategyAuto, "Pz8_", "???", false},
		{esv1.DecodingStrategyAuto, "not base64!", "not base64!", false},
	}
	for _, tt := range tests {
		got, err := Decode(tt.strategy, []byte(tt.in))
		if (err != nil) != tt.fails || string(got) != tt.want {
			t.Errorf("Decode(%s, %q) = %q, %v", tt.strategy, tt.in, got, err)
		}
		if err != nil && strings.Contains(err.Error(), tt.in) {
			t.Errorf("Decode error quotes the value: %v", err)
		}
	}
}

func TestApply(t *testing.T) {
	in := map[string][]byte{"db-user": []byte("u"), "db-pass": []byte("p"), "other": []byte("o")}
	tests := []struct {
		name  string
		rules []esv1.ExternalSecretRewrite
		want  []string
	}{
		{"regexp", []esv1.ExternalSecretRewrite{{Regexp: &esv1.ExternalSecretRewriteRegexp{Source: "^db-", Target: ""}}}, []string{"other", "pass", "user"}},
		{"chained", []esv1.ExternalSecretRewrite{
			{Regexp: &esv1.ExternalSecretRewriteRegexp{Source: "^db-", Target: ""}},
			{Transform: &esv1.ExternalSecretRewriteTransform{Template: `APP_{{ .value | upper }}`}},
		}, []string{"APP_OTHER", "APP_PASS", "APP_USER"}},
	}
	for _, tt := range tests {
		out, err := Apply(in, tt.rules, "spec.dataFrom[0]")
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		keys := slices.Sorted(maps.Keys(out))
		if strings.Join(keys, ",") != strings.Join(tt.want, ",") {
			t.Errorf("%s: keys %v, want %v", tt.name, keys, tt.want)
		}
	}
}

// A rule that cannot work is a spec error; a value that does not fit the
// rule is not, since the store may change.
func TestApplyMarksSpecErrors(t *testing.T) {
	in := map[string][]byte{"k": []byte("v")}
	tests := []struct {
		name string
		rule esv1.ExternalSecretRewrite
		want string
		spec bool
	}{
		{"bad regexp", esv1.ExternalSecretRewrite{Regexp: &esv1.ExternalSecretRewriteRegexp{Source: "("}}, "f.rewrite[0].regexp.source: error parsing regexp", true},
		{"bad transform", esv1.ExternalSecretRewrite{Transform: &esv1.ExternalSecretRewriteTransform{Template: "{{ .nope }}"}}, `template "f.rewrite[0].transform"`, true},
		{"merge into missing", esv1.ExternalSecretRewrite{Merge: &esv1.ExternalSecretRewriteMerge{Strategy: "JSON"}}, "f.rewrite[0].merge: the value of key \"k\" is not a JSON object", false},
	}
	for _, tt := range tests {
		_, err := Apply(in, []esv1.ExternalSecretRewrite{tt.rule}, "f")
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want it to hold %q", tt.name, err, tt.want)
			continue
		}
		if specerr.Is(err) != tt.spec {
			t.Errorf("%s: spec error = %v, want %v", tt.name, specerr.Is(err), tt.spec)
		}
	}
	_, err := Apply(map[string][]byte{"k": []byte(`{"a":"1"}`)}, []esv1.ExternalSecretRewrite{{Merge: &esv1.ExternalSecretRewriteMerge{Strategy: "JSON"}}}, "f")
	if err == nil || !specerr.Is(err) || !strings.Contains(err.Error(), "f.rewrite[0].merge.into: required") {
		t.Errorf("merge without into: %v", err)
	}
}

func TestMerge(t *testing.T) {
	in := map[string][]byte{"a": []byte(`{"x":"1","y":"a"}`), "b": []byte(`{"y":"b","z":{"n":1}}`)}
	out, err := merge(in, esv1.ExternalSecretRewriteMerge{Priority: []string{"a"}}, "f")
	if err != nil {
		t.Fatal(err)
	}
	if string(out["y"]) != "a" || string(out["x"]) != "1" || string(out["z"]) != `{"n":1}` {
		t.Errorf("merge with priority a: %q", out)
	}
	if _, err := merge(in, esv1.ExternalSecretRewriteMerge{ConflictPolicy: "Error"}, "f"); err == nil {
		t.Error("conflict not reported with conflictPolicy Error")
	}
	out, err = merge(in, esv1.ExternalSecretRewriteMerge{Strategy: "JSON", Into: "all"}, "f")
	if err != nil || len(out) != 1 || !strings.Contains(string(out["all"]), `"x":"1"`) {
		t.Errorf("merge into one key: %q, %v", out, err)
	}
}

func TestUnicodeKey(t *testing.T) {
	if got := UnicodeKey("a/b é.c"); got != "a_U002f_b_U0020__U00e9_.c" {
		t.Errorf("UnicodeKey = %q", got)
	}
}
