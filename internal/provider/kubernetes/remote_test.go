package kubernetes

import (
	"context"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	fakeclient "sigs.k8s.io/controller-runtime/pkg/client/fake"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/provider"
	"github.com/keyward/keyward/test/providertest"
)

type kube struct{ client.Reader }

func (kube) ServiceAccountToken(context.Context, types.NamespacedName, []string, time.Duration) (string, time.Time, error) {
	return "", time.Time{}, errors.New("not used")
}

// server.url may name any server: what it answers must not reach an
// error, only the status.
func TestRemoteReplyBodiesStayOut(t *testing.T) {
	const canary = "Cn4ry-r3ply-b0dy"
	status := func(code int) string {
		return fmt.Sprintf(`{"kind":"Status","apiVersion":"v1","status":"Failure","message":"secrets is forbidden: %s","reason":"Forbidden","code":%d}`, canary, code)
	}
	tests := []struct {
		name     string
		code     int
		body     string
		trustCA  bool
		validate bool
		want     string
		kind     error
	}{
		{"403 Status", 403, status(403), true, false, "the server answered 403 Forbidden", provider.ErrDenied},
		{"500 raw page", 500, "<html>" + canary + "</html>", true, false, "the server answered 500 Internal Server Error", nil},
		{"404 Status", 404, status(404), true, false, "", provider.ErrNotFound},
		{"validate 401", 401, status(401), true, true, "the server answered 401 Unauthorized", provider.ErrDenied},
		{"unknown CA", 200, "{}", false, false, "the server's TLS certificate was not accepted", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.code)
				fmt.Fprint(w, tt.body)
			}))
			defer srv.Close()
			spec := &esv1.KubernetesProvider{
				Server: esv1.KubernetesServer{URL: srv.URL},
				Auth:   &esv1.KubernetesAuth{Token: &esv1.TokenAuth{BearerToken: esv1.SecretKeySelector{Name: "tok", Key: "token"}}},
			}
			if tt.trustCA {
				ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
				spec.Server.CABundle = base64.StdEncoding.EncodeToString(ca)
			}
			st := &esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "remote"},
				Spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{Kubernetes: spec}}}
			k := kube{fakeclient.NewClientBuilder().WithObjects(&corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "tok"}, Data: map[string][]byte{"token": []byte("t")}}).Build()}
			c, err := New(nil).NewClient(context.Background(), st, k, "app")
			if err != nil {
				t.Fatal(err)
			}
			if tt.validate {
				err = c.Validate(context.Background())
			} else {
				_, err = c.Read(context.Background(), "db", "")
			}
			providertest.CheckRemoteError(t, err, providertest.RemoteError{Reply: []string{canary}, Holds: []string{tt.want}, Kind: tt.kind})
		})
	}
}
