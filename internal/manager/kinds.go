package manager

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// DefaultDiscoveryInterval is how often the API server is asked again for
// the kinds not served yet.
const DefaultDiscoveryInterval = 30 * time.Second

// resourceLister is the part of API discovery the kind server uses.
type resourceLister interface {
	ServerResourcesForGroupVersion(groupVersion string) (*metav1.APIResourceList, error)
}

// accessReviewer asks the API server what this controller may do. A
// SelfSubjectAccessReview needs no rights beyond being authenticated.
type accessReviewer interface {
	Create(ctx context.Context, r *authorizationv1.SelfSubjectAccessReview, opts metav1.CreateOptions) (*authorizationv1.SelfSubjectAccessReview, error)
}

// kindServer starts each controller once the API server serves the
// resources it watches and the controller may list and watch them. A
// controller installed in place of Bitnami's or ESO's finds only their CRDs
// and RBAC: what it cannot serve is said in the log and in
// keyward_controller_kind_served, and checked again every interval (API
// discovery, which needs no rights, unlike watching CRDs), so a CRD
// installed later, or rights granted later, start that controller without
// a restart.
type kindServer struct {
	discovery resourceLister
	reviews   accessReviewer
	// namespaces are where list and watch must be allowed; empty means
	// cluster-wide.
	namespaces []string
	served     *prometheus.GaugeVec
	log        logr.Logger
	interval   time.Duration
	setup      func(ctx context.Context, c Controller) error

	pending []Controller
	// said is the last reason logged per kind, so a kind that stays
	// unserved is not logged again every interval.
	said map[string]string
}

func newKindServer(d resourceLister, r accessReviewer, namespaces []string, reg prometheus.Registerer,
	log logr.Logger, interval time.Duration, setup func(context.Context, Controller) error,
) (*kindServer, error) {
	served := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "keyward_controller_kind_served",
		Help: "1 when the controller serves this kind; 0 when it is switched off, its CRD is not installed or the controller may not list and watch it.",
	}, []string{"kind"})
	if err := registerer(reg).Register(served); err != nil {
		return nil, fmt.Errorf("registering keyward_controller_kind_served: %w", err)
	}
	if interval <= 0 {
		interval = DefaultDiscoveryInterval
	}
	return &kindServer{discovery: d, reviews: r, namespaces: namespaces, served: served, log: log,
		interval: interval, setup: setup, said: map[string]string{}}, nil
}

// off records a controller that does not run whatever the cluster has.
func (k *kindServer) off(c Controller, why string) {
	k.served.WithLabelValues(c.Kind).Set(0)
	k.log.Info("not serving "+c.Kind+": "+why, "controller", c.Name)
}

// add queues a controller to start when its kind can be served.
func (k *kindServer) add(c Controller) {
	k.served.WithLabelValues(c.Kind).Set(0)
	k.pending = append(k.pending, c)
}

// check starts every pending controller that can now be served. At start
// (atStart) a failed setup is returned, as any start-up error; later it is
// logged and the kind stays unserved, since the process already serves
// others.
func (k *kindServer) check(ctx context.Context, atStart bool) error {
	groups := map[string]*metav1.APIResourceList{}
	var still []Controller
	for _, c := range k.pending {
		why, err := k.unservable(ctx, c, groups)
		if err != nil {
			why = "could not check: " + err.Error()
		}
		if why != "" {
			k.say(c, why)
			still = append(still, c)
			continue
		}
		if err := k.setup(ctx, c); err != nil {
			if atStart {
				return fmt.Errorf("setting up the %s controller: %w", c.Name, err)
			}
			k.log.Error(err, "not serving "+c.Kind+": setting up its controller failed; restart to try again", "controller", c.Name)
			continue
		}
		k.served.WithLabelValues(c.Kind).Set(1)
		k.log.Info("serving "+c.Kind, "controller", c.Name)
		delete(k.said, c.Kind)
	}
	k.pending = still
	return nil
}

// say logs why a kind is not served, when the reason changed.
func (k *kindServer) say(c Controller, why string) {
	if k.said[c.Kind] == why {
		return
	}
	k.said[c.Kind] = why
	k.log.Info("not serving "+c.Kind+": "+why+"; checking again every "+k.interval.String(), "controller", c.Name)
}

// unservable says why c cannot run now, or "" when it can. groups caches
// discovery answers for one pass.
func (k *kindServer) unservable(ctx context.Context, c Controller, groups map[string]*metav1.APIResourceList) (string, error) {
	for _, r := range c.Needs {
		gv := r.GroupVersion().String()
		list, seen := groups[gv]
		if !seen {
			var err error
			list, err = k.discovery.ServerResourcesForGroupVersion(gv)
			if apierrors.IsNotFound(err) {
				list, err = nil, nil
			}
			if err != nil {
				return "", fmt.Errorf("discovering %s: %w", gv, err)
			}
			groups[gv] = list
		}
		if !hasResource(list, r.Resource) {
			return "the API server does not serve " + resourceName(r) + " (its CRD is not installed)", nil
		}
	}
	namespaces := k.namespaces
	if len(namespaces) == 0 {
		namespaces = []string{""}
	}
	for _, r := range c.Needs {
		for _, ns := range namespaces {
			for _, verb := range []string{"list", "watch"} {
				ok, err := k.allowed(ctx, r, ns, verb)
				if err != nil {
					return "", err
				}
				if !ok {
					where := "cluster-wide"
					if ns != "" {
						where = "in namespace " + ns
					}
					return fmt.Sprintf("the controller may not %s %s %s (RBAC)", verb, resourceName(r), where), nil
				}
			}
		}
	}
	return "", nil
}

func (k *kindServer) allowed(ctx context.Context, r schema.GroupVersionResource, ns, verb string) (bool, error) {
	review, err := k.reviews.Create(ctx, &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
		ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: ns, Verb: verb, Group: r.Group, Version: r.Version, Resource: r.Resource},
	}}, metav1.CreateOptions{})
	if err != nil {
		return false, fmt.Errorf("asking whether the controller may %s %s: %w", verb, resourceName(r), err)
	}
	return review.Status.Allowed, nil
}

// Start checks again every interval until every kind is served or ctx
// ends. Every replica runs it: the controllers it starts are themselves
// held back until this replica leads.
func (k *kindServer) Start(ctx context.Context) error {
	t := time.NewTicker(k.interval)
	defer t.Stop()
	for len(k.pending) > 0 {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			_ = k.check(ctx, false)
		}
	}
	return nil
}

// NeedLeaderElection is false: see Start.
func (k *kindServer) NeedLeaderElection() bool { return false }

func hasResource(list *metav1.APIResourceList, resource string) bool {
	if list == nil {
		return false
	}
	for _, r := range list.APIResources {
		if r.Name == resource {
			return true
		}
	}
	return false
}

// resourceName spells r as kubectl does: externalsecrets.external-secrets.io/v1.
func resourceName(r schema.GroupVersionResource) string {
	return strings.TrimSuffix(r.Resource+"."+r.Group, ".") + "/" + r.Version
}
