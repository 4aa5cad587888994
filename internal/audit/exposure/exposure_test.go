package exposure

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/keyward/keyward/internal/audit"
	"github.com/keyward/keyward/internal/audit/inventory"
	"github.com/keyward/keyward/test/leak"
)

const planted = "planted-exposure-4711"

func meta(ns, name string) metav1.ObjectMeta { return metav1.ObjectMeta{Namespace: ns, Name: name} }

// base is what every case starts from: the Secret whose value is planted.
func base() *inventory.Snapshot {
	return &inventory.Snapshot{Secrets: []corev1.Secret{{
		ObjectMeta: meta("app", "db"),
		Data:       map[string][]byte{"password": []byte(planted), "user": []byte("admin"), "ca.crt": []byte("-----BEGIN CERTIFICATE----- public")},
	}}}
}

func helmRelease(t *testing.T, manifest string, config map[string]any) corev1.Secret {
	t.Helper()
	body, err := json.Marshal(map[string]any{"name": "shop", "manifest": manifest, "config": config, "version": 1})
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(body)
	zw.Close()
	return corev1.Secret{
		ObjectMeta: meta("app", "sh.helm.release.v1.shop.v1"), Type: helmReleaseType,
		Data: map[string][]byte{"release": []byte(base64.StdEncoding.EncodeToString(gz.Bytes()))},
	}
}

func pod(name string, labels map[string]string, c corev1.Container, volumes ...corev1.Volume) corev1.Pod {
	if c.Name == "" {
		c.Name = "main"
	}
	return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: name, Labels: labels},
		Spec: corev1.PodSpec{Containers: []corev1.Container{c}, Volumes: volumes}}
}

func secretVolume(name string) corev1.Volume {
	return corev1.Volume{Name: "v", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: name}}}
}

func policy(name string, types ...networkingv1.PolicyType) networkingv1.NetworkPolicy {
	return networkingv1.NetworkPolicy{ObjectMeta: meta("app", name),
		Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "api"}}, PolicyTypes: types}}
}

func TestRules(t *testing.T) {
	lastApplied := func(v string) map[string]string { return map[string]string{lastAppliedAnnotation: v} }
	tests := []struct {
		name string
		add  func(s *inventory.Snapshot)
		want []string // "rule kind/ns/name field severity", in report order
	}{
		{"last-applied with data", func(s *inventory.Snapshot) {
			s.Secrets[0].Annotations = lastApplied(`{"apiVersion":"v1","kind":"Secret","data":{"password":"x"}}`)
		}, []string{"last-applied Secret/app/db metadata.annotations[kubectl.kubernetes.io/last-applied-configuration] high"}},
		{"last-applied with stringData", func(s *inventory.Snapshot) {
			s.Secrets[0].Annotations = lastApplied(`{"stringData":{"password":"x"}}`)
		}, []string{"last-applied Secret/app/db metadata.annotations[kubectl.kubernetes.io/last-applied-configuration] high"}},
		{"near miss: last-applied without data", func(s *inventory.Snapshot) {
			s.Secrets[0].Annotations = lastApplied(`{"apiVersion":"v1","kind":"Secret","metadata":{"name":"db"}}`)
		}, nil},

		{"configmap holds the value in a properties file", func(s *inventory.Snapshot) {
			s.ConfigMaps = []corev1.ConfigMap{{ObjectMeta: meta("web", "cfg"), Data: map[string]string{"app.properties": "url=jdbc:x\ndb.password=" + planted + "\n"}}}
		}, []string{"configmap-copy ConfigMap/web/cfg data.app.properties high"}},
		{"configmap holds the value in a URL", func(s *inventory.Snapshot) {
			s.ConfigMaps = []corev1.ConfigMap{{ObjectMeta: meta("app", "cfg"), Data: map[string]string{"DSN": "postgres://admin:" + planted + "@db:5432/app"}}}
		}, []string{"configmap-copy ConfigMap/app/cfg data.DSN high"}},
		{"near miss: configmap with a longer value, the short user and ca.crt", func(s *inventory.Snapshot) {
			s.ConfigMaps = []corev1.ConfigMap{{ObjectMeta: meta("app", "cfg"), Data: map[string]string{
				"a": "x" + planted, "user": "admin", "ca.crt": "-----BEGIN CERTIFICATE----- public"}}}
		}, nil},

		{"env literal and arg", func(s *inventory.Snapshot) {
			s.Pods = []corev1.Pod{pod("p", nil, corev1.Container{Env: []corev1.EnvVar{{Name: "DB_PASSWORD", Value: planted}}, Args: []string{"--password=" + planted}})}
		}, []string{
			"env-literal Pod/app/p spec.containers[main].args[0] high",
			"env-literal Pod/app/p spec.containers[main].env[DB_PASSWORD] high",
		}},
		{"deployment template env literal", func(s *inventory.Snapshot) {
			s.Deployments = []appsv1.Deployment{{ObjectMeta: meta("app", "d"), Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				InitContainers: []corev1.Container{{Name: "init", Env: []corev1.EnvVar{{Name: "PW", Value: planted}}}}}}}}}
		}, []string{"env-literal Deployment/app/d spec.template.spec.initContainers[init].env[PW] high"}},
		{"near miss: env with other values", func(s *inventory.Snapshot) {
			s.Pods = []corev1.Pod{pod("p", nil, corev1.Container{Env: []corev1.EnvVar{{Name: "USER", Value: "admin"}, {Name: "X", Value: "not-the-planted-value"}}, Args: []string{"--verbose"}})}
		}, nil},

		{"secret as env (CIS 5.4.1)", func(s *inventory.Snapshot) {
			s.Pods = []corev1.Pod{pod("p", nil, corev1.Container{
				Env:     []corev1.EnvVar{{Name: "PW", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "db"}, Key: "password"}}}},
				EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "db"}}}},
			})}
		}, []string{
			"secret-env Pod/app/p spec.containers[main].envFrom[0] low",
			"secret-env Pod/app/p spec.containers[main].env[PW] low",
		}},
		{"near miss: env from a ConfigMap", func(s *inventory.Snapshot) {
			s.Pods = []corev1.Pod{pod("p", nil, corev1.Container{
				Env: []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "c"}, Key: "k"}}}},
			})}
		}, nil},

		{"event message", func(s *inventory.Snapshot) {
			s.Events = []corev1.Event{{ObjectMeta: meta("app", "e1"), Message: `Back-off: container failed: password "` + planted + `" rejected`}}
		}, []string{"event-copy Event/app/e1 message high"}},
		{"near miss: event naming the Secret", func(s *inventory.Snapshot) {
			s.Events = []corev1.Event{{ObjectMeta: meta("app", "e1"), Message: `Secret "db" key password not found`}}
		}, nil},

		{"helm release manifest (base64) and values", func(s *inventory.Snapshot) {
			manifest := "apiVersion: v1\nkind: Secret\ndata:\n  password: " + base64.StdEncoding.EncodeToString([]byte(planted)) + "\n"
			s.Secrets = append(s.Secrets, helmRelease(t, manifest, map[string]any{"db": map[string]any{"password": planted}}))
		}, []string{
			"helm-release Secret/app/sh.helm.release.v1.shop.v1 data.release (release.config) high",
			"helm-release Secret/app/sh.helm.release.v1.shop.v1 data.release (release.manifest) high",
		}},
		{"near miss: helm release without Secret values", func(s *inventory.Snapshot) {
			s.Secrets = append(s.Secrets, helmRelease(t, "kind: ConfigMap\ndata:\n  a: b\n", map[string]any{"replicas": 3}))
		}, nil},

		{"pod mounting a Secret, no policy", func(s *inventory.Snapshot) {
			s.Pods = []corev1.Pod{pod("p", map[string]string{"app": "api"}, corev1.Container{}, secretVolume("db"))}
			s.NetworkPolicies = []networkingv1.NetworkPolicy{}
		}, []string{"no-networkpolicy Pod/app/p  medium"}},
		{"pod mounting a Secret, ingress only", func(s *inventory.Snapshot) {
			s.Pods = []corev1.Pod{pod("p", map[string]string{"app": "api"}, corev1.Container{}, secretVolume("db"))}
			s.NetworkPolicies = []networkingv1.NetworkPolicy{policy("in")}
		}, []string{"no-networkpolicy Pod/app/p  low"}},
		{"near miss: pod selected for both", func(s *inventory.Snapshot) {
			s.Pods = []corev1.Pod{pod("p", map[string]string{"app": "api"}, corev1.Container{}, secretVolume("db"))}
			s.NetworkPolicies = []networkingv1.NetworkPolicy{policy("both", networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress)}
		}, nil},
		{"near miss: pod mounting no Secret", func(s *inventory.Snapshot) {
			s.Pods = []corev1.Pod{pod("p", nil, corev1.Container{})}
			s.NetworkPolicies = []networkingv1.NetworkPolicy{}
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := base()
			tt.add(s)
			res, err := Check(s, Options{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range res.Records.([]Record) {
				got = append(got, fmt.Sprintf("%s %s/%s/%s %s %s", r.Rule, r.Kind, r.Namespace, r.Name, r.Field, r.Severity))
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
			if len(res.Findings) != len(got) {
				t.Errorf("%d findings for %d records", len(res.Findings), len(got))
			}
			out, _ := json.Marshal(res.Records)
			var text strings.Builder
			text.Write(out)
			for _, f := range res.Findings {
				text.WriteString(f.Message)
			}
			for _, row := range res.Rows {
				text.WriteString(strings.Join(row, " "))
			}
			for _, f := range leak.In(text.String(), planted) {
				t.Errorf("output holds the value as %s", f.Name)
			}
		})
	}
}

// A release that cannot be read is said so, without its bytes.
func TestHelmReleaseUnreadable(t *testing.T) {
	tests := map[string][]byte{
		"not base64": []byte("%%%"),
		"not gzip":   []byte(base64.StdEncoding.EncodeToString([]byte{0x1f, 0x8b, 0, 0})),
		"not JSON":   []byte(base64.StdEncoding.EncodeToString([]byte(planted))),
	}
	for name, data := range tests {
		s := base()
		s.Secrets = append(s.Secrets, corev1.Secret{ObjectMeta: meta("app", "sh.helm.release.v1.x.v1"), Type: helmReleaseType, Data: map[string][]byte{"release": data}})
		res, err := Check(s, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "app/sh.helm.release.v1.x.v1 not searched") {
			t.Errorf("%s: notes %q", name, res.Notes)
		}
		for _, f := range leak.In(strings.Join(res.Notes, " "), planted) {
			t.Errorf("%s: note holds the value as %s", name, f.Name)
		}
	}
}

// A Pod its Deployment made is reported through the Deployment only.
func TestPodsOfWorkloadsReportedOnce(t *testing.T) {
	s := base()
	yes := true
	p := pod("d-abc", nil, corev1.Container{Env: []corev1.EnvVar{{Name: "PW", Value: planted}}})
	p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "d-abc", Controller: &yes}}
	s.Pods = []corev1.Pod{p}
	s.Deployments = []appsv1.Deployment{{ObjectMeta: meta("app", "d"), Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: p.Spec}}}}
	res, err := Check(s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	recs := res.Records.([]Record)
	if len(recs) != 1 || recs[0].Kind != "Deployment" {
		t.Errorf("records %+v", recs)
	}
	if res.Max() != audit.High {
		t.Errorf("max %s", res.Max())
	}
}
