package secretwrite

import (
	"errors"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestWrapKeepsValuesOut(t *testing.T) {
	const canary = "Cn4ry-s3cret"
	secrets := schema.GroupKind{Kind: "Secret"}
	tests := []struct {
		name    string
		err     error
		want    string
		invalid bool
	}{
		{"invalid value", apierrors.NewInvalid(secrets, "db", field.ErrorList{
			field.Invalid(field.NewPath("data").Key(".dockerconfigjson"), canary, "invalid character 'C' looking for "+canary)}),
			`creating Secret ns/db: the API server rejected it: data[.dockerconfigjson]: FieldValueInvalid`, true},
		{"immutable", apierrors.NewInvalid(secrets, "db", field.ErrorList{
			field.Forbidden(field.NewPath("data"), "field is immutable when `immutable` is set")}),
			"creating Secret ns/db: the API server rejected it: data: Forbidden: field is immutable when `immutable` is set", true},
		{"not supported", apierrors.NewInvalid(secrets, "db", field.ErrorList{
			field.NotSupported(field.NewPath("type"), canary, []string{"Opaque"})}),
			"type: FieldValueNotSupported", true},
		{"conflict keeps its text", apierrors.NewConflict(schema.GroupResource{Resource: "secrets"}, "db", errors.New("the object has been modified")),
			`creating Secret ns/db: Operation cannot be fulfilled on secrets "db"`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Wrap("creating", "ns/db", tt.err)
			if strings.Contains(err.Error(), canary) || strings.Contains(err.Error(), "invalid character") {
				t.Errorf("error carries the value: %v", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to hold %q", err, tt.want)
			}
			if apierrors.IsInvalid(err) != tt.invalid || !errors.Is(err, tt.err) {
				t.Errorf("the API error is no longer reachable: %v", err)
			}
		})
	}
}
