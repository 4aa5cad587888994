package testcluster

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	testnet "github.com/keyward/keyward/test/net"
)

var exposed atomic.Int32

// ExposeService makes the server at target (for example 127.0.0.1:8080)
// reachable through the API server's service proxy as Service
// namespace/name, port "http" — the path kubeseal takes to a controller.
//
// The API server proxies only to endpoints that belong to a Pod with that
// IP, and never to loopback addresses; this cluster has no kubelet and no
// Pod network. So the server is relayed from a test host (a network
// namespace of this machine, see package testnet), and a Pod object that
// is never scheduled carries the test host's IP. The returned function
// removes the test host; the Kubernetes objects go with their namespace.
func (c *Cluster) ExposeService(ctx context.Context, namespace, name, target string) (func(), error) {
	host, err := testnet.New(os.Getpid()*8 + int(exposed.Add(1)))
	if err != nil {
		return nil, err
	}
	ln, err := host.Listen(0)
	if err != nil {
		host.Close()
		return nil, err
	}
	go testnet.Forward(ln, target)
	stop := func() { ln.Close(); host.Close() }
	if err := c.publish(ctx, namespace, name, host.IP.String(), int32(ln.Addr().(*net.TCPAddr).Port)); err != nil {
		stop()
		return nil, err
	}
	if err := c.waitProxied(ctx, namespace, name); err != nil {
		stop()
		return nil, err
	}
	return stop, nil
}

// waitProxied waits until the API server's service proxy knows the
// Service's endpoint: it answers "no endpoints available" until its
// informer has seen the EndpointSlice, and a test that asks at once fails.
func (c *Cluster) waitProxied(ctx context.Context, namespace, name string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		// client-go words a 503 generically; the API server's reason is
		// in the body.
		body, err := c.Clientset.CoreV1().Services(namespace).ProxyGet("http", name, "http", "/", nil).DoRaw(ctx)
		noEndpoint := err != nil && strings.Contains(err.Error()+string(body), "no endpoints available")
		if err == nil || (ctx.Err() == nil && !noEndpoint) {
			return nil // the server behind the Service answered
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("testcluster: the service proxy found no endpoint for %s/%s: %w", namespace, name, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (c *Cluster) publish(ctx context.Context, namespace, name, ip string, port int32) error {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name + "-testhost"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "server", Image: "testhost"}}},
	}
	if err := c.Client.Create(ctx, pod); err != nil {
		return fmt.Errorf("testcluster: stand-in Pod: %w", err)
	}
	pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}}
	if err := c.Client.Status().Update(ctx, pod); err != nil {
		return fmt.Errorf("testcluster: stand-in Pod status: %w", err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{
			Name: "http", Port: 8080, TargetPort: intstr.FromInt32(port),
		}}},
	}
	ready, portName := true, "http"
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name + "-testhost",
			Labels: map[string]string{discoveryv1.LabelServiceName: name}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{
			Addresses:  []string{ip},
			Conditions: discoveryv1.EndpointConditions{Ready: &ready},
			TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: namespace, Name: pod.Name, UID: pod.UID},
		}},
		Ports: []discoveryv1.EndpointPort{{Name: &portName, Port: &port}},
	}
	for _, obj := range []client.Object{svc, slice} {
		if err := c.Client.Create(ctx, obj); err != nil {
			return fmt.Errorf("testcluster: %T %s/%s: %w", obj, namespace, obj.GetName(), err)
		}
	}
	return nil
}
