package secretstore

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	fakeclient "sigs.k8s.io/controller-runtime/pkg/client/fake"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/provider/kubernetes"
	"github.com/keyward/keyward/internal/storeruntime"
)

type noTokens struct{ client.Reader }

func (noTokens) ServiceAccountToken(context.Context, types.NamespacedName, []string, time.Duration) (string, time.Time, error) {
	return "", time.Time{}, nil
}

// TestAmbientSecretStoreIsReportedNotRetried: a SecretStore that would act
// as the controller gets Ready=False, InvalidProviderConfig and a message
// naming the field, and no error (only an edit can cure it).
func TestAmbientSecretStoreIsReportedNotRetried(t *testing.T) {
	for _, tc := range []struct {
		name      string
		allow     bool
		wantState corev1.ConditionStatus
		wantMsg   string
	}{
		{name: "refused", wantState: corev1.ConditionFalse,
			wantMsg: "SecretStore/tenant-a/kube: spec.provider.kubernetes.auth: a SecretStore must name its own credentials (auth or authRef); only a ClusterSecretStore may act with the controller's identity"},
		{name: "allowed by the option", allow: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			scheme := runtime.NewScheme()
			if err := esv1.AddToScheme(scheme); err != nil {
				t.Fatal(err)
			}
			store := &esv1.SecretStore{
				ObjectMeta: metav1.ObjectMeta{Namespace: "tenant-a", Name: "kube", Generation: 1},
				Spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{Kubernetes: &esv1.KubernetesProvider{
					RemoteNamespace: "kube-system"}}},
			}
			c := fakeclient.NewClientBuilder().WithScheme(scheme).WithObjects(store).WithStatusSubresource(store).Build()
			// A local connection the test never reaches: a built client is only checked, not called, here.
			m := storeruntime.NewManager(noTokens{c}, nil, storeruntime.Options{AllowControllerIdentityInNamespacedStores: tc.allow},
				kubernetes.New(&rest.Config{Host: "https://127.0.0.1:1"}))
			r := &Reconciler{Client: c, Providers: m, Kind: esv1.SecretStoreKind}
			res, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: types.NamespacedName{Namespace: "tenant-a", Name: "kube"}})
			if !tc.allow {
				if err != nil || res.RequeueAfter != 0 {
					t.Fatalf("Reconcile = %+v, %v; want no retry and no error", res, err)
				}
			}
			got := &esv1.SecretStore{}
			if err := c.Get(context.Background(), client.ObjectKeyFromObject(store), got); err != nil {
				t.Fatal(err)
			}
			var cond esv1.SecretStoreStatusCondition
			for _, c := range got.Status.Conditions {
				if c.Type == esv1.SecretStoreReady {
					cond = c
				}
			}
			if tc.allow {
				// Built with the controller's identity: validation then fails on
				// the unreachable server, which is not the identity refusal.
				if strings.Contains(cond.Message, "must name its own credentials") || cond.Reason == esv1.ReasonInvalidProviderConfig {
					t.Fatalf("refused despite the option: %+v", cond)
				}
				return
			}
			if cond.Status != tc.wantState || cond.Reason != esv1.ReasonInvalidProviderConfig || cond.Message != tc.wantMsg {
				t.Fatalf("condition %+v\nwant %s %s %q", cond, tc.wantState, esv1.ReasonInvalidProviderConfig, tc.wantMsg)
			}
		})
	}
}
