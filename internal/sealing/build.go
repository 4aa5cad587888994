package sealing

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Item is one key and value of a Secret being built.
type Item struct {
	Key    string
	Value  []byte
	Source string // where it came from, for error messages (never the value)
}

var keyRE = regexp.MustCompile(`^[-._a-zA-Z0-9]+$`)

// NewSecret builds a Secret as `kubectl create secret generic` does: keys
// must be valid Secret keys and may appear only once.
func NewSecret(name, namespace string, typ corev1.SecretType, items []Item) (*corev1.Secret, error) {
	if name == "" {
		return nil, fmt.Errorf("a Secret name is required")
	}
	s := &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Type:       typ,
		Data:       map[string][]byte{},
	}
	if s.Type == "" {
		s.Type = corev1.SecretTypeOpaque
	}
	for _, it := range items {
		if len(it.Key) > 253 || !keyRE.MatchString(it.Key) {
			return nil, fmt.Errorf("Secret %q: %s: key %q is not valid (use letters, digits, '-', '_' and '.')", name, it.Source, it.Key)
		}
		if _, dup := s.Data[it.Key]; dup {
			return nil, fmt.Errorf("Secret %q: %s: key %q is given twice", name, it.Source, it.Key)
		}
		s.Data[it.Key] = it.Value
	}
	return s, nil
}

// ParseLiteral reads a --from-literal key=value.
func ParseLiteral(s string) (Item, error) {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		// The value may be a secret pasted without its key: do not echo it.
		return Item{}, fmt.Errorf("--from-literal must be key=value")
	}
	return Item{Key: k, Value: []byte(v), Source: "--from-literal " + k}, nil
}

// ParseEnvFile reads a --from-env-file as kubectl does: KEY=VALUE lines,
// blank lines and '#' comments skipped, leading whitespace of the line
// trimmed, the value taken verbatim.
func ParseEnvFile(path string, b []byte) ([]Item, error) {
	var out []Item
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Bytes()
		if n == 1 {
			line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
		}
		if !utf8.Valid(line) {
			return nil, fmt.Errorf("%s line %d: not UTF-8", path, n)
		}
		l := strings.TrimLeft(string(line), " \t")
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			return nil, fmt.Errorf("%s line %d: expected KEY=VALUE (values are never read from the environment)", path, n)
		}
		out = append(out, Item{Key: k, Value: []byte(v), Source: fmt.Sprintf("%s line %d", path, n)})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// NewTLSSecret builds a kubernetes.io/tls Secret from PEM files.
func NewTLSSecret(name, namespace string, cert, key []byte) (*corev1.Secret, error) {
	return NewSecret(name, namespace, corev1.SecretTypeTLS, []Item{
		{Key: corev1.TLSCertKey, Value: cert, Source: "--tls-cert"},
		{Key: corev1.TLSPrivateKeyKey, Value: key, Source: "--tls-key"},
	})
}

// DefaultDockerServer is kubectl's default --docker-server.
const DefaultDockerServer = "https://index.docker.io/v1/"

type dockerAuth struct {
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	Email    string `json:"email,omitempty"`
	Auth     string `json:"auth,omitempty"`
}

// NewDockerRegistrySecret builds a kubernetes.io/dockerconfigjson Secret
// with the same .dockerconfigjson kubectl writes.
func NewDockerRegistrySecret(name, namespace, server, user, password, email string) (*corev1.Secret, error) {
	if user == "" || password == "" {
		return nil, fmt.Errorf("Secret %q: --docker-username and --docker-password are required", name)
	}
	if server == "" {
		server = DefaultDockerServer
	}
	cfg := map[string]map[string]dockerAuth{"auths": {server: {
		Username: user, Password: password, Email: email,
		Auth: base64.StdEncoding.EncodeToString([]byte(user + ":" + password)),
	}}}
	b, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("Secret %q: encoding .dockerconfigjson: %w", name, err)
	}
	return NewSecret(name, namespace, corev1.SecretTypeDockerConfigJson, []Item{
		{Key: corev1.DockerConfigJsonKey, Value: b, Source: "docker registry flags"},
	})
}
