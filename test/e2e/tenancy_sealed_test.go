package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
)

// tenancySealedAttacks (18): the victim's SealedSecrets, copied from git
// into the tenant's namespace under the same name.
func tenancySealedAttacks(ctx context.Context, t *testing.T, env *tenancyEnv, cn *tenancyCanaries) {
	pub := &env.ss.currentKey(ctx, t).Private.PublicKey
	scoped := func(annotation string) func(*corev1.Secret) {
		return func(s *corev1.Secret) {
			if annotation != "" {
				s.Annotations = map[string]string{annotation: "true"}
			}
		}
	}
	cases := []struct {
		name, doc, ssName, annotation string
		value                         canary
		opens                         bool
	}{
		{"strict", "18: a strict SealedSecret of the victim, same name in tenant-a", "victim-strict", "", cn.sealedStrict, false},
		{"namespace-wide", "18: a namespace-wide SealedSecret of the victim in tenant-a", "victim-nw", ssv1.NamespaceWideAnnotation, cn.sealedNamespace, false},
		{"cluster-wide opens anywhere by design", "18: cluster-wide means any namespace may open it; the sealer chose that", "victim-cw", ssv1.ClusterWideAnnotation, cn.sealedCluster, true},
	}
	for _, tc := range cases {
		ss := sealSecret(t, pub, env.victim, tc.ssName, map[string]string{"password": string(tc.value)}, scoped(tc.annotation))
		ss.Namespace = env.tenantA
		env.tenantCreate(ctx, t, ss)
	}
	// The tenant's own SealedSecret, whose Secret an ExternalSecret then claims.
	own := sealSecret(t, pub, env.tenantA, "sealed-own", map[string]string{"password": string(cn.own)})
	env.tenantCreate(ctx, t, own)
	t.Run("extra ExternalSecret claims a SealedSecret's Secret", func(t *testing.T) {
		t.Parallel()
		t.Log("creationPolicy Owner on a Secret another controller (the SealedSecret) controls")
		before := waitSecret(ctx, t, env.tenantA, "sealed-own", hasData(map[string]string{"password": string(cn.own)}))
		es := newES(env.tenantA, "claim-sealed", "own", esv1.CreatePolicyOwner, "", entry("password", "db-creds", "pin"))
		es.Spec.Target.Name = "sealed-own"
		env.tenantCreate(ctx, t, es)
		mentions(t, "ExternalSecret message", env.esFailed(ctx, t, env.tenantA, es.Name).Message, "sealed-own")
		after := waitSecret(ctx, t, env.tenantA, "sealed-own", nil)
		if after.ResourceVersion != before.ResourceVersion {
			t.Errorf("the SealedSecret's Secret was changed: keys %v", keysOf(after.Data))
		}
	})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			t.Log(tc.doc)
			ss := &ssv1.SealedSecret{ObjectMeta: metav1.ObjectMeta{Namespace: env.tenantA, Name: tc.ssName}}
			if tc.opens {
				waitSynced(ctx, t, env.tenant, ss, corev1.ConditionTrue)
				waitSecret(ctx, t, env.tenantA, tc.ssName, hasData(map[string]string{"password": string(tc.value)}))
				return
			}
			got := waitSynced(ctx, t, env.tenant, ss, corev1.ConditionFalse)
			mentions(t, "SealedSecret message", syncedCondition(got).Message, "password", "decrypt")
			assertNoSecret(ctx, t, env.tenantA, tc.ssName)
		})
	}
}

// tenancyAPIAttacks: the kubeseal HTTP API as the tenant reaches it. The
// cases run in order: they share the API's rate limit.
func tenancyAPIAttacks(ctx context.Context, t *testing.T, env *tenancyEnv, cn *tenancyCanaries) {
	pub := &env.ss.currentKey(ctx, t).Private.PublicKey
	body := newCanary("Body")

	t.Run("11 verify a copy of another namespace's SealedSecret with a template", func(t *testing.T) {
		ss := sealSecret(t, pub, env.victim, "victim-db", map[string]string{"password": string(cn.sealedStrict)})
		ss.Spec.Template.Data = map[string]string{"leak": `{{ fail (b64enc .password) }}`, "leak2": `{{ .password | upper | fail }}`}
		moved := ss.DeepCopy()
		moved.Namespace = env.tenantA
		for _, tc := range []struct {
			name string
			ss   *ssv1.SealedSecret
			want int
		}{{"as sealed", ss, http.StatusOK}, {"moved to tenant-a", moved, http.StatusConflict}} {
			b, err := json.Marshal(tc.ss)
			if err != nil {
				t.Fatal(err)
			}
			code, reply := env.postPatiently(t, "/v1/verify", b)
			if code != tc.want {
				t.Errorf("%s: verify answered %d %q, want %d", tc.name, code, reply, tc.want)
			}
			cn.sealedStrict.assertNowhere(t, haystack{"verify reply", reply})
			code, reply = env.postPatiently(t, "/v1/rotate", b)
			t.Logf("%s: rotate answered %d", tc.name, code)
			cn.sealedStrict.assertNowhere(t, haystack{"rotate reply", reply})
		}
	})

	t.Run("19 oversized and malformed bodies", func(t *testing.T) {
		big := bytes.Repeat([]byte(body), (10<<20)/len(body)+1)
		head := `{"apiVersion":"bitnami.com/v1alpha1","kind":"SealedSecret","metadata":{"name":"`
		for _, path := range []string{"/v1/verify", "/v1/rotate"} {
			for _, tc := range []struct {
				name string
				body []byte
				want int
			}{
				{"10 MiB", append(append([]byte(head), big...), `"}}`...), http.StatusRequestEntityTooLarge},
				{"cut short", []byte(head + string(body)), http.StatusBadRequest},
				{"not a document", []byte(string(body) + " is: [not, {a SealedSecret"), http.StatusBadRequest},
				{"two documents", []byte(head + "a\"}}\n---\n" + head + string(body) + "\"}}"), http.StatusBadRequest},
			} {
				code, reply := env.postPatiently(t, path, tc.body)
				if code != tc.want {
					t.Errorf("%s %s: status %d, want %d (%q)", path, tc.name, code, tc.want, reply)
				}
				body.assertNowhere(t, haystack{path + " reply to " + tc.name, reply})
			}
		}
	})

	for _, path := range []string{"/v1/verify", "/v1/rotate"} {
		t.Run("19 forged X-Forwarded-For does not escape the rate limit of "+path, func(t *testing.T) {
			limited := 0
			for i := 0; i < 60 && limited == 0; i++ {
				xff := fmt.Sprintf("10.%d.%d.%d", rand.Intn(250), rand.Intn(250), 1+rand.Intn(250))
				code, _ := env.post(t, path, strings.NewReader("{}"), map[string]string{"X-Forwarded-For": xff})
				if code == http.StatusTooManyRequests {
					limited++
				}
			}
			if limited == 0 {
				t.Errorf("60 requests to %s at once from one peer, each with its own X-Forwarded-For, were never limited (429)", path)
			}
		})
	}
}

// postPatiently posts body, waiting out the API's rate limit: the cases
// are about what the API answers, not how often.
func (env *tenancyEnv) postPatiently(t *testing.T, path string, body []byte) (int, string) {
	t.Helper()
	for i := 0; ; i++ {
		code, reply := env.post(t, path, bytes.NewReader(body), nil)
		if code != http.StatusTooManyRequests || i == 30 {
			return code, reply
		}
		time.Sleep(300 * time.Millisecond)
	}
}
