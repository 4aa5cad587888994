package provider

import (
	"errors"
	"strings"
	"testing"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
)

// named is a Provider that is only a name in a served map.
type named struct{ Provider }

func TestConfiguredNamesTheProblem(t *testing.T) {
	served := map[string]Provider{"fake": named{}, "kubernetes": named{}}
	tests := []struct {
		provider *esv1.SecretStoreProvider
		want     string
	}{
		{&esv1.SecretStoreProvider{}, "spec.provider: no provider is configured"},
		{&esv1.SecretStoreProvider{Fake: &esv1.FakeProvider{}, Vault: &esv1.VaultProvider{}}, "exactly one provider must be configured, found fake, vault"},
		{&esv1.SecretStoreProvider{AWS: &esv1.AWSProvider{}}, "spec.provider.aws: this provider is not supported by this controller (served: fake, kubernetes)"},
		{&esv1.SecretStoreProvider{Unsupported: []string{"doppler"}}, "spec.provider.doppler: this provider is not supported"},
		{&esv1.SecretStoreProvider{Fake: &esv1.FakeProvider{}}, ""},
	}
	for _, tt := range tests {
		_, err := Configured(&esv1.SecretStoreSpec{Provider: tt.provider}, served)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%v: unexpected %v", tt.provider.Names(), err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%v: err = %v, want %q", tt.provider.Names(), err, tt.want)
		}
	}
}

func TestSecretPropertyAndMap(t *testing.T) {
	structured := Secret{Data: map[string][]byte{"user": []byte("app"), "db-uri": []byte("postgres://x")}}
	doc := Secret{Value: []byte(`{"db-uri":"postgres://y","nested":{"a":[1,{"b":"c"}]},"n":7,"a.b":"dotted"}`)}
	tests := []struct {
		s        Secret
		property string
		want     string
		err      error
	}{
		{structured, "db-uri", "postgres://x", nil},
		{structured, "", `{"db-uri":"postgres://x","user":"app"}`, nil},
		{structured, "nope", "", ErrNotFound},
		{doc, "db-uri", "postgres://y", nil},
		{doc, "nested.a.1.b", "c", nil},
		{doc, "nested.a", `[1,{"b":"c"}]`, nil},
		{doc, "n", "7", nil},
		{doc, "a.b", "dotted", nil},
		{doc, "nested.x", "", ErrNotFound},
		{Secret{Value: []byte("plain")}, "", "plain", nil},
	}
	for _, tt := range tests {
		got, err := tt.s.Property(tt.property)
		if !errors.Is(err, tt.err) || (tt.err == nil && string(got) != tt.want) {
			t.Errorf("Property(%q) = %q, %v; want %q, %v", tt.property, got, err, tt.want, tt.err)
		}
	}
	m, err := doc.Map()
	if err != nil || string(m["db-uri"]) != "postgres://y" || string(m["n"]) != "7" || string(m["nested"]) != `{"a":[1,{"b":"c"}]}` {
		t.Errorf("Map() = %q, %v", m, err)
	}
	if _, err := (Secret{Value: []byte("plain")}).Map(); err == nil || strings.Contains(err.Error(), "plain") {
		t.Errorf("Map of a non-object: err = %v, want an error that does not quote the value", err)
	}
}
