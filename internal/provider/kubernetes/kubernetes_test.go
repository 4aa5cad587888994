package kubernetes

import (
	"context"
	"encoding/base64"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	fakeclient "sigs.k8s.io/controller-runtime/pkg/client/fake"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
)

func TestAmbientIdentity(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec esv1.KubernetesProvider
		want string
	}{
		{"controller's own identity", esv1.KubernetesProvider{RemoteNamespace: "kube-system"}, "spec.provider.kubernetes.auth"},
		{"token", esv1.KubernetesProvider{Auth: &esv1.KubernetesAuth{Token: &esv1.TokenAuth{}}}, ""},
		{"ServiceAccount", esv1.KubernetesProvider{Auth: &esv1.KubernetesAuth{ServiceAccount: &esv1.ServiceAccountSelector{Name: "sa"}}}, ""},
		{"kubeconfig", esv1.KubernetesProvider{AuthRef: &esv1.SecretKeySelector{Name: "kc", Key: "config"}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := &esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{Kubernetes: &tc.spec}}
			got, instead := New(nil).AmbientIdentity(spec)
			if got != tc.want || (got != "" && instead != "auth or authRef") {
				t.Fatalf("AmbientIdentity = %q, %q; want %q", got, instead, tc.want)
			}
		})
	}
}

const kubeconfigHead = `apiVersion: v1
kind: Config
current-context: c
contexts:
- name: c
  context: {cluster: k, user: u}
`

func TestKubeconfigFromASecretRunsNothingAndReadsNoFiles(t *testing.T) {
	cluster := "clusters:\n- name: k\n  cluster: {server: https://remote.example:6443}\n"
	for _, tc := range []struct {
		name    string
		doc     string
		wantErr string
	}{
		{name: "inline token", doc: kubeconfigHead + cluster + "users:\n- name: u\n  user: {token: abc}\n"},
		{name: "inline certificates", doc: kubeconfigHead +
			"clusters:\n- name: k\n  cluster: {server: https://remote.example:6443, certificate-authority-data: " + b64("ca") + "}\n" +
			"users:\n- name: u\n  user: {client-certificate-data: " + b64("c") + ", client-key-data: " + b64("k") + "}\n"},
		{name: "exec", doc: kubeconfigHead + cluster + "users:\n- name: u\n  user:\n    exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/sh, args: [-c, id]}\n",
			wantErr: `spec.provider.kubernetes.authRef: users["u"].exec: not allowed`},
		{name: "exec in an unused user", doc: kubeconfigHead + cluster + "users:\n- name: u\n  user: {token: abc}\n- name: z\n  user:\n    exec: {apiVersion: client.authentication.k8s.io/v1, command: id}\n",
			wantErr: `users["z"].exec: not allowed`},
		{name: "auth-provider", doc: kubeconfigHead + cluster + "users:\n- name: u\n  user:\n    auth-provider: {name: gcp, config: {cmd-path: /bin/id}}\n",
			wantErr: `users["u"].auth-provider: not allowed`},
		{name: "tokenFile", doc: kubeconfigHead + cluster + "users:\n- name: u\n  user: {tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token}\n",
			wantErr: `users["u"].tokenFile: not allowed`},
		{name: "client-certificate", doc: kubeconfigHead + cluster + "users:\n- name: u\n  user: {client-certificate: /etc/c.pem, client-key-data: " + b64("k") + "}\n",
			wantErr: `users["u"].client-certificate: not allowed`},
		{name: "client-key", doc: kubeconfigHead + cluster + "users:\n- name: u\n  user: {client-certificate-data: " + b64("c") + ", client-key: /etc/k.pem}\n",
			wantErr: `users["u"].client-key: not allowed`},
		{name: "certificate-authority", doc: kubeconfigHead + "clusters:\n- name: k\n  cluster: {server: https://remote.example:6443, certificate-authority: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt}\n" +
			"users:\n- name: u\n  user: {token: abc}\n",
			wantErr: `clusters["k"].certificate-authority: not allowed`},
		{name: "not a kubeconfig", doc: "users: [token: abc\n", wantErr: "spec.provider.kubernetes.authRef: the Secret's key is not a kubeconfig (YAML or JSON)"},
		{name: "no server", doc: kubeconfigHead + "clusters:\n- name: k\n  cluster: {}\nusers:\n- name: u\n  user: {token: abc}\n",
			wantErr: "the kubeconfig does not load"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := kubeconfig([]byte(tc.doc), "spec.provider.kubernetes.authRef")
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if cfg.Host != "https://remote.example:6443" || cfg.ExecProvider != nil || cfg.AuthProvider != nil || cfg.BearerTokenFile != "" ||
					cfg.CertFile != "" || cfg.KeyFile != "" || cfg.CAFile != "" {
					t.Fatalf("config %+v", cfg)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "abc") {
				t.Fatalf("the error quotes the token: %v", err)
			}
		})
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

type tokenKube struct {
	client.Reader
	mu    sync.Mutex
	asked []types.NamespacedName
	life  []time.Duration
	auds  [][]string
}

func (k *tokenKube) ServiceAccountToken(_ context.Context, sa types.NamespacedName, audiences []string, expiry time.Duration) (string, time.Time, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.asked, k.life, k.auds = append(k.asked, sa), append(k.life, expiry), append(k.auds, audiences)
	return "sa-token", time.Unix(1_700_000_600, 0), nil
}

func TestServiceAccountAuthTokens(t *testing.T) {
	other := "other"
	secretStore := func(sel esv1.ServiceAccountSelector) esv1.GenericStore {
		return &esv1.SecretStore{
			ObjectMeta: metav1.ObjectMeta{Namespace: "tenant-a", Name: "s"},
			Spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{Kubernetes: &esv1.KubernetesProvider{
				Auth: &esv1.KubernetesAuth{ServiceAccount: &sel}}}},
		}
	}
	clusterStore := func(sel esv1.ServiceAccountSelector) esv1.GenericStore {
		return &esv1.ClusterSecretStore{
			ObjectMeta: metav1.ObjectMeta{Name: "c"},
			Spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{Kubernetes: &esv1.KubernetesProvider{
				Auth: &esv1.KubernetesAuth{ServiceAccount: &sel}}}},
		}
	}
	for _, tc := range []struct {
		name    string
		store   esv1.GenericStore
		want    types.NamespacedName
		wantErr string
	}{
		{name: "SecretStore: its own namespace", store: secretStore(esv1.ServiceAccountSelector{Name: "reader", Audiences: []string{"aud"}}),
			want: types.NamespacedName{Namespace: "tenant-a", Name: "reader"}},
		{name: "SecretStore: another namespace", store: secretStore(esv1.ServiceAccountSelector{Name: "reader", Namespace: &other}),
			wantErr: `spec.provider.kubernetes.auth.serviceAccount.namespace: a SecretStore may only use its own namespace "tenant-a", not "other"`},
		{name: "ClusterSecretStore: namespace named", store: clusterStore(esv1.ServiceAccountSelector{Name: "reader", Namespace: &other, Audiences: []string{"aud"}}),
			want: types.NamespacedName{Namespace: "other", Name: "reader"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := &tokenKube{Reader: fakeclient.NewClientBuilder().Build()}
			p := New(&rest.Config{Host: "https://local:6443", BearerToken: "controller-token"})
			c, err := p.NewClient(context.Background(), tc.store, k, "user-ns")
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				if len(k.asked) != 0 {
					t.Fatalf("tokens requested: %v", k.asked)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(k.asked) != 1 || k.asked[0] != tc.want || k.life[0] != 10*time.Minute ||
				strings.Join(k.auds[0], ",") != "aud" {
				t.Fatalf("asked %v for %v with audiences %v; want %v for 10m with [aud]", k.asked, k.life, k.auds, tc.want)
			}
			if got := c.(*Client).ExpiresAt(); !got.Equal(time.Unix(1_700_000_600, 0)) {
				t.Fatalf("ExpiresAt %v", got)
			}
		})
	}
}

func TestPushOwnsOnlyWhatItCreated(t *testing.T) {
	const ns = "remote"
	foreign := func() *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "sealing-key"}, Data: map[string][]byte{"tls.key": []byte("private")}}
	}
	marked := func() *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pushed", Labels: map[string]string{"managed-by": "external-secrets"}},
			Data: map[string][]byte{"a": []byte("1"), "b": []byte("2")}}
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		existing  []*corev1.Secret
		overwrite bool
		op        func(c *Client) error
		wantErr   string
		check     func(t *testing.T, cs *fake.Clientset)
	}{
		{name: "create marks the Secret", op: func(c *Client) error { return c.Write(ctx, "new", "k", []byte("v")) },
			check: func(t *testing.T, cs *fake.Clientset) {
				s := get(t, cs, ns, "new")
				if s.Labels["managed-by"] != "external-secrets" || string(s.Data["k"]) != "v" {
					t.Fatalf("created %v %v", s.Labels, s.Data)
				}
			}},
		{name: "update of a marked Secret", existing: []*corev1.Secret{marked()}, op: func(c *Client) error { return c.Write(ctx, "pushed", "a", []byte("9")) },
			check: func(t *testing.T, cs *fake.Clientset) {
				if s := get(t, cs, ns, "pushed"); string(s.Data["a"]) != "9" {
					t.Fatalf("data %v", s.Data)
				}
			}},
		{name: "update of an unmarked Secret", existing: []*corev1.Secret{foreign()}, op: func(c *Client) error { return c.Write(ctx, "sealing-key", "tls.key", []byte("evil")) },
			wantErr: "Secret remote/sealing-key was not created by PushSecret (no label managed-by=external-secrets); refusing to overwrite it",
			check:   unchanged("sealing-key")},
		{name: "whole-value write over an unmarked Secret", existing: []*corev1.Secret{foreign()}, op: func(c *Client) error { return c.Write(ctx, "sealing-key", "", []byte(`{"x":"y"}`)) },
			wantErr: "refusing to overwrite it", check: unchanged("sealing-key")},
		{name: "delete of an unmarked Secret", existing: []*corev1.Secret{foreign()}, op: func(c *Client) error { return c.Delete(ctx, "sealing-key", "") },
			wantErr: "Secret remote/sealing-key was not created by PushSecret (no label managed-by=external-secrets); refusing to delete it",
			check:   unchanged("sealing-key")},
		{name: "delete of a property of an unmarked Secret", existing: []*corev1.Secret{foreign()}, op: func(c *Client) error { return c.Delete(ctx, "sealing-key", "tls.key") },
			wantErr: "refusing to change it", check: unchanged("sealing-key")},
		{name: "delete of a marked Secret", existing: []*corev1.Secret{marked()}, op: func(c *Client) error { return c.Delete(ctx, "pushed", "") },
			check: func(t *testing.T, cs *fake.Clientset) {
				if _, err := cs.CoreV1().Secrets(ns).Get(ctx, "pushed", metav1.GetOptions{}); err == nil {
					t.Fatal("the pushed Secret outlived its deletion")
				}
			}},
		{name: "annotation allows an update", existing: []*corev1.Secret{foreign()}, overwrite: true, op: func(c *Client) error { return c.Write(ctx, "sealing-key", "extra", []byte("v")) },
			check: func(t *testing.T, cs *fake.Clientset) {
				s := get(t, cs, ns, "sealing-key")
				if string(s.Data["extra"]) != "v" || string(s.Data["tls.key"]) != "private" || s.Labels["managed-by"] != "" {
					t.Fatalf("labels %v data %v", s.Labels, s.Data)
				}
			}},
		{name: "annotation allows a delete", existing: []*corev1.Secret{foreign()}, overwrite: true, op: func(c *Client) error { return c.Delete(ctx, "sealing-key", "") },
			check: func(t *testing.T, cs *fake.Clientset) {
				if _, err := cs.CoreV1().Secrets(ns).Get(ctx, "sealing-key", metav1.GetOptions{}); err == nil {
					t.Fatal("not deleted")
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := fake.NewSimpleClientset()
			for _, s := range tc.existing {
				if _, err := cs.CoreV1().Secrets(ns).Create(ctx, s, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			c := &Client{remoteNS: ns, secrets: cs.CoreV1(), mayOverwrite: tc.overwrite}
			err := tc.op(c)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatal(err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			case err != nil && (strings.Contains(err.Error(), "private") || strings.Contains(err.Error(), "evil")):
				t.Fatalf("the error quotes a value: %v", err)
			}
			tc.check(t, cs)
		})
	}
}

func TestMayOverwriteAnnotationReachesTheClient(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  bool
	}{{"true", true}, {"", false}, {"yes", false}} {
		s := &esv1.ClusterSecretStore{
			ObjectMeta: metav1.ObjectMeta{Name: "c"},
			Spec: esv1.SecretStoreSpec{Provider: &esv1.SecretStoreProvider{Kubernetes: &esv1.KubernetesProvider{
				Auth: &esv1.KubernetesAuth{Token: &esv1.TokenAuth{BearerToken: esv1.SecretKeySelector{Name: "t", Key: "t"}}}}}},
		}
		if tc.value != "" {
			s.Annotations = map[string]string{MayOverwriteAnnotation: tc.value}
		}
		k := &tokenKube{Reader: fakeclient.NewClientBuilder().WithObjects(&corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: "user", Name: "t"}, Data: map[string][]byte{"t": []byte("tok")}}).Build()}
		c, err := New(&rest.Config{Host: "https://local:6443"}).NewClient(context.Background(), s, k, "user")
		if err != nil {
			t.Fatal(err)
		}
		if got := c.(*Client).mayOverwrite; got != tc.want {
			t.Errorf("annotation %q: mayOverwrite %v, want %v", tc.value, got, tc.want)
		}
	}
}

func get(t *testing.T, cs *fake.Clientset, ns, name string) *corev1.Secret {
	t.Helper()
	s, err := cs.CoreV1().Secrets(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func unchanged(name string) func(t *testing.T, cs *fake.Clientset) {
	return func(t *testing.T, cs *fake.Clientset) {
		s := get(t, cs, "remote", name)
		if len(s.Data) != 1 || string(s.Data["tls.key"]) != "private" || len(s.Labels) != 0 {
			t.Fatalf("the foreign Secret changed: labels %v, %d keys", s.Labels, len(s.Data))
		}
	}
}

func TestIsUserName(t *testing.T) {
	for s, want := range map[string]bool{
		"system:serviceaccount:ns:sa": true,
		"alice@example.com":           true,
		"a-b_c.d":                     true,
		"a/b":                         false,
		"":                            false,
		strings.Repeat("a", 128):      true,
		strings.Repeat("a", 129):      false,
		"alice bob":                   false,
		"evil\n":                      false,
		"émile":                       false,
	} {
		if got := isUserName(s); got != want {
			t.Errorf("isUserName(%q) = %v, want %v", s, got, want)
		}
	}
}
