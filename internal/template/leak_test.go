package template

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/keyward/keyward/test/leak"
)

// canary is planted in the data; no error may carry it in any form.
const canary = "Cn4ry-s3cret/v4lue+42"

// canaryForms are the encodings a template could push into an error:
// leak's, and what template functions add (lower, sha256, a prefix).
func canaryForms(v string) []leak.Form {
	sum := sha256.Sum256([]byte(v))
	return append(leak.Forms(v),
		leak.Form{Name: "lower", Text: strings.ToLower(v)},
		leak.Form{Name: "sha256", Text: hex.EncodeToString(sum[:])},
		leak.Form{Name: "value-start", Text: v[:8]},
	)
}

// AssertNoCanary fails t when msg holds v in any of canaryForms.
func assertNoCanary(t *testing.T, msg, v string) {
	t.Helper()
	for _, f := range canaryForms(v) {
		if strings.Contains(msg, f.Text) {
			t.Errorf("error carries the value (%s): %s", f.Name, msg)
		}
	}
}

func TestErrorsCarryNoValue(t *testing.T) {
	data := map[string]any{
		"password": canary,
		"num":      "12345678901",
		"json":     `{"k":"` + canary + `"}`,
		"list":     []string{canary},
	}
	tests := []struct {
		name, tmpl string
		wantPos    string // line:col of the failing action
		wantWhat   string
	}{
		{"fail plain", `{{ fail .password }}`, "1:3", "fail was called"},
		{"fail b64enc", `{{ fail (b64enc .password) }}`, "1:3", "fail was called"},
		{"fail b64 url", `{{ .password | b64enc | replace "+" "-" | fail }}`, "1:", "fail was called"},
		{"fail hex printf", `{{ printf "%x" .password | fail }}`, "1:", "fail was called"},
		{"fail HEX printf", `{{ printf "%X" .password | fail }}`, "1:", "fail was called"},
		{"fail upper", `{{ .password | upper | fail }}`, "1:", "fail was called"},
		{"fail sha256", `{{ .password | sha256sum | fail }}`, "1:", "fail was called"},
		{"fail toJson", `{{ .password | toJson | fail }}`, "1:", "fail was called"},
		{"fail on line 2", "ok\n  {{ fail .password }}", "2:5", "fail was called"},
		{"index out of range", `{{ index .list (atoi .num) }}`, "1:3", "calling index failed"},
		{"index by value", `{{ index .list .password }}`, "1:3", "calling index failed"},
		{"index of a string", `{{ index .password 99 }}`, "1:3", "calling index failed"},
		{"slice out of range", `{{ slice .password 0 (atoi .num) }}`, "1:3", "calling slice failed"},
		{"slice reversed", `{{ slice .password 5 2 }}`, "1:3", "calling slice failed"},
		{"len of a number", `{{ len (atoi .num) }}`, "1:3", "calling len failed"},
		{"call a string", `{{ call .password }}`, "1:3", "calling call failed"},
		{"regexMatch with the value as pattern", `{{ regexMatch (printf "(%s" .password) "x" }}`, "1:3", "calling regexMatch failed"},
		{"regexFind bad pattern", `{{ regexFind (cat "[" .password) "x" }}`, "1:3", "calling regexFind failed"},
		{"regexReplaceAll bad pattern", `{{ regexReplaceAll (cat "(" .password) "x" "y" }}`, "1:3", "calling regexReplaceAll failed"},
		{"fromJson of the value", `{{ .password | fromJson }}`, "1:", "calling fromJson failed"},
		{"fromJson of hex", `{{ printf "%x" .password | fromJson }}`, "1:", "calling fromJson failed"},
		{"b64dec of the value", `{{ .password | b64dec }}`, "1:", "calling b64dec failed"},
		{"b32dec of the value", `{{ .password | upper | b32dec }}`, "1:", "calling b32dec failed"},
		{"repeat panics", `{{ repeat 9223372036854775807 .password }}`, "1:3", "calling repeat failed"},
		{"div by atoi zero", `{{ div .password 0 }}`, "1:3", "calling div failed"},
		{"missing key", `{{ .nope }}`, "1:3", "missing key"},
		{"field of a string", `{{ .password.field }}`, "1:12", "a field or key cannot be evaluated on this value"},
		{"wrong arguments", `{{ b64enc .password .password }}`, "1:3", "wrong number or type of arguments"},
		{"compare value and number", `{{ eq .password 1 }}`, "1:3", "calling eq failed"},
		{"fail in a define", `{{ define "x" }}{{ fail . }}{{ end }}{{ template "x" .password }}`, "1:", "fail was called"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Render("spec.data[db]", tt.tmpl, data, MissingKeyError())
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			assertNoCanary(t, msg, canary)
			assertNoCanary(t, msg, data["num"].(string))
			if !strings.HasPrefix(msg, `template "spec.data[db]": `+tt.wantPos) {
				t.Errorf("error does not name the template and position %s: %s", tt.wantPos, msg)
			}
			if !strings.HasSuffix(msg, ": "+tt.wantWhat) {
				t.Errorf("error = %s, want the description %q", msg, tt.wantWhat)
			}
			var te *Error
			if !errors.As(err, &te) || te.Line == 0 {
				t.Errorf("error is not a *Error with a line: %#v", err)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, tmpl string
		secret     bool
		want       string
	}{
		{"reason kept", "a\n{{ .x ", false, `template "t": line 2: cannot be parsed: unclosed action`},
		{"unknown function", `{{ nosuch .x }}`, false, `template "t": line 1: cannot be parsed: function "nosuch" not defined`},
		{"secret text: position only", "a\n{{ .x " + canary, true, `template "t": line 2: the template text cannot be parsed`},
		{"secret text, unknown function", `{{ ` + strings.ReplaceAll(canary, "-", "") + ` }}`, true, `template "t": line 1: the template text cannot be parsed`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := []Option{MissingKeyError()}
			if tt.secret {
				opts = append(opts, SecretText())
			}
			_, err := Render("t", tt.tmpl, nil, opts...)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("error = %v, want %s", err, tt.want)
			}
			if tt.secret {
				assertNoCanary(t, err.Error(), canary)
			}
		})
	}
}

func TestBuiltinReplacements(t *testing.T) {
	data := map[string]any{"s": "hello", "l": []string{"a", "b", "c"}, "m": map[string]string{"k": "v"}, "n": map[int]string{2: "two"}}
	tests := []struct{ tmpl, want string }{
		{`{{ index .l 1 }} {{ index .m "k" }} {{ index .m "z" }}|{{ index .s 1 }} {{ index .n 2 }} {{ index . "l" 2 }}`, "b v |101 two c"},
		{`{{ slice .s 1 3 }} {{ slice .s 2 }} {{ slice .l 1 | len }} {{ slice .l 0 1 2 | len }} {{ slice .s }}`, "el llo 2 1 hello"},
		{`{{ len .s }} {{ len .l }} {{ len .m }}`, "5 3 1"},
		{`{{ printf "%s-%d" .s 3 }} {{ print 1 2 }} {{ .s | urlquery }} {{ and 1 0 }} {{ or 0 2 }}`, "hello-3 1 2 hello 0 2"},
	}
	for _, tt := range tests {
		got, err := Render("t", tt.tmpl, data)
		if err != nil || string(got) != tt.want {
			t.Errorf("%s = %q, %v; want %q", tt.tmpl, got, err, tt.want)
		}
	}
}
