package cli

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/keyward/keyward/internal/controllerclient"
	"github.com/keyward/keyward/internal/keys"
)

// kubeFlags are kubectl's client flags, which kubeseal accepts too.
// --kubeconfig and --context live in sealFlags, since offline sealing reads
// the kubeconfig for its default namespace.
type kubeFlags struct {
	cluster, user, server, token                string
	as, asUID                                   string
	asGroups                                    []string
	certificateAuthority, clientCert, clientKey string
	tlsServerName, proxyURL, requestTimeout     string
	username, password                          string
	insecureSkipTLSVerify, disableCompression   bool
}

func (k *kubeFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&k.cluster, "cluster", "", "kubeconfig cluster to use")
	fs.StringVar(&k.user, "user", "", "kubeconfig user to use")
	fs.StringVarP(&k.server, "server", "s", "", "address of the Kubernetes API server")
	fs.StringVar(&k.token, "token", "", "bearer token for the API server")
	fs.StringVar(&k.as, "as", "", "user to impersonate")
	fs.StringVar(&k.asUID, "as-uid", "", "UID to impersonate")
	fs.StringArrayVar(&k.asGroups, "as-group", nil, "group to impersonate (repeatable)")
	fs.StringVar(&k.certificateAuthority, "certificate-authority", "", "CA file for the API server")
	fs.StringVar(&k.clientCert, "client-certificate", "", "client certificate file for TLS")
	fs.StringVar(&k.clientKey, "client-key", "", "client key file for TLS")
	fs.StringVar(&k.tlsServerName, "tls-server-name", "", "server name to check the API server's certificate against")
	fs.StringVar(&k.proxyURL, "proxy-url", "", "proxy to reach the API server through")
	fs.StringVar(&k.requestTimeout, "request-timeout", "0", "time to wait for one API request (0 waits forever)")
	fs.StringVar(&k.username, "username", "", "basic-auth user name for the API server")
	fs.StringVar(&k.password, "password", "", "basic-auth password for the API server")
	fs.BoolVar(&k.insecureSkipTLSVerify, "insecure-skip-tls-verify", false, "do not check the API server's certificate (insecure)")
	fs.BoolVar(&k.disableCompression, "disable-compression", false, "do not ask the API server for compressed responses")
}

// restConfig loads the kubeconfig (--kubeconfig, else $KUBECONFIG, else
// ~/.kube/config) with the command line's overrides, as kubectl does.
func (k *kubeFlags) restConfig(getenv func(string) string, kubeconfig, context string) (*rest.Config, error) {
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: kubeconfig}
	if kubeconfig == "" {
		if env := getenv("KUBECONFIG"); env != "" {
			rules.Precedence = filepath.SplitList(env)
		} else if home := getenv("HOME"); home != "" {
			rules.Precedence = []string{filepath.Join(home, ".kube", "config")}
		}
	}
	overrides := &clientcmd.ConfigOverrides{
		CurrentContext: context,
		Context:        clientcmdapi.Context{Cluster: k.cluster, AuthInfo: k.user},
		ClusterInfo: clientcmdapi.Cluster{
			Server: k.server, CertificateAuthority: k.certificateAuthority,
			InsecureSkipTLSVerify: k.insecureSkipTLSVerify, TLSServerName: k.tlsServerName,
			ProxyURL: k.proxyURL, DisableCompression: k.disableCompression,
		},
		AuthInfo: clientcmdapi.AuthInfo{
			Token: k.token, Impersonate: k.as, ImpersonateUID: k.asUID, ImpersonateGroups: k.asGroups,
			ClientCertificate: k.clientCert, ClientKey: k.clientKey, Username: k.username, Password: k.password,
		},
	}
	if k.requestTimeout != "" && k.requestTimeout != "0" {
		if _, err := time.ParseDuration(k.requestTimeout); err != nil {
			return nil, fmt.Errorf("--request-timeout %q: %w", k.requestTimeout, err)
		}
		overrides.Timeout = k.requestTimeout
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
	if clientcmd.IsEmptyConfig(err) {
		return nil, errors.New("no cluster to connect to: no kubeconfig found (--kubeconfig, $KUBECONFIG, ~/.kube/config) and no --server")
	}
	if err != nil {
		return nil, fmt.Errorf("connecting to the cluster: %w", err)
	}
	return cfg, nil
}

// controllerFlags say which controller to reach, and how.
type controllerFlags struct {
	name, namespace string
	kube            kubeFlags
}

func (c *controllerFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&c.name, "controller-name", controllerclient.DefaultName, "name of the controller's Service")
	fs.StringVar(&c.namespace, "controller-namespace", controllerclient.DefaultNamespace, "namespace of the controller's Service")
	c.kube.register(fs)
}

// client connects to the controller through the API server's service proxy.
func (c *controllerFlags) client(getenv func(string) string, kubeconfig, context string) (*controllerclient.Client, error) {
	cfg, err := c.kube.restConfig(getenv, kubeconfig, context)
	if err != nil {
		return nil, err
	}
	return controllerclient.New(cfg, c.namespace, c.name)
}

// certFlags say where the sealing certificate comes from: --cert, or else
// the controller, through the API server as kubeseal fetches it. The
// kubeconfig flags also give offline sealing its default namespace.
type certFlags struct {
	cert       string
	kubeconfig string
	context    string
	controller controllerFlags
}

func (c *certFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&c.cert, "cert", "", "certificate to seal with: a file, or an http(s):// or file:// URL (default: fetch it from the controller)")
	fs.StringVar(&c.kubeconfig, "kubeconfig", "", "kubeconfig file (default $KUBECONFIG, else ~/.kube/config)")
	fs.StringVar(&c.context, "context", "", "kubeconfig context to use")
	c.controller.register(fs)
}

// certPEM returns the certificate PEM and a name for where it came from.
func (c *certFlags) certPEM(ctx context.Context, getenv func(string) string) ([]byte, string, error) {
	if c.cert != "" {
		b, err := readCertBytes(ctx, c.cert)
		return b, c.cert, err
	}
	where := "from controller " + c.controller.namespace + "/" + c.controller.name
	client, err := c.controller.client(getenv, c.kubeconfig, c.context)
	if err == nil {
		var b []byte
		if b, err = client.FetchCert(ctx); err == nil {
			return b, where, nil
		}
	}
	return nil, "", fmt.Errorf("fetching the certificate %s (pass --cert FILE|URL to seal offline): %w", where, err)
}

// publicKey is the RSA key of the sealing certificate, refused when the
// certificate has expired or is not RSA.
func (c *certFlags) publicKey(ctx context.Context, getenv func(string) string) (*rsa.PublicKey, error) {
	b, where, err := c.certPEM(ctx, getenv)
	if err != nil {
		return nil, err
	}
	_, pub, err := keys.ParseCert(b, time.Now())
	if err != nil {
		return nil, fmt.Errorf("certificate %s: %w", where, err)
	}
	return pub, nil
}
