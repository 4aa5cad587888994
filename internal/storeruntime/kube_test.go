package storeruntime

import (
	"context"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func TestTokenRequestsAreShortLivedAndScoped(t *testing.T) {
	tests := []struct {
		name      string
		asked     time.Duration
		audiences []string
	}{
		{name: "an hour asked", asked: time.Hour, audiences: []string{"vault"}},
		{name: "nothing asked", asked: 0, audiences: nil},
		{name: "a day asked", asked: 24 * time.Hour, audiences: []string{"sts.amazonaws.com", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := fake.NewSimpleClientset()
			var got *authenticationv1.TokenRequest
			var gotNS, gotName string
			cs.PrependReactor("create", "serviceaccounts", func(a k8stesting.Action) (bool, runtime.Object, error) {
				ca := a.(k8stesting.CreateActionImpl)
				if ca.GetSubresource() != "token" {
					return false, nil, nil
				}
				got = ca.GetObject().(*authenticationv1.TokenRequest)
				gotNS, gotName = ca.GetNamespace(), ca.Name
				out := got.DeepCopy()
				out.Status = authenticationv1.TokenRequestStatus{Token: "tok", ExpirationTimestamp: metav1.NewTime(time.Unix(1_700_000_600, 0))}
				return true, out, nil
			})
			k := NewKube(nil, cs.CoreV1())
			tok, _, err := k.ServiceAccountToken(context.Background(), types.NamespacedName{Namespace: "ns", Name: "sa"}, tt.audiences, tt.asked)
			if err != nil || tok != "tok" {
				t.Fatalf("token %q, %v", tok, err)
			}
			if got.Spec.ExpirationSeconds == nil || *got.Spec.ExpirationSeconds != 600 {
				t.Errorf("expirationSeconds %v, want 600", got.Spec.ExpirationSeconds)
			}
			if strings.Join(got.Spec.Audiences, ",") != strings.Join(tt.audiences, ",") {
				t.Errorf("audiences %v, want %v", got.Spec.Audiences, tt.audiences)
			}
			if gotNS != "ns" || gotName != "sa" {
				t.Errorf("token for %s/%s, want ns/sa", gotNS, gotName)
			}
		})
	}
}
