package audit

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/keyward/keyward/internal/manager"
	testcluster "github.com/keyward/keyward/test/cluster"
)

// TestControllerAuditAlertsOnANewReader runs the scheduled audit as a
// ServiceAccount holding only deploy/components/audit's role, and plants a
// new cluster-wide reader of Secrets while it runs: the reader must show
// in keyward_audit_findings and as an Event, and no planted value anywhere.
func TestControllerAuditAlertsOnANewReader(t *testing.T) {
	ctx := background(t)
	c := plainCluster(t)
	cs := c.Clientset
	const ns = "aud-ctl"
	const planted = "ctl-planted-value-93b1"
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "api-key"},
		StringData: map[string]string{"key": planted}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// The shipped role, bound to the controller's ServiceAccount.
	root, err := testcluster.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "deploy", "components", "audit", "role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var role rbacv1.ClusterRole
	if err := yaml.Unmarshal([]byte(strings.TrimPrefix(string(b), "---\n")), &role); err != nil {
		t.Fatal(err)
	}
	role.Name = "aud-ctl-keyward-audit"
	if _, err := cs.RbacV1().ClusterRoles().Create(ctx, &role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	bind := func(name, saNS, sa, roleName string) {
		t.Helper()
		if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: saNS, Name: sa}},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: roleName},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	bind("aud-ctl-keyward-audit", ns, "keyward", role.Name)
	cfg, err := c.ServiceAccountConfig(ctx, ns, "keyward")
	if err != nil {
		t.Fatal(err)
	}

	reg := prometheus.NewRegistry()
	mgr, err := manager.New(ctx, manager.Options{
		Config: cfg, MetricsAddr: "0", HealthAddr: "0", Registry: reg, Enabled: manager.Only(),
		SkipNameValidation: true,
		Audit:              manager.AuditOptions{Enabled: true, Interval: time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	mctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mctx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	})

	high := func() float64 {
		n, _ := gatherValue(reg, "keyward_audit_findings", map[string]string{"check": "access", "severity": "high"})
		return n
	}
	waitFor(t, 30*time.Second, "a first audit run", func() bool {
		_, ok := gatherValue(reg, "keyward_audit_last_run_timestamp_seconds", nil)
		return ok
	})
	before := high()

	// A new ServiceAccount that reads every Secret of the cluster.
	if _, err := cs.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "aud-ctl-snoop"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"list"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	bind("aud-ctl-snoop", ns, "snoop", "aud-ctl-snoop")
	// And one that can exec into the Pod mounting api-key: an Event on the Secret.
	if _, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "api"},
		Spec: corev1.PodSpec{AutomountServiceAccountToken: new(bool), Containers: []corev1.Container{{Name: "api", Image: "api:1"}},
			Volumes: []corev1.Volume{{Name: "k", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "api-key"}}}}}},
		metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "exec"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods/exec"}, Verbs: []string{"create"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "exec"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: "debugger"}},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "exec"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// And a copy of the value in a ConfigMap: an exposure finding.
	if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings"},
		Data: map[string]string{"API_KEY": planted}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	waitFor(t, 30*time.Second, "the new cluster-wide reader counted", func() bool { return high() > before })
	waitFor(t, 30*time.Second, "the ConfigMap copy counted", func() bool {
		n, _ := gatherValue(reg, "keyward_audit_findings", map[string]string{"check": "exposure", "severity": "high"})
		return n >= 1
	})
	for _, check := range []string{"age", "reuse"} {
		if _, ok := gatherValue(reg, "keyward_audit_findings", map[string]string{"check": check, "severity": "high"}); !ok {
			t.Errorf("no keyward_audit_findings series for check %s", check)
		}
	}
	var events []corev1.Event
	waitFor(t, 30*time.Second, "an Event on api-key for the exec path", func() bool {
		l, err := cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false
		}
		events = l.Items
		for _, e := range l.Items {
			if e.Reason == "AuditFinding" && e.InvolvedObject.Kind == "Secret" && e.InvolvedObject.Name == "api-key" &&
				strings.Contains(e.Message, "debugger") && e.Type == corev1.EventTypeWarning {
				return true
			}
		}
		return false
	})
	var all strings.Builder
	for _, e := range events {
		all.WriteString(e.Message + "\n")
	}
	noLeak(t, result{stdout: all.String(), commandLine: "events"}, planted)
	if n, _ := gatherValue(reg, "keyward_audit_errors_total", map[string]string{"check": "list"}); n != 0 {
		t.Errorf("the audit could not list with deploy/components/audit's role: %v errors", n)
	}
}

// gatherValue reads one series of reg; ok is false when it does not exist.
func gatherValue(reg *prometheus.Registry, name string, labels map[string]string) (float64, bool) {
	mfs, err := reg.Gather()
	if err != nil {
		return 0, false
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue metrics
				}
			}
			switch {
			case m.Gauge != nil:
				return m.GetGauge().GetValue(), true
			case m.Counter != nil:
				return m.GetCounter().GetValue(), true
			}
		}
	}
	return 0, false
}

func waitFor(t *testing.T, limit time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
