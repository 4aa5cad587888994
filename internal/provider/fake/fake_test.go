package fake

import (
	"context"
	"errors"
	"testing"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/provider"
)

func TestReadVersionsFindAndWrite(t *testing.T) {
	ctx := context.Background()
	store := &esv1.ClusterSecretStore{Spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{Fake: &esv1.FakeProvider{
		Data: []esv1.FakeProviderData{
			{Key: "/foo/bar", Value: "HELLO1", Version: "v1"},
			{Key: "/foo/bar", Value: "HELLO2", Version: "v2"},
			{Key: "/foo/baz", Value: `{"john":"doe"}`, Version: "v1"},
		},
	}}}}
	c, err := New().NewClient(ctx, store, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	reads := []struct {
		key, version, want string
		err                error
	}{
		{"/foo/bar", "v1", "HELLO1", nil},
		{"/foo/bar", "v2", "HELLO2", nil},
		{"/foo/bar", "", "HELLO2", nil},
		{"/foo/bar", "v3", "", provider.ErrNotFound},
		{"/nope", "", "", provider.ErrNotFound},
	}
	for _, r := range reads {
		got, err := c.Read(ctx, r.key, r.version)
		if !errors.Is(err, r.err) || string(got.Value) != r.want {
			t.Errorf("Read(%s, %s) = %q, %v; want %q, %v", r.key, r.version, got.Value, err, r.want, r.err)
		}
	}
	found, err := c.Find(ctx, esv1.ExternalSecretFind{Name: &esv1.FindName{RegExp: "baz$"}})
	if err != nil || len(found) != 1 || string(found["/foo/baz"].Value) != `{"john":"doe"}` {
		t.Fatalf("Find = %v, %v", found, err)
	}
	w := c.(provider.Writer)
	if err := w.Write(ctx, "pushed", "token", []byte("t1")); err != nil {
		t.Fatal(err)
	}
	got, err := c.Read(ctx, "pushed", "")
	if err != nil || string(got.Value) != `{"token":"t1"}` {
		t.Fatalf("after Write: %q, %v", got.Value, err)
	}
	if err := w.Delete(ctx, "pushed", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(ctx, "pushed", ""); !errors.Is(err, provider.ErrNotFound) {
		t.Fatalf("after Delete: %v", err)
	}
}

func TestValidationResult(t *testing.T) {
	for _, tt := range []struct {
		result string
		want   error
		fails  bool
	}{{"", nil, false}, {"Ready", nil, false}, {"Unknown", provider.ErrValidationUnknown, true}, {"Error", nil, true}} {
		r := tt.result
		store := &esv1.SecretStore{Spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{Fake: &esv1.FakeProvider{ValidationResult: &r}}}}
		c, _ := New().NewClient(context.Background(), store, nil, "")
		err := c.Validate(context.Background())
		if (err != nil) != tt.fails || (tt.want != nil && !errors.Is(err, tt.want)) {
			t.Errorf("validationResult %q: %v", tt.result, err)
		}
	}
}
