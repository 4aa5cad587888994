package gcp

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"google.golang.org/grpc/codes"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	fakeclient "sigs.k8s.io/controller-runtime/pkg/client/fake"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/provider"
	"github.com/keyward/keyward/test/providertest"
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
			providertest.CheckRemoteError(t, err, providertest.RemoteError{
				Reply: []string{canary}, Holds: []string{tt.want}, Prefix: "gcp: AccessSecretVersion ", Kind: tt.kind,
			})
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
			providertest.CheckRemoteError(t, err, providertest.RemoteError{
				Reply: []string{canary, "invalid_grant"},
				Holds: []string{fmt.Sprintf("the server answered %d %s", code, http.StatusText(code))},
			})
		})
	}
}
