package migratepush

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/keys"
	"github.com/keyward/keyward/internal/sealing"
	testmoto "github.com/keyward/keyward/test/moto"
	testvault "github.com/keyward/keyward/test/vault"
)

const guideSecret = "backend-secrets"

// vaultStore makes the SecretStore vault-backend in ns, reading Vault's
// KV v2 mount secret/ with a token kept in a Secret of ns.
func vaultStore(ctx context.Context, t testing.TB, v *testvault.Server, ns string) {
	t.Helper()
	create(ctx, t,
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "vault-token"}, StringData: map[string]string{"token": v.RootToken}},
		&esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "vault-backend"},
			Spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{Vault: &esv1.VaultProvider{
				Server: v.Addr, Path: ptr("secret"), Version: "v2",
				Auth: &esv1.VaultAuth{TokenSecretRef: &esv1.SecretKeySelector{Name: "vault-token", Key: "token"}},
			}}}})
}

func create(ctx context.Context, t testing.TB, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := kc.Create(ctx, o); err != nil {
			t.Fatalf("creating %T %s/%s: %v", o, o.GetNamespace(), o.GetName(), err)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// deployment uses the Secret's key postgres-db-uri in its environment.
func deployment(ns, secret string) *appsv1.Deployment {
	labels := map[string]string{"app": "backend"}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "backend"},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "backend:1",
					Env: []corev1.EnvVar{{Name: "DATABASE_URL", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
						LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: "postgres-db-uri"}}}},
				}}},
			},
		},
	}
}

func getSecret(ctx context.Context, t testing.TB, ns, name string) *corev1.Secret {
	t.Helper()
	s, err := cluster.Clientset.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// handedOver fails t unless the Secret is controlled by its ExternalSecret
// and holds want exactly.
func handedOver(ctx context.Context, t testing.TB, ns, name string, want map[string][]byte) {
	t.Helper()
	s := getSecret(ctx, t, ns, name)
	ctl := metav1.GetControllerOf(s)
	if ctl == nil || ctl.Kind != "ExternalSecret" || ctl.Name != name {
		t.Errorf("Secret %s/%s: controller = %+v, want ExternalSecret %s", ns, name, ctl, name)
	}
	if !sameData(s.Data, want) {
		t.Errorf("Secret %s/%s: data differs from the original after the hand-over", ns, name)
	}
}

// vaultValue reads a KV v2 secret's data with the root token.
func vaultValue(t testing.TB, v *testvault.Server, path string) map[string]any {
	t.Helper()
	sec, err := v.Client.Logical().Read("secret/data/" + path)
	if err != nil {
		t.Fatalf("vault: reading %s: %v", path, err)
	}
	if sec == nil {
		return nil
	}
	d, _ := sec.Data["data"].(map[string]any)
	return d
}

// TestGuideWalk walks the guide's backend-secrets (postgres-db-uri) along
// the path: a plain Secret in development, a SealedSecret's Secret in
// staging, and in production SealedSecret files from Git opened with the
// key backup, into AWS Secrets Manager with the guide's v1beta1
// ExternalSecret. A watch on each Secret proves it never vanished or
// differed; every output, log, manifest and status is searched for the
// planted values.
func TestGuideWalk(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	e := controllers(t)
	v := testvault.Start(t, testvault.Options{})
	moto, err := testmoto.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer moto.Stop()
	t.Setenv("AWS_ENDPOINT_URL", moto.URL)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	home := t.TempDir()
	var planted []string
	plant := func(env string) string {
		p := "postgresql://aura:PLANTED-" + env + "-" + rand.String(12) + "@db." + env + "/aura"
		planted = append(planted, p)
		return p
	}
	var outputs []string
	run := func(want int, args ...string) result {
		t.Helper()
		r := keyward(t, home, args...)
		outputs = append(outputs, r.stdout, r.stderr)
		if r.code != want {
			t.Fatalf("want exit %d: %s", want, r)
		}
		return r
	}

	// development: a plain Secret a Deployment uses.
	dev := newNamespace(ctx, t, "development")
	vaultStore(ctx, t, v, dev)
	devURI := plant("development")
	devData := map[string][]byte{"postgres-db-uri": []byte(devURI)}
	create(ctx, t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: dev, Name: guideSecret}, Data: devData}, deployment(dev, guideSecret))
	devOut := t.TempDir()
	args := []string{"-n", dev, "--store", "vault-backend", "--path", "aura/{{.Namespace}}/{{.Name}}", "--out", devOut, guideSecret}

	r := run(0, append([]string{"migrate", "plan", "push"}, args...)...)
	for _, want := range []string{"would push", "store has no value", "Deployment/" + dev + "/backend", "would write-externalsecret", "would apply"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("plan lacks %q:\n%s", want, r.stdout)
		}
	}
	if d := vaultValue(t, v, "aura/"+dev+"/"+guideSecret); d != nil {
		t.Error("the plan wrote to Vault")
	}
	if ents, _ := os.ReadDir(devOut); len(ents) != 0 {
		t.Error("the plan wrote a manifest")
	}
	if _, err := dyn(t).Resource(esGVR("v1")).Namespace(dev).Get(ctx, guideSecret, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the plan applied an ExternalSecret (err %v)", err)
	}

	g := watchSecret(ctx, t, dev, guideSecret, devData)
	r = run(0, append([]string{"migrate", "push"}, args...)...)
	t.Logf("development:\n%s", r.stdout)
	if !strings.Contains(r.stdout, "adopt") {
		t.Errorf("push did not report the adoption:\n%s", r.stdout)
	}
	handedOver(ctx, t, dev, guideSecret, devData)
	if d := vaultValue(t, v, "aura/"+dev+"/"+guideSecret); d["postgres-db-uri"] != devURI || len(d) != 1 {
		t.Errorf("Vault holds %d properties, or not the Secret's value", len(d))
	}
	devManifest := readFile(t, filepath.Join(devOut, guideSecret+".externalsecret.yaml"))
	for _, want := range []string{"apiVersion: external-secrets.io/v1\n", "creationPolicy: Owner", "key: aura/" + dev + "/" + guideSecret, "property: postgres-db-uri"} {
		if !strings.Contains(devManifest, want) {
			t.Errorf("manifest lacks %q:\n%s", want, devManifest)
		}
	}
	r = run(0, append([]string{"migrate", "push"}, args...)...)
	if !strings.Contains(r.stdout, "push: made 0 change(s)") {
		t.Errorf("a rerun changed something:\n%s", r.stdout)
	}
	// Someone changed the value in the store: the plan says so, and a push
	// puts the Secret's value back, the Secret untouched all along.
	if _, err := v.Client.Logical().Write("secret/data/aura/"+dev+"/"+guideSecret, map[string]any{"data": map[string]any{"postgres-db-uri": "changed"}}); err != nil {
		t.Fatal(err)
	}
	r = run(0, append([]string{"migrate", "plan", "push"}, args...)...)
	if !strings.Contains(r.stdout, "store value differs (keys postgres-db-uri)") || !strings.Contains(r.stdout, "would push") {
		t.Errorf("the plan does not say what differs:\n%s", r.stdout)
	}
	r = run(0, append([]string{"migrate", "push"}, args...)...)
	if d := vaultValue(t, v, "aura/"+dev+"/"+guideSecret); d["postgres-db-uri"] != devURI || !strings.Contains(r.stdout, "push: made 1 change(s)") {
		t.Errorf("push did not put the Secret's value back:\n%s", r.stdout)
	}
	g.check(t, "development")

	// staging: the Secret a SealedSecret makes.
	stg := newNamespace(ctx, t, "staging")
	vaultStore(ctx, t, v, stg)
	key := e.currentKey(ctx, t)
	stgURI := plant("staging")
	stgData := map[string][]byte{"postgres-db-uri": []byte(stgURI)}
	ss := seal(t, &key.Private.PublicKey, stg, stgData)
	create(ctx, t, ss, deployment(stg, guideSecret))
	waitSealedSecret(ctx, t, stg, stgData)
	g = watchSecret(ctx, t, stg, guideSecret, stgData)
	stgOut := t.TempDir()
	args = []string{"-n", stg, "--store", "vault-backend", "--path", "aura/{{.Namespace}}/{{.Name}}", "--out", stgOut, guideSecret}
	r = run(0, append([]string{"migrate", "push"}, args...)...)
	if !strings.Contains(r.stdout, "--cleanup hands it over") {
		t.Errorf("without --cleanup the SealedSecret's Secret should be left to it:\n%s", r.stdout)
	}
	// The ExternalSecret is there and Ready already, reading every value
	// (creationPolicy None), before anything lets go of the SealedSecret.
	if !strings.Contains(r.stdout, "verified") {
		t.Errorf("without --cleanup the ExternalSecret should be applied with creationPolicy None and Ready:\n%s", r.stdout)
	}
	if es := getES(ctx, t, stg, guideSecret); es.Spec.Target.CreationPolicy != esv1.CreatePolicyNone || !esReady(es) {
		t.Errorf("before --cleanup the ExternalSecret is %q, Ready %v; want None and Ready", es.Spec.Target.CreationPolicy, esReady(es))
	}
	if ctl := metav1.GetControllerOf(getSecret(ctx, t, stg, guideSecret)); ctl == nil || ctl.Kind != "SealedSecret" {
		t.Errorf("without --cleanup the Secret changed hands: %+v", ctl)
	}
	if d := vaultValue(t, v, "aura/"+stg+"/"+guideSecret); d["postgres-db-uri"] != stgURI {
		t.Error("Vault does not hold the staging value")
	}
	r = run(0, append([]string{"migrate", "push", "--cleanup"}, args...)...)
	t.Logf("staging, --cleanup:\n%s", r.stdout)
	for _, want := range []string{"delete", "SealedSecret/" + stg + "/" + guideSecret, "adopt"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("--cleanup report lacks %q:\n%s", want, r.stdout)
		}
	}
	if err := kc.Get(ctx, client.ObjectKey{Namespace: stg, Name: guideSecret}, &ssv1.SealedSecret{}); !apierrors.IsNotFound(err) {
		t.Errorf("the SealedSecret is still there after --cleanup (err %v)", err)
	}
	handedOver(ctx, t, stg, guideSecret, stgData)
	r = run(0, append([]string{"migrate", "push", "--cleanup"}, args...)...)
	if !strings.Contains(r.stdout, "push: made 0 change(s)") {
		t.Errorf("a rerun changed something:\n%s", r.stdout)
	}
	g.check(t, "staging")

	// production: the SealedSecret file from Git and the key backup, into
	// AWS Secrets Manager, as the guide's v1beta1 ExternalSecret.
	prod := newNamespace(ctx, t, "production")
	create(ctx, t,
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: prod, Name: "aws-credentials"},
			StringData: map[string]string{"access-key-id": "AKIAKEYWARDE2E", "secret-access-key": "e2e-secret-access-key"}},
		&esv1.SecretStore{ObjectMeta: metav1.ObjectMeta{Namespace: prod, Name: "aws-secrets-manager"},
			Spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{AWS: &esv1.AWSProvider{Service: "SecretsManager", Region: "eu-west-1",
				Auth: esv1.AWSAuth{SecretRef: &esv1.AWSSecretRef{
					AccessKeyID:     esv1.SecretKeySelector{Name: "aws-credentials", Key: "access-key-id"},
					SecretAccessKey: esv1.SecretKeySelector{Name: "aws-credentials", Key: "secret-access-key"},
				}}}}}})
	prodURI := plant("production")
	prodData := map[string][]byte{"postgres-db-uri": []byte(prodURI)}
	ss = seal(t, &key.Private.PublicKey, prod, prodData)
	git := t.TempDir()
	sealedFile := filepath.Join(git, "backend-secrets.sealedsecret.yaml")
	writeYAML(t, sealedFile, ss)
	create(ctx, t, ss.DeepCopy(), deployment(prod, guideSecret))
	waitSealedSecret(ctx, t, prod, prodData)
	backup, err := keys.Backup(ctx, cluster.Clientset.CoreV1(), e.keyNS, keys.DefaultKeyPrefix)
	if err != nil {
		t.Fatal(err)
	}
	backupFile := filepath.Join(t.TempDir(), "keys-backup.yaml")
	writeYAML(t, backupFile, backup)
	g = watchSecret(ctx, t, prod, guideSecret, prodData)
	prodOut := t.TempDir()
	args = []string{"-n", prod, "--sealed", sealedFile, "--key-file", backupFile, "--store", "aws-secrets-manager",
		"--path", "aura/production/postgres", "--api-version", "v1beta1", "--out", prodOut, "--cleanup"}
	run(0, append([]string{"migrate", "push"}, args...)...)
	handedOver(ctx, t, prod, guideSecret, prodData)
	sm := secretsmanager.New(secretsmanager.Options{Region: "eu-west-1", BaseEndpoint: aws.String(moto.URL),
		Credentials: credentials.NewStaticCredentialsProvider("seed", "seed", "")})
	got, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("aura/production/postgres")})
	if err != nil {
		t.Fatal(err)
	}
	var stored map[string]string
	if err := json.Unmarshal([]byte(aws.ToString(got.SecretString)), &stored); err != nil || stored["postgres-db-uri"] != prodURI {
		t.Errorf("Secrets Manager does not hold the production value (%v)", err)
	}
	prodManifest := readFile(t, filepath.Join(prodOut, guideSecret+".externalsecret.yaml"))
	for _, want := range []string{"apiVersion: external-secrets.io/v1beta1\n", "name: aws-secrets-manager", "name: backend-secrets",
		"secretKey: postgres-db-uri", "key: aura/production/postgres"} {
		if !strings.Contains(prodManifest, want) {
			t.Errorf("production manifest lacks %q:\n%s", want, prodManifest)
		}
	}
	if _, err := dyn(t).Resource(esGVR("v1beta1")).Namespace(prod).Get(ctx, guideSecret, metav1.GetOptions{}); err != nil {
		t.Errorf("the v1beta1 ExternalSecret is not served: %v", err)
	}
	r = run(0, append([]string{"migrate", "push"}, args...)...)
	if !strings.Contains(r.stdout, "push: made 0 change(s)") {
		t.Errorf("a rerun changed something:\n%s", r.stdout)
	}
	g.check(t, "production")

	// Nothing anywhere holds a value but the store and the Secret.
	texts := map[string]string{"command output": strings.Join(outputs, "\n"), "controller log": e.logs.String(),
		"manifests": devManifest + readFile(t, filepath.Join(stgOut, guideSecret+".externalsecret.yaml")) + prodManifest}
	for _, ns := range []string{dev, stg, prod} {
		texts["objects of "+ns] = objectsText(ctx, t, ns)
	}
	for where, text := range texts {
		noLeak(t, where, text, planted...)
	}
}

var (
	sealedSecretGVR = schema.GroupVersionResource{Group: "bitnami.com", Version: "v1alpha1", Resource: "sealedsecrets"}
)

func esGVR(v string) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: "external-secrets.io", Version: v, Resource: "externalsecrets"}
}

func dyn(t testing.TB) dynamic.Interface {
	t.Helper()
	d, err := dynamic.NewForConfig(cluster.Config)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func seal(t testing.TB, pub *rsa.PublicKey, ns string, data map[string][]byte) *ssv1.SealedSecret {
	t.Helper()
	return sealNamed(t, pub, ns, guideSecret, data)
}

func sealNamed(t testing.TB, pub *rsa.PublicKey, ns, name string, data map[string][]byte) *ssv1.SealedSecret {
	t.Helper()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: data}
	ss, err := sealing.Seal(s, pub, sealing.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ss.TypeMeta = metav1.TypeMeta{APIVersion: "bitnami.com/v1alpha1", Kind: "SealedSecret"}
	return ss
}

// waitSealedSecret waits until the SealedSecret's Secret is there, controlled by it.
func waitSealedSecret(ctx context.Context, t testing.TB, ns string, want map[string][]byte) {
	t.Helper()
	eventually(ctx, t, "the SealedSecret's Secret in "+ns, func() (bool, error) {
		s, err := cluster.Clientset.CoreV1().Secrets(ns).Get(ctx, guideSecret, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		ctl := metav1.GetControllerOf(s)
		return ctl != nil && ctl.Kind == "SealedSecret" && sameData(s.Data, want), nil
	})
}

func writeYAML(t testing.TB, path string, obj any) {
	t.Helper()
	b, err := yaml.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// objectsText is every ExternalSecret, SealedSecret and Event of ns as
// JSON: what a leak could hide in (statuses, messages).
func objectsText(ctx context.Context, t testing.TB, ns string) string {
	t.Helper()
	var b strings.Builder
	for _, gvr := range []schema.GroupVersionResource{esGVR("v1"), sealedSecretGVR, {Version: "v1", Resource: "events"}} {
		l, err := dyn(t).Resource(gvr).Namespace(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range l.Items {
			if gvr.Resource == "sealedsecrets" {
				unstructured.RemoveNestedField(u.Object, "spec", "encryptedData")
			}
			j, _ := u.MarshalJSON()
			b.Write(j)
		}
	}
	return b.String()
}

func getES(ctx context.Context, t *testing.T, ns, name string) *esv1.ExternalSecret {
	t.Helper()
	es := &esv1.ExternalSecret{}
	if err := kc.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, es); err != nil {
		t.Fatal(err)
	}
	return es
}

func esReady(es *esv1.ExternalSecret) bool {
	for _, c := range es.Status.Conditions {
		if c.Type == esv1.ExternalSecretReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
