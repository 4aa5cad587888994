package gcp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	fakeclient "sigs.k8s.io/controller-runtime/pkg/client/fake"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/provider"
)

const canary = "Cn4ry-r3ply-b0dy"

// A status message can echo anything: only the gRPC code is told.
func TestRemoteMessagesStayOut(t *testing.T) {
	tests := []struct {
		code codes.Code
		want string
		kind error
	}{
		{codes.PermissionDenied, "the server answered PermissionDenied", provider.ErrDenied},
		{codes.Internal, "the server answered Internal", nil},
		{codes.NotFound, "the server answered NotFound", provider.ErrNotFound},
		{codes.FailedPrecondition, "the server answered FailedPrecondition", errVersionDisabled},
	}
	for _, tt := range tests {
		t.Run(tt.code.String(), func(t *testing.T) {
			e := newEnv(t)
			e.fake.Put(project, "db", []byte("v"), nil)
			c := e.client(t, &esv1.GCPSMProvider{Auth: keyAuth})
			e.fake.Fail("AccessSecretVersion", 1, tt.code, "message "+canary)
			_, err := c.Read(context.Background(), "db", "")
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), canary) {
				t.Errorf("error carries the reply: %v", err)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "gcp: AccessSecretVersion ") {
				t.Errorf("error = %v, want it to hold %q", err, tt.want)
			}
			if tt.kind != nil && !errors.Is(err, tt.kind) {
				t.Errorf("errors.Is(%v) does not hold for %v", tt.kind, err)
			}
		})
	}
}

// The token endpoint is named by the key JSON the store's author supplies:
// its reply body stays out of Validate's error.
func TestTokenEndpointReplyStaysOut(t *testing.T) {
	for _, code := range []int{400, 403, 500} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(code)
				fmt.Fprintf(w, `{"error":"invalid_grant","error_description":%q}`, canary)
			}))
			defer srv.Close()
			e := newEnv(t)
			e.kube = &kube{Reader: fakeclient.NewClientBuilder().WithObjects(&corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "gcp-key"},
				Data:       map[string][]byte{"key.json": saKey(t, srv.URL+"/token")}}).Build()}
			c := e.client(t, &esv1.GCPSMProvider{Auth: keyAuth})
			err := c.Validate(context.Background())
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), canary) || strings.Contains(err.Error(), "invalid_grant") {
				t.Errorf("error carries the reply: %v", err)
			}
			if want := fmt.Sprintf("the server answered %d %s", code, http.StatusText(code)); !strings.Contains(err.Error(), want) {
				t.Errorf("error = %v, want it to hold %q", err, want)
			}
		})
	}
}
