package gcpfake

import (
	"context"
	"testing"

	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestPublishedShapes checks the stand-in refuses what the service refuses
// (per the RPC reference) and answers with the documented codes.
func TestPublishedShapes(t *testing.T) {
	s, err := Start(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	ctx := context.Background()
	s.Put("p", "ok", []byte("v"), nil)
	for _, tc := range []struct {
		name string
		call func() error
		want codes.Code
	}{
		{"version name without versions/", func() error {
			_, err := s.AccessSecretVersion(ctx, &secretmanagerpb.AccessSecretVersionRequest{Name: "projects/p/secrets/ok"})
			return err
		}, codes.InvalidArgument},
		{"secret id with a slash", func() error {
			_, err := s.CreateSecret(ctx, &secretmanagerpb.CreateSecretRequest{Parent: "projects/p", SecretId: "a/b",
				Secret: &secretmanagerpb.Secret{Replication: &secretmanagerpb.Replication{}}})
			return err
		}, codes.InvalidArgument},
		{"global secret without replication", func() error {
			_, err := s.CreateSecret(ctx, &secretmanagerpb.CreateSecretRequest{Parent: "projects/p", SecretId: "new", Secret: &secretmanagerpb.Secret{}})
			return err
		}, codes.InvalidArgument},
		{"upper-case label", func() error {
			_, err := s.CreateSecret(ctx, &secretmanagerpb.CreateSecretRequest{Parent: "projects/p", SecretId: "new",
				Secret: &secretmanagerpb.Secret{Replication: &secretmanagerpb.Replication{}, Labels: map[string]string{"Team": "x"}}})
			return err
		}, codes.InvalidArgument},
		{"existing secret", func() error {
			_, err := s.CreateSecret(ctx, &secretmanagerpb.CreateSecretRequest{Parent: "projects/p", SecretId: "ok",
				Secret: &secretmanagerpb.Secret{Replication: &secretmanagerpb.Replication{}}})
			return err
		}, codes.AlreadyExists},
		{"page size over 25000", func() error {
			_, err := s.ListSecrets(ctx, &secretmanagerpb.ListSecretsRequest{Parent: "projects/p", PageSize: 25001})
			return err
		}, codes.InvalidArgument},
		{"missing secret", func() error {
			_, err := s.AccessSecretVersion(ctx, &secretmanagerpb.AccessSecretVersionRequest{Name: "projects/p/secrets/none/versions/latest"})
			return err
		}, codes.NotFound},
		{"existing secret, latest", func() error {
			_, err := s.AccessSecretVersion(ctx, &secretmanagerpb.AccessSecretVersionRequest{Name: "projects/p/secrets/ok/versions/latest"})
			return err
		}, codes.OK},
	} {
		if got := status.Code(tc.call()); got != tc.want {
			t.Errorf("%s: code %s, want %s", tc.name, got, tc.want)
		}
	}
}
