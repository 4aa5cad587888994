// Package controllerclient talks to a running sealing controller (Keyward's
// or Bitnami's) the way kubeseal does: through the Kubernetes API server's
// service proxy, at /api/v1/namespaces/NS/services/http:NAME:PORT/proxy/...
// so a client needs only API access, never a route to the controller Pod.
package controllerclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
)

// Defaults of the controller Service, as Bitnami's manifests name it.
const (
	DefaultName      = "sealed-secrets-controller"
	DefaultNamespace = "kube-system"
)

// ErrCannotDecrypt is Verify's answer for a SealedSecret the controller
// cannot open (HTTP 409).
var ErrCannotDecrypt = errors.New("the controller cannot decrypt it")

// Client reaches one controller Service.
type Client struct {
	kube      corev1client.CoreV1Interface
	namespace string
	name      string
}

// New returns a client for the controller Service namespace/name.
func New(cfg *rest.Config, namespace, name string) (*Client, error) {
	kube, err := corev1client.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("building Kubernetes client: %w", err)
	}
	return &Client{kube: kube, namespace: namespace, name: name}, nil
}

// FetchCert returns the controller's current sealing certificate (PEM).
func (c *Client) FetchCert(ctx context.Context) ([]byte, error) {
	return c.doOK(ctx, http.MethodGet, "v1/cert.pem", nil, "fetching the certificate")
}

// Verify asks whether the controller can open every item of the SealedSecret
// in manifest (one document, JSON or YAML). It returns ErrCannotDecrypt
// (wrapped with the controller's reason) when it cannot.
func (c *Client) Verify(ctx context.Context, manifest []byte) error {
	body, code, err := c.do(ctx, http.MethodPost, "v1/verify", manifest)
	if err != nil {
		return err
	}
	switch code {
	case http.StatusOK:
		return nil
	case http.StatusConflict:
		return fmt.Errorf("%w: %s", ErrCannotDecrypt, strings.TrimSpace(string(body)))
	}
	return c.httpError("verifying", code, body)
}

// Rotate has the controller re-seal the SealedSecret in manifest with its
// newest key, and returns the result as JSON.
func (c *Client) Rotate(ctx context.Context, manifest []byte) ([]byte, error) {
	return c.doOK(ctx, http.MethodPost, "v1/rotate", manifest, "re-encrypting")
}

// doOK is do for a call whose only good answer is 200 OK; doing names the
// call in the error.
func (c *Client) doOK(ctx context.Context, method, path string, body []byte, doing string) ([]byte, error) {
	out, code, err := c.do(ctx, method, path, body)
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, c.httpError(doing, code, out)
	}
	return out, nil
}

func (c *Client) do(ctx context.Context, method, path string, body []byte) ([]byte, int, error) {
	port, err := c.portName(ctx)
	if err != nil {
		return nil, 0, err
	}
	req := c.kube.RESTClient().Verb(method).
		Namespace(c.namespace).Resource("services").SubResource("proxy").
		Name(utilnet.JoinSchemeNamePort("http", c.name, port)).
		Suffix(path)
	if body != nil {
		req = req.Body(body).SetHeader("Content-Type", "application/json")
	}
	res := req.Do(ctx)
	var code int
	res.StatusCode(&code)
	raw, err := res.Raw()
	if err != nil && code == 0 {
		// A non-2xx answer in plain text (the controller's 409) comes back
		// as a Status error without the Result's code: take it from there.
		var status apierrors.APIStatus
		if !errors.As(err, &status) || status.Status().Code == 0 {
			return nil, 0, fmt.Errorf("reaching controller %s/%s through the API server: %w", c.namespace, c.name, err)
		}
		code = int(status.Status().Code)
		if d := status.Status().Details; len(raw) == 0 && d != nil && len(d.Causes) > 0 {
			raw = []byte(d.Causes[0].Message)
		}
	}
	// Non-2xx answers come back as errors too; the caller reads the code.
	if err != nil {
		var status apierrors.APIStatus
		if errors.As(err, &status) && len(raw) == 0 {
			raw = []byte(status.Status().Message)
		}
	}
	return raw, code, nil
}

// portName is the name of the Service's first port, the one kubeseal uses.
// When the Service cannot be read (a user allowed only the proxy), "http"
// is the name every install gives it.
func (c *Client) portName(ctx context.Context) (string, error) {
	svc, err := c.kube.Services(c.namespace).Get(ctx, c.name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return "", fmt.Errorf("controller Service %s/%s not found: is the controller installed? (--controller-namespace, --controller-name)", c.namespace, c.name)
	case apierrors.IsForbidden(err):
		return "http", nil
	case err != nil:
		return "", fmt.Errorf("reading controller Service %s/%s: %w", c.namespace, c.name, err)
	case len(svc.Spec.Ports) == 0:
		return "", fmt.Errorf("controller Service %s/%s has no ports", c.namespace, c.name)
	}
	return svc.Spec.Ports[0].Name, nil
}

func (c *Client) httpError(what string, code int, body []byte) error {
	msg := strings.TrimSpace(string(body))
	if len(msg) > 512 {
		msg = msg[:512] + "..."
	}
	return fmt.Errorf("%s with controller %s/%s: HTTP %d: %s", what, c.namespace, c.name, code, msg)
}
