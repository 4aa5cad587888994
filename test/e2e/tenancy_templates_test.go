package e2e

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
)

// leakyTemplates try to make a template's error carry the value it read:
// each is one Secret key's template, over the values password and pin.
var leakyTemplates = []struct {
	name, doc, template string
}{
	{"fail-b64enc", "5: fail prints its argument, here the value in base64", `{{ fail (b64enc .password) }}`},
	{"fail-hex", "6: the value in hex, piped into fail", `{{ printf "%x" .password | fail }}`},
	{"fail-tojson", "7: every value as JSON, piped into fail", `{{ toJson . | fail }}`},
	{"fail-sha256", "8: a digest of the value, piped into fail", `{{ .password | sha256sum | fail }}`},
	{"fail-upper", "9: the value upper-cased, piped into fail", `{{ .password | upper | fail }}`},
	{"index-atoi", "10: index out of range prints the index, here the numeric value", `{{ index (list 1 2) (atoi .pin) }}`},
}

// tenancyTemplateAttacks: templates over the tenant's own values, in
// ExternalSecrets and in SealedSecrets. Each must fail naming its key, and
// print no value (the final search covers status, Events, log and metrics).
func tenancyTemplateAttacks(ctx context.Context, t *testing.T, env *tenancyEnv, cn *tenancyCanaries) {
	a := env.tenantA
	// The tenant's own store reads its own namespace with its own ServiceAccount.
	env.tenantCreate(ctx, t, store(a, "own", kubeProvider(a, "reader", nil)))
	own := func(name string) *esv1.ExternalSecret {
		return newES(a, name, "own", "", "", entry("password", "db-creds", "password"), entry("pin", "db-creds", "pin"))
	}
	// Without a template the store delivers: the failures below are the templates'.
	env.tenantCreate(ctx, t, own("own-plain"))
	pub := &env.ss.currentKey(ctx, t).Private.PublicKey
	items := map[string]string{"password": string(cn.own), "pin": string(cn.ownPin)}
	for _, tt := range leakyTemplates {
		es := own("es-" + tt.name)
		es.Spec.Target.Template = &esv1.ExternalSecretTemplate{Data: map[string]string{"leak-" + tt.name: tt.template}}
		ss := sealSecret(t, pub, a, "ss-"+tt.name, items)
		ss.Spec.Template.Data = map[string]string{"leak-" + tt.name: tt.template}
		env.tenantCreate(ctx, t, es, ss)
	}
	t.Run("the tenant's store delivers", func(t *testing.T) {
		t.Parallel()
		env.es.waitSecret(ctx, t, a, "own-plain", hasData(items))
	})
	for _, tt := range leakyTemplates {
		t.Run("ExternalSecret "+tt.name, func(t *testing.T) {
			t.Parallel()
			t.Log(tt.doc)
			c := env.esFailed(ctx, t, a, "es-"+tt.name)
			mentions(t, "ExternalSecret message", c.Message, "leak-"+tt.name)
			assertNoSecret(ctx, t, a, "es-"+tt.name)
			env.ownTextsClean(ctx, t, cn, "es-"+tt.name, c.Message)
		})
		t.Run("SealedSecret "+tt.name, func(t *testing.T) {
			t.Parallel()
			t.Log(tt.doc)
			got := waitSynced(ctx, t, env.tenant, &ssv1.SealedSecret{ObjectMeta: metav1.ObjectMeta{Namespace: a, Name: "ss-" + tt.name}}, corev1.ConditionFalse)
			msg := syncedCondition(got).Message
			mentions(t, "SealedSecret message", msg, "leak-"+tt.name)
			assertNoSecret(ctx, t, a, "ss-"+tt.name)
			env.ownTextsClean(ctx, t, cn, "ss-"+tt.name, msg)
		})
	}
}

// ownTextsClean checks one object's status message and Events for the
// tenant's values, so a leak is told by the case that caused it (the final
// search covers the log and metrics too).
func (env *tenancyEnv) ownTextsClean(ctx context.Context, t *testing.T, cn *tenancyCanaries, name, message string) {
	t.Helper()
	hs := []haystack{{name + " status message", message}, {name + " events", strings.Join(eventsFor(ctx, t, env.tenantA, name), "\n")}}
	cn.own.assertNowhere(t, hs...)
	cn.ownPin.assertNowhere(t, hs...)
}
