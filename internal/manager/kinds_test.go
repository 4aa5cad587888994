package manager

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// fakeDiscovery serves the resources in it, by group-version.
type fakeDiscovery struct {
	served map[string][]string
	err    error
}

func (f *fakeDiscovery) ServerResourcesForGroupVersion(gv string) (*metav1.APIResourceList, error) {
	if f.err != nil {
		return nil, f.err
	}
	names, ok := f.served[gv]
	if !ok {
		return nil, apierrors.NewNotFound(schema.GroupResource{}, gv)
	}
	list := &metav1.APIResourceList{GroupVersion: gv}
	for _, n := range names {
		list.APIResources = append(list.APIResources, metav1.APIResource{Name: n})
	}
	return list, nil
}

// fakeReviews allows every request except those in denied
// ("verb resource namespace"), and counts the reviews.
type fakeReviews struct {
	denied map[string]bool
	asked  int
}

func (f *fakeReviews) Create(_ context.Context, r *authorizationv1.SelfSubjectAccessReview, _ metav1.CreateOptions) (*authorizationv1.SelfSubjectAccessReview, error) {
	f.asked++
	a := r.Spec.ResourceAttributes
	out := r.DeepCopy()
	out.Status.Allowed = !f.denied[a.Verb+" "+a.Resource+" "+a.Namespace]
	return out, nil
}

type kindsFixture struct {
	disc    *fakeDiscovery
	reviews *fakeReviews
	reg     *prometheus.Registry
	k       *kindServer
	started []string
	fail    map[string]error
	logs    *[]string
}

func newKindsFixture(t *testing.T, namespaces ...string) *kindsFixture {
	t.Helper()
	f := &kindsFixture{
		disc:    &fakeDiscovery{served: map[string][]string{}},
		reviews: &fakeReviews{denied: map[string]bool{}},
		reg:     prometheus.NewRegistry(),
		fail:    map[string]error{},
		logs:    &[]string{},
	}
	log := funcr.New(func(prefix, args string) { *f.logs = append(*f.logs, args) }, funcr.Options{})
	k, err := newKindServer(f.disc, f.reviews, namespaces, f.reg, log, time.Millisecond, func(_ context.Context, c Controller) error {
		if err := f.fail[c.Name]; err != nil {
			return err
		}
		f.started = append(f.started, c.Name)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	f.k = k
	return f
}

func (f *kindsFixture) served(t *testing.T, kind string) float64 {
	t.Helper()
	return testutil.ToFloat64(f.k.served.WithLabelValues(kind))
}

func (f *kindsFixture) logged(s string) bool {
	return slices.ContainsFunc(*f.logs, func(l string) bool { return strings.Contains(l, s) })
}

func (f *kindsFixture) addAll() {
	for _, c := range Controllers() {
		f.k.add(c)
	}
}

// Bitnami's install: only the SealedSecret CRD.
func TestKindsServeOnlyWhatIsInstalled(t *testing.T) {
	f := newKindsFixture(t)
	f.disc.served["bitnami.com/v1alpha1"] = []string{"sealedsecrets", "sealedsecrets/status"}
	f.addAll()
	if err := f.k.check(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.started, []string{"sealedsecret"}) {
		t.Fatalf("started %v, want only sealedsecret", f.started)
	}
	if got := f.served(t, "SealedSecret"); got != 1 {
		t.Errorf("SealedSecret served = %v, want 1", got)
	}
	for _, kind := range []string{"ExternalSecret", "SecretStore", "ClusterSecretStore", "ClusterExternalSecret", "PushSecret"} {
		if got := f.served(t, kind); got != 0 {
			t.Errorf("%s served = %v, want 0", kind, got)
		}
	}
	if !f.logged(`"msg"="not serving ExternalSecret: the API server does not serve externalsecrets.external-secrets.io/v1 (its CRD is not installed)`) {
		t.Errorf("no log says ExternalSecret is not served; logs:\n%s", strings.Join(*f.logs, "\n"))
	}
}

// A CRD installed later starts its controller at the next check, and an
// unserved kind is logged once, not at every check.
func TestKindsStartWhenCRDAppears(t *testing.T) {
	f := newKindsFixture(t)
	f.addAll()
	if err := f.k.check(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	if len(f.started) != 0 {
		t.Fatalf("started %v with no CRD installed", f.started)
	}
	n := len(*f.logs)
	if err := f.k.check(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	if len(*f.logs) != n {
		t.Errorf("a second check logged again: %v", (*f.logs)[n:])
	}
	f.disc.served["external-secrets.io/v1"] = []string{"externalsecrets", "secretstores", "clustersecretstores", "clusterexternalsecrets"}
	if err := f.k.check(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	want := []string{"externalsecret", "secretstore", "clustersecretstore", "clusterexternalsecret"}
	if !slices.Equal(f.started, want) {
		t.Fatalf("started %v, want %v", f.started, want)
	}
	if f.served(t, "ExternalSecret") != 1 || f.served(t, "PushSecret") != 0 {
		t.Errorf("served: ExternalSecret %v, PushSecret %v", f.served(t, "ExternalSecret"), f.served(t, "PushSecret"))
	}
	if !f.logged(`"msg"="serving ExternalSecret"`) {
		t.Errorf("no log says ExternalSecret is served now; logs:\n%s", strings.Join(*f.logs, "\n"))
	}
	// Start runs the remaining checks on its ticker and returns once
	// everything is served.
	f.disc.served["external-secrets.io/v1alpha1"] = []string{"pushsecrets"}
	f.disc.served["bitnami.com/v1alpha1"] = []string{"sealedsecrets"}
	f.disc.served["apps/v1"] = []string{"deployments", "statefulsets", "daemonsets"}
	f.disc.served["v1"] = []string{"secrets"}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.k.Start(ctx); err != nil || ctx.Err() != nil {
		t.Fatalf("Start: %v (ctx %v)", err, ctx.Err())
	}
	if len(f.started) != len(Controllers()) {
		t.Errorf("started %v, want every controller", f.started)
	}
}

// ESO's RBAC has no rights on SealedSecrets: the kind is reported and not
// set up, so no watch spins on Forbidden.
func TestKindsForbiddenIsReported(t *testing.T) {
	f := newKindsFixture(t)
	f.disc.served["bitnami.com/v1alpha1"] = []string{"sealedsecrets"}
	f.disc.served["external-secrets.io/v1"] = []string{"externalsecrets"}
	f.reviews.denied["watch sealedsecrets "] = true
	f.addAll()
	if err := f.k.check(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.started, []string{"externalsecret"}) {
		t.Fatalf("started %v, want only externalsecret", f.started)
	}
	if f.served(t, "SealedSecret") != 0 {
		t.Error("SealedSecret reported served without the right to watch it")
	}
	if !f.logged("not serving SealedSecret: the controller may not watch sealedsecrets.bitnami.com/v1alpha1 cluster-wide (RBAC)") {
		t.Errorf("no log names the missing right; logs:\n%s", strings.Join(*f.logs, "\n"))
	}
	// Granted later: served at the next check.
	delete(f.reviews.denied, "watch sealedsecrets ")
	if err := f.k.check(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	if f.served(t, "SealedSecret") != 1 {
		t.Error("SealedSecret not served once the right is granted")
	}
}

// Limited to namespaces, rights are checked in each of them.
func TestKindsRightsCheckedPerNamespace(t *testing.T) {
	f := newKindsFixture(t, "team-a", "team-b")
	f.disc.served["bitnami.com/v1alpha1"] = []string{"sealedsecrets"}
	f.reviews.denied["list sealedsecrets team-b"] = true
	f.k.add(controllerNamed(t, "sealedsecret"))
	if err := f.k.check(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	if len(f.started) != 0 || !f.logged("may not list sealedsecrets.bitnami.com/v1alpha1 in namespace team-b") {
		t.Fatalf("started %v; logs:\n%s", f.started, strings.Join(*f.logs, "\n"))
	}
}

// Switched-off controllers are reported and never started.
func TestKindsOffStaysOff(t *testing.T) {
	f := newKindsFixture(t)
	f.disc.served["bitnami.com/v1alpha1"] = []string{"sealedsecrets"}
	f.k.off(controllerNamed(t, "sealedsecret"), "its controller is switched off")
	if err := f.k.check(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	if len(f.started) != 0 || f.served(t, "SealedSecret") != 0 || !f.logged("not serving SealedSecret: its controller is switched off") {
		t.Fatalf("started %v, served %v", f.started, f.served(t, "SealedSecret"))
	}
}

// A failed setup stops the start; later it is logged and the others run.
func TestKindsSetupFailure(t *testing.T) {
	f := newKindsFixture(t)
	f.disc.served["bitnami.com/v1alpha1"] = []string{"sealedsecrets"}
	f.fail["sealedsecret"] = errors.New("listen tcp :8080: address already in use")
	f.k.add(controllerNamed(t, "sealedsecret"))
	if err := f.k.check(context.Background(), true); err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("at start: err = %v", err)
	}
	f.k.pending = nil
	f.k.add(controllerNamed(t, "sealedsecret"))
	if err := f.k.check(context.Background(), false); err != nil {
		t.Fatalf("while running: err = %v, want it logged", err)
	}
	if len(f.k.pending) != 0 || f.served(t, "SealedSecret") != 0 || !f.logged("setting up its controller failed") {
		t.Fatalf("pending %v, served %v; logs:\n%s", f.k.pending, f.served(t, "SealedSecret"), strings.Join(*f.logs, "\n"))
	}
}

// A discovery error is a reason to try again, not to stop.
func TestKindsDiscoveryErrorRetried(t *testing.T) {
	f := newKindsFixture(t)
	f.disc.err = errors.New("connection refused")
	f.k.add(controllerNamed(t, "sealedsecret"))
	if err := f.k.check(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	if len(f.k.pending) != 1 || !f.logged("could not check") {
		t.Fatalf("pending %v; logs:\n%s", f.k.pending, strings.Join(*f.logs, "\n"))
	}
	f.disc.err = nil
	f.disc.served["bitnami.com/v1alpha1"] = []string{"sealedsecrets"}
	if err := f.k.check(context.Background(), false); err != nil || len(f.started) != 1 {
		t.Fatalf("err %v, started %v", err, f.started)
	}
}

// Every controller names its kind and what it watches.
func TestControllersNameTheirKinds(t *testing.T) {
	kinds := map[string]bool{}
	for _, c := range Controllers() {
		if c.Kind == "" || len(c.Needs) == 0 || kinds[c.Kind] {
			t.Errorf("controller %s: kind %q, needs %v (kinds must be set and distinct)", c.Name, c.Kind, c.Needs)
		}
		kinds[c.Kind] = true
	}
}

func controllerNamed(t *testing.T, name string) Controller {
	t.Helper()
	for _, c := range Controllers() {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no controller %s", name)
	return Controller{}
}
