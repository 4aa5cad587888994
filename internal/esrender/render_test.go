package esrender

import (
	"context"
	"maps"
	"strings"
	"testing"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
)

func TestRenderPrecedence(t *testing.T) {
	values := map[string][]byte{"user": []byte("app"), "password": []byte("pw")}
	lit := "from-literal: '{{ .user }}'"
	tests := []struct {
		name      string
		tmpl      *esv1.ExternalSecretTemplate
		wantData  map[string]string
		wantLabel map[string]string
	}{
		{"no template keeps the values", nil, map[string]string{"user": "app", "password": "pw"}, map[string]string{}},
		{"data templates replace", &esv1.ExternalSecretTemplate{Data: map[string]string{"dsn": "{{ .user }}:{{ .password }}"}},
			map[string]string{"dsn": "app:pw"}, map[string]string{}},
		{"merge keeps fetched data", &esv1.ExternalSecretTemplate{MergePolicy: esv1.MergePolicyMerge, Data: map[string]string{"user": "{{ .user | upper }}"}},
			map[string]string{"user": "APP", "password": "pw"}, map[string]string{}},
		{"metadata only keeps fetched data", &esv1.ExternalSecretTemplate{Metadata: esv1.ExternalSecretTemplateMetadata{Labels: map[string]string{"u": "{{ .user }}"}}},
			map[string]string{"user": "app", "password": "pw"}, map[string]string{"u": "app"}},
		{"data wins over templateFrom", &esv1.ExternalSecretTemplate{
			TemplateFrom: []esv1.TemplateFrom{{Literal: &lit}},
			Data:         map[string]string{"from-literal": "data"},
		}, map[string]string{"from-literal": "data"}, map[string]string{}},
	}
	for _, tt := range tests {
		got, err := Render(context.Background(), nil, "ns", "spec.target.template", tt.tmpl, values)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		gotData := map[string]string{}
		for k, v := range got.Data {
			gotData[k] = string(v)
		}
		if !maps.Equal(gotData, tt.wantData) || !maps.Equal(got.Labels, tt.wantLabel) {
			t.Errorf("%s: data %v labels %v; want %v %v", tt.name, gotData, got.Labels, tt.wantData, tt.wantLabel)
		}
	}
	if _, err := Render(context.Background(), nil, "ns", "spec.target.template", &esv1.ExternalSecretTemplate{Data: map[string]string{"x": "{{ .nope }}"}}, values); err == nil {
		t.Error("missing key in a template rendered without error")
	}
}

// Errors name the template where its object keeps it, so a PushSecret's
// user is pointed at spec.template, not at an ExternalSecret's field.
func TestRenderNamesTheCallersField(t *testing.T) {
	tmpl := &esv1.ExternalSecretTemplate{
		Data:         map[string]string{"x": "{{ .nope }}"},
		TemplateFrom: []esv1.TemplateFrom{{Target: "Elsewhere", Literal: ptr("k: v")}},
	}
	for _, field := range []string{"spec.template", "spec.target.template"} {
		_, err := Render(context.Background(), nil, "ns", field, tmpl, nil)
		if err == nil || !strings.HasPrefix(err.Error(), field+".templateFrom[0].target:") {
			t.Errorf("field %s: err = %v, want one naming %s.templateFrom[0].target", field, err, field)
		}
		tmpl2 := &esv1.ExternalSecretTemplate{Data: map[string]string{"x": "{{ .nope }}"}}
		_, err = Render(context.Background(), nil, "ns", field, tmpl2, nil)
		if err == nil || !strings.Contains(err.Error(), `template "`+field+`.data[x]"`) {
			t.Errorf("field %s: err = %v, want one naming %s.data[x]", field, err, field)
		}
	}
}
