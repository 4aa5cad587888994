package template

import (
	"strings"
	"testing"
)

func TestRender(t *testing.T) {
	data := map[string]string{"user": "admin", "pass": "hunter2", "json": `{"a":[1,2]}`, "n": "7"}
	tests := []struct {
		tmpl, want string
	}{
		{`{{ .user }}:{{ .pass }}`, "admin:hunter2"},
		{`postgres://{{ .user }}:{{ .pass | urlquery }}@db/app`, "postgres://admin:hunter2@db/app"},
		{`{{ .user | upper }} {{ "X" | lower }} {{ title "hello world" }}`, "ADMIN x Hello World"},
		{`{{ .pass | b64enc }} {{ "aHVudGVyMg==" | b64dec }}`, "aHVudGVyMg== hunter2"},
		{`{{ .pass | b32enc | b32dec }}`, "hunter2"},
		{`{{ .pass | sha256sum | trunc 8 }}`, "f52fbd32"},
		{`{{ .pass | sha1sum | trunc 4 }} {{ .pass | sha512sum | len }}`, "f3bb 128"},
		{`{{ .missing | default "dflt" }}|{{ default "d" .user }}`, "dflt|admin"},
		{`{{ .missing }}`, "<no value>"},
		{`{{ trim "  x  " }}{{ trimAll "-" "--y--" }}{{ trimPrefix "a" "ab" }}{{ trimSuffix "b" "ab" }}`, "xyba"},
		{`{{ replace "h" "H" .pass }} {{ contains "unt" .pass }} {{ hasPrefix "hu" .pass }} {{ hasSuffix "2" .pass }}`, "Hunter2 true true true"},
		{`{{ quote .user }} {{ squote .user }} {{ cat "a" "b" }} {{ repeat 3 "z" }} {{ nospace " a b " }}`, `"admin" 'admin' a b zzz ab`},
		{`{{ indent 2 "a\nb" }}|{{ nindent 2 "c" }}`, "  a\n  b|\n  c"},
		{`{{ substr 1 3 "hello" }} {{ trunc -2 "hello" }} {{ substr 3 99 "hello" }}`, "el lo lo"},
		{`{{ list "b" "a" | sortAlpha | join "," }} {{ splitList ":" "a:b" | last }} {{ list 1 2 | first }}`, "a,b b 1"},
		{`{{ (fromJson .json).a | toJson }} {{ dict "k" "v" | toJson }}`, `[1,2] {"k":"v"}`},
		{`{{ toPrettyJson (list 1) }}`, "[\n  1\n]"},
		{`{{ regexMatch "^h" .pass }} {{ regexFind "[0-9]+" .pass }} {{ regexReplaceAll "[0-9]" .pass "#" }}`, "true 2 hunter#"},
		{`{{ coalesce "" .user }} {{ ternary "y" "n" true }} {{ empty "" }} {{ empty .user }}`, "admin y true false"},
		{`{{ add 1 .n }} {{ sub 10 3 }} {{ mul 2 3 }} {{ div 7 2 }} {{ mod 7 2 }} {{ atoi .n | int64 }} {{ int "5" }}`, "8 7 6 3 1 7 5"},
		{`{{ has 2 (list 1 2) }} {{ list 1 1 2 | uniq | len }} {{ keys (dict "b" 1 "a" 2) | join "" }}`, "true 2 ab"},
		{`{{ $d := dict "a" 1 }}{{ $_ := set $d "b" 2 }}{{ hasKey $d "b" }} {{ get $d "a" }} {{ get $d "z" }}`, "true 1 "},
		{`{{ toString 5 }} {{ toStrings (list 1 "a") | join "+" }}`, "5 1+a"},
	}
	for _, tt := range tests {
		got, err := Render("t", tt.tmpl, data)
		if err != nil {
			t.Errorf("%s: %v", tt.tmpl, err)
			continue
		}
		if string(got) != tt.want {
			t.Errorf("%s = %q, want %q", tt.tmpl, got, tt.want)
		}
	}
}

func TestRenderErrorsDoNotLeak(t *testing.T) {
	data := map[string]string{"pass": "planted-secret-value"}
	for _, tmpl := range []string{
		`{{ .pass | b64dec }}`,
		`{{ .pass | b32dec }}`,
		`{{ .pass | fromJson }}`,
		`{{ div 1 0 }}`,
		`{{ .pass.x }}`,
		`{{ .pass `,
		`{{ nosuchfunc .pass }}`,
	} {
		_, err := Render("item", tmpl, data)
		if err == nil {
			t.Errorf("%s: no error", tmpl)
			continue
		}
		if strings.Contains(err.Error(), "planted-secret-value") {
			t.Errorf("%s: error leaks the value: %v", tmpl, err)
		}
		if !strings.HasPrefix(err.Error(), `template "item": `) {
			t.Errorf("%s: error does not name the item: %v", tmpl, err)
		}
	}
}

func TestNoEnvironmentAccess(t *testing.T) {
	for _, f := range []string{"env", "expandenv", "getHostByName", "now", "randAlphaNum"} {
		if _, ok := FuncMap()[f]; ok {
			t.Errorf("%s must not be available", f)
		}
	}
}

func TestMissingKeyError(t *testing.T) {
	data := map[string]string{"user": "admin"}
	if _, err := Render("t", `{{ .nope }}`, data, MissingKeyError()); err == nil || err.Error() != `template "t": 1:3: missing key` {
		t.Fatalf("missing key with MissingKeyError: err = %v", err)
	}
	got, err := Render("t", `{{ .user }}`, data, MissingKeyError())
	if err != nil || string(got) != "admin" {
		t.Fatalf("present key: %q, %v", got, err)
	}
}
