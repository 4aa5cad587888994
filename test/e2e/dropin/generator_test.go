package dropin

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	genv1alpha1 "github.com/keyward/keyward/api/generators/v1alpha1"
)

// syncFromGenerator makes a Password generator (stored under ESO's own
// generators CRD) and an ExternalSecret using it in ns, and waits for a
// Secret holding a password of the asked-for length.
func syncFromGenerator(ctx context.Context, t *testing.T, admin client.Client, ctl *controller, ns string) {
	t.Helper()
	pw := &genv1alpha1.Password{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "db"}, Spec: genv1alpha1.PasswordSpec{Length: 18}}
	es := &esv1.ExternalSecret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "generated"},
		Spec: esv1.ExternalSecretSpec{
			RefreshInterval: &metav1.Duration{Duration: time.Hour},
			DataFrom: []esv1.ExternalSecretDataFromRemoteRef{{SourceRef: &esv1.StoreGeneratorSourceRef{
				GeneratorRef: &esv1.GeneratorRef{APIVersion: genv1alpha1.GroupVersion.String(), Kind: "Password", Name: "db"}}}},
		}}
	for _, o := range []client.Object{pw, es} {
		if err := admin.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	eventually(ctx, t, ctl, "the generated password's Secret", func(ctx context.Context) (bool, error) {
		var got corev1.Secret
		if err := admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "generated"}, &got); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		return len(got.Data["password"]) == 18, nil
	})
}
