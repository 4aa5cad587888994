package esrender

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	fakeclient "sigs.k8s.io/controller-runtime/pkg/client/fake"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/specerr"
	"github.com/keyward/keyward/test/leak"
)

const canary = "Cn4ry-s3cret/v4lue+42"

func TestRenderErrorsCarryNoValue(t *testing.T) {
	// The template text kept in a Secret is itself secret: its parse errors
	// must not quote it.
	tmplSecret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "tmpl", Namespace: "ns"},
		Data: map[string][]byte{
			"parse":  []byte("{{ .password " + canary),
			"func":   []byte("{{ " + strings.NewReplacer("-", "", "/", "", "+", "").Replace(canary) + " .password }}"),
			"fail":   []byte(`{{ fail (b64enc .password) }}`),
			"kv":     []byte("a: {{ printf \"%x\" .password | fail }}"),
			"notmap": []byte(`{{ .password }}`),
		},
	}
	reader := fakeclient.NewClientBuilder().WithObjects(tmplSecret).Build()
	values := map[string][]byte{"password": []byte(canary)}
	data := func(text string) *esv1.ExternalSecretTemplate {
		return &esv1.ExternalSecretTemplate{Data: map[string]string{"out": text}}
	}
	fromSecret := func(key string, scope esv1.TemplateScope) *esv1.ExternalSecretTemplate {
		return &esv1.ExternalSecretTemplate{TemplateFrom: []esv1.TemplateFrom{{
			Secret: &esv1.TemplateRef{Name: "tmpl", Items: []esv1.TemplateRefItem{{Key: key, TemplateAs: scope}}},
		}}}
	}
	tests := []struct {
		name string
		tmpl *esv1.ExternalSecretTemplate
		want string
	}{
		{"fail b64enc", data(`{{ fail (b64enc .password) }}`), `template "spec.target.template.data[out]": 1:3: fail was called`},
		{"printf hex into fail", data(`{{ printf "%x" .password | fail }}`), `template "spec.target.template.data[out]": 1:`},
		{"upper into fail", data(`{{ .password | upper | fail }}`), `: fail was called`},
		{"sha256 into fail", data(`{{ .password | sha256sum | fail }}`), `: fail was called`},
		{"index out of range by value", data(`{{ index .password (len .password | mul 9) }}`), `1:3: calling index failed`},
		{"fromJson of the value", data(`{{ fromJson .password }}`), `1:3: calling fromJson failed`},
		{"missing key", data(`{{ .nope }}`), `1:3: missing key`},
		{"label", &esv1.ExternalSecretTemplate{Metadata: esv1.ExternalSecretTemplateMetadata{Labels: map[string]string{"l": `{{ fail .password }}`}}}, `template "spec.target.template.metadata.labels[l]": 1:3: fail was called`},
		{"templateFrom secret: parse error", fromSecret("parse", ""), `template "spec.target.template.templateFrom[0][parse]": line 1: the template text cannot be parsed`},
		{"templateFrom secret: unknown function", fromSecret("func", ""), `template "spec.target.template.templateFrom[0][func]": line 1: the template text cannot be parsed`},
		{"templateFrom secret: fail", fromSecret("fail", ""), `template "spec.target.template.templateFrom[0][fail]": 1:3: fail was called`},
		{"templateFrom secret: keysAndValues fail", fromSecret("kv", esv1.TemplateScopeKeysAndValues), `template "spec.target.template.templateFrom[0][kv]": 1:`},
		{"templateFrom secret: keysAndValues not a map", fromSecret("notmap", esv1.TemplateScopeKeysAndValues), `spec.target.template.templateFrom[0][notmap]: the rendered text is not a YAML map`},
		{"literal", &esv1.ExternalSecretTemplate{TemplateFrom: []esv1.TemplateFrom{{Literal: ptr("k: {{ fail .password }}")}}}, `template "spec.target.template.templateFrom[0].literal": 1:`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Render(context.Background(), reader, "ns", "spec.target.template", tt.tmpl, values)
			if err == nil {
				t.Fatal("no error")
			}
			leak.CheckError(t, err.Error(), canary)
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to hold %q", err, tt.want)
			}
			if _, ok := err.(specerr.Error); !ok {
				t.Errorf("a template error should not be retried until the object changes: %T", err)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// A template without templateFrom needs no reader (PushSecret passes one
// all the same); its errors carry no value either.
func TestRenderWithoutReaderErrorsCarryNoValue(t *testing.T) {
	tmpl := &esv1.ExternalSecretTemplate{Data: map[string]string{"out": `{{ .password | upper | b64enc | fail }}`}}
	_, err := Render(context.Background(), nil, "ns", "spec.target.template", tmpl, map[string][]byte{"password": []byte(canary)})
	if err == nil {
		t.Fatal("no error")
	}
	leak.CheckError(t, err.Error(), canary)
	leak.CheckError(t, err.Error(), strings.ToUpper(canary))
	if !strings.Contains(err.Error(), `template "spec.target.template.data[out]": 1:`) {
		t.Errorf("error = %v", err)
	}
}
