// Package gcpfake is a wire-level stand-in for Google Secret Manager, for
// tests only: a real gRPC server on loopback implementing Google's
// generated secretmanagerpb.SecretManagerServiceServer over an in-memory
// store, so the official client talks to it exactly as to Google. It checks
// requests against the published API (resource name patterns, secret ID
// and label rules, page sizes), answers with the status codes the service
// documents, counts calls per method, and can require a bearer token and
// fail chosen calls (throttling, permission denied).
//
// Reference: https://cloud.google.com/secret-manager/docs/reference/rpc/google.cloud.secretmanager.v1
package gcpfake

import (
	"context"
	"crypto/tls"
	"fmt"
	"maps"
	"net"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Published constraints.
var (
	secretIDRe   = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,255}$`)
	parentRe     = regexp.MustCompile(`^projects/[^/]+(/locations/[^/]+)?$`)
	secretRe     = regexp.MustCompile(`^(projects/[^/]+(?:/locations/[^/]+)?)/secrets/([a-zA-Z0-9_-]{1,255})$`)
	versionRe    = regexp.MustCompile(`^(projects/[^/]+(?:/locations/[^/]+)?/secrets/[a-zA-Z0-9_-]{1,255})/versions/([^/]+)$`)
	labelKeyRe   = regexp.MustCompile(`^[\p{Ll}\p{Lo}][\p{Ll}\p{Lo}\p{N}_-]{0,62}$`)
	labelValueRe = regexp.MustCompile(`^[\p{Ll}\p{Lo}\p{N}_-]{0,63}$`)
	labelFilter  = regexp.MustCompile(`^labels\.([\p{Ll}\p{Lo}][\p{Ll}\p{Lo}\p{N}_-]*)[=:]"?([^" ]*)"?$`)
)

const (
	maxPageSize = 25000
	// defaultPageSize: with page_size 0 "the server decides"; a small page
	// makes clients page.
	defaultPageSize = 25
	maxPayload      = 64 << 10
)

type version struct {
	data  []byte
	state secretmanagerpb.SecretVersion_State
}

type secret struct {
	labels      map[string]string
	annotations map[string]string
	versions    []*version // versions[i] is version i+1
}

// Server is the fake service.
type Server struct {
	secretmanagerpb.UnimplementedSecretManagerServiceServer

	// Addr is the host:port the gRPC server listens on.
	Addr string

	grpc *grpc.Server
	mu   sync.Mutex
	// token, when set, must come as "authorization: Bearer <token>".
	token   string
	secrets map[string]*secret // by full secret name
	calls   map[string]int
	fail    map[string]*failure
}

type failure struct {
	n    int
	code codes.Code
	msg  string
}

// Start serves on a random loopback port, over TLS when cert is not nil
// (the official client only sends OAuth tokens over TLS).
func Start(cert *tls.Certificate) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	var opts []grpc.ServerOption
	if cert != nil {
		opts = append(opts, grpc.Creds(credentials.NewServerTLSFromCert(cert)))
	}
	s := &Server{Addr: ln.Addr().String(), grpc: grpc.NewServer(opts...),
		secrets: map[string]*secret{}, calls: map[string]int{}, fail: map[string]*failure{}}
	s.grpc.RegisterService(&secretmanagerpb.SecretManagerService_ServiceDesc, s)
	go s.grpc.Serve(ln)
	return s, nil
}

// Stop ends the server.
func (s *Server) Stop() { s.grpc.Stop() }

// RequireToken makes every call need this bearer token (Unauthenticated otherwise).
func (s *Server) RequireToken(token string) {
	s.mu.Lock()
	s.token = token
	s.mu.Unlock()
}

// Fail makes the next n calls to method (for example "AccessSecretVersion")
// fail with code, as RESOURCE_EXHAUSTED for quota or PERMISSION_DENIED.
func (s *Server) Fail(method string, n int, code codes.Code, msg string) {
	s.mu.Lock()
	s.fail[method] = &failure{n: n, code: code, msg: msg}
	s.mu.Unlock()
}

// Calls returns the calls per method so far, failed ones included.
func (s *Server) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.calls)
}

// Count returns the calls method received.
func (s *Server) Count(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

// Reset forgets every secret, count and failure.
func (s *Server) Reset() {
	s.mu.Lock()
	s.secrets, s.calls, s.fail = map[string]*secret{}, map[string]int{}, map[string]*failure{}
	s.mu.Unlock()
}

// Put seeds a secret (created if needed) with a new enabled version and
// labels, returning the version number.
func (s *Server) Put(project, id string, value []byte, labels map[string]string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := "projects/" + project + "/secrets/" + id
	sec := s.secrets[name]
	if sec == nil {
		sec = &secret{labels: map[string]string{}, annotations: map[string]string{}}
		s.secrets[name] = sec
	}
	for k, v := range labels {
		sec.labels[k] = v
	}
	sec.versions = append(sec.versions, &version{data: append([]byte(nil), value...), state: secretmanagerpb.SecretVersion_ENABLED})
	return len(sec.versions)
}

// Disable disables one version of a seeded secret.
func (s *Server) Disable(project, id string, v int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secrets["projects/"+project+"/secrets/"+id].versions[v-1].state = secretmanagerpb.SecretVersion_DISABLED
}

// enter counts a call, checks its token and applies a planned failure.
// It returns with s.mu held when err is nil.
func (s *Server) enter(ctx context.Context, method string) error {
	s.mu.Lock()
	s.calls[method]++
	if s.token != "" {
		md, _ := metadata.FromIncomingContext(ctx)
		if got := md.Get("authorization"); len(got) != 1 || got[0] != "Bearer "+s.token {
			s.mu.Unlock()
			return status.Error(codes.Unauthenticated, "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.")
		}
	}
	if f := s.fail[method]; f != nil && f.n > 0 {
		f.n--
		s.mu.Unlock()
		return status.Error(f.code, f.msg)
	}
	return nil
}

func notFound(what string) error {
	return status.Errorf(codes.NotFound, "%s not found or has no versions.", what)
}

// AccessSecretVersion implements the RPC; version is a number or "latest".
func (s *Server) AccessSecretVersion(ctx context.Context, req *secretmanagerpb.AccessSecretVersionRequest) (*secretmanagerpb.AccessSecretVersionResponse, error) {
	if err := s.enter(ctx, "AccessSecretVersion"); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	m := versionRe.FindStringSubmatch(req.GetName())
	if m == nil {
		return nil, status.Errorf(codes.InvalidArgument, "Invalid resource field value in the request: name %q", req.GetName())
	}
	sec := s.secrets[m[1]]
	if sec == nil || len(sec.versions) == 0 {
		return nil, notFound("Secret [" + m[1] + "]")
	}
	n := len(sec.versions)
	if m[2] != "latest" {
		var err error
		if n, err = strconv.Atoi(m[2]); err != nil || n < 1 {
			return nil, status.Errorf(codes.InvalidArgument, "Invalid version id %q", m[2])
		}
		if n > len(sec.versions) {
			return nil, notFound("Secret Version [" + req.GetName() + "]")
		}
	}
	v := sec.versions[n-1]
	if v.state != secretmanagerpb.SecretVersion_ENABLED {
		return nil, status.Errorf(codes.FailedPrecondition, "Secret Version [%s/versions/%d] is in %s state.", m[1], n, v.state)
	}
	return &secretmanagerpb.AccessSecretVersionResponse{
		Name:    fmt.Sprintf("%s/versions/%d", m[1], n),
		Payload: &secretmanagerpb.SecretPayload{Data: append([]byte(nil), v.data...)},
	}, nil
}

func (s *Server) secretPB(name string, sec *secret) *secretmanagerpb.Secret {
	return &secretmanagerpb.Secret{Name: name, Labels: copyMap(sec.labels), Annotations: copyMap(sec.annotations),
		CreateTime: timestamppb.Now(), Replication: &secretmanagerpb.Replication{
			Replication: &secretmanagerpb.Replication_Automatic_{Automatic: &secretmanagerpb.Replication_Automatic{}}}}
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// GetSecret implements the RPC.
func (s *Server) GetSecret(ctx context.Context, req *secretmanagerpb.GetSecretRequest) (*secretmanagerpb.Secret, error) {
	if err := s.enter(ctx, "GetSecret"); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	if !secretRe.MatchString(req.GetName()) {
		return nil, status.Errorf(codes.InvalidArgument, "Invalid resource field value in the request: name %q", req.GetName())
	}
	sec := s.secrets[req.GetName()]
	if sec == nil {
		return nil, status.Errorf(codes.NotFound, "Secret [%s] not found.", req.GetName())
	}
	return s.secretPB(req.GetName(), sec), nil
}

// ListSecrets implements the RPC, with page tokens and the labels.KEY=VALUE
// (or labels.KEY:VALUE) filter terms, joined by spaces or AND.
func (s *Server) ListSecrets(ctx context.Context, req *secretmanagerpb.ListSecretsRequest) (*secretmanagerpb.ListSecretsResponse, error) {
	if err := s.enter(ctx, "ListSecrets"); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	if !parentRe.MatchString(req.GetParent()) {
		return nil, status.Errorf(codes.InvalidArgument, "Invalid resource field value in the request: parent %q", req.GetParent())
	}
	size := int(req.GetPageSize())
	if size < 0 || size > maxPageSize {
		return nil, status.Errorf(codes.InvalidArgument, "page_size must be between 0 and %d", maxPageSize)
	}
	if size == 0 {
		size = defaultPageSize
	}
	want := map[string]string{}
	for _, term := range strings.Fields(strings.ReplaceAll(req.GetFilter(), " AND ", " ")) {
		m := labelFilter.FindStringSubmatch(term)
		if m == nil {
			return nil, status.Errorf(codes.InvalidArgument, "this stand-in understands only labels.KEY=VALUE filter terms, not %q", term)
		}
		want[m[1]] = m[2]
	}
	var names []string
	for name, sec := range s.secrets {
		if !strings.HasPrefix(name, req.GetParent()+"/secrets/") {
			continue
		}
		ok := true
		for k, v := range want {
			if got, has := sec.labels[k]; !has || (v != "*" && got != v) {
				ok = false
			}
		}
		if ok {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	start := 0
	if t := req.GetPageToken(); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 || n > len(names) {
			return nil, status.Error(codes.InvalidArgument, "invalid page token")
		}
		start = n
	}
	end := min(start+size, len(names))
	resp := &secretmanagerpb.ListSecretsResponse{TotalSize: int32(len(names))}
	for _, name := range names[start:end] {
		resp.Secrets = append(resp.Secrets, s.secretPB(name, s.secrets[name]))
	}
	if end < len(names) {
		resp.NextPageToken = strconv.Itoa(end)
	}
	return resp, nil
}

func checkLabels(labels map[string]string) error {
	if len(labels) > 64 {
		return status.Error(codes.InvalidArgument, "a secret has at most 64 labels")
	}
	for k, v := range labels {
		if !labelKeyRe.MatchString(k) || !labelValueRe.MatchString(v) {
			return status.Errorf(codes.InvalidArgument, "invalid label %q=%q", k, v)
		}
	}
	return nil
}

// CreateSecret implements the RPC.
func (s *Server) CreateSecret(ctx context.Context, req *secretmanagerpb.CreateSecretRequest) (*secretmanagerpb.Secret, error) {
	if err := s.enter(ctx, "CreateSecret"); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	if !parentRe.MatchString(req.GetParent()) || !secretIDRe.MatchString(req.GetSecretId()) {
		return nil, status.Errorf(codes.InvalidArgument, "invalid parent %q or secret_id %q", req.GetParent(), req.GetSecretId())
	}
	global := !strings.Contains(req.GetParent(), "/locations/")
	if global && req.GetSecret().GetReplication() == nil {
		return nil, status.Error(codes.InvalidArgument, "Secret.replication is required")
	}
	if err := checkLabels(req.GetSecret().GetLabels()); err != nil {
		return nil, err
	}
	name := req.GetParent() + "/secrets/" + req.GetSecretId()
	if s.secrets[name] != nil {
		return nil, status.Errorf(codes.AlreadyExists, "Secret [%s] already exists.", name)
	}
	sec := &secret{labels: copyMap(req.GetSecret().GetLabels()), annotations: copyMap(req.GetSecret().GetAnnotations())}
	s.secrets[name] = sec
	return s.secretPB(name, sec), nil
}

// AddSecretVersion implements the RPC.
func (s *Server) AddSecretVersion(ctx context.Context, req *secretmanagerpb.AddSecretVersionRequest) (*secretmanagerpb.SecretVersion, error) {
	if err := s.enter(ctx, "AddSecretVersion"); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	if !secretRe.MatchString(req.GetParent()) {
		return nil, status.Errorf(codes.InvalidArgument, "invalid parent %q", req.GetParent())
	}
	if len(req.GetPayload().GetData()) > maxPayload {
		return nil, status.Error(codes.InvalidArgument, "payload is larger than 64 KiB")
	}
	sec := s.secrets[req.GetParent()]
	if sec == nil {
		return nil, status.Errorf(codes.NotFound, "Secret [%s] not found.", req.GetParent())
	}
	sec.versions = append(sec.versions, &version{data: append([]byte(nil), req.GetPayload().GetData()...), state: secretmanagerpb.SecretVersion_ENABLED})
	return &secretmanagerpb.SecretVersion{Name: fmt.Sprintf("%s/versions/%d", req.GetParent(), len(sec.versions)), State: secretmanagerpb.SecretVersion_ENABLED}, nil
}

// DeleteSecret implements the RPC.
func (s *Server) DeleteSecret(ctx context.Context, req *secretmanagerpb.DeleteSecretRequest) (*emptypb.Empty, error) {
	if err := s.enter(ctx, "DeleteSecret"); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	if s.secrets[req.GetName()] == nil {
		return nil, status.Errorf(codes.NotFound, "Secret [%s] not found.", req.GetName())
	}
	delete(s.secrets, req.GetName())
	return &emptypb.Empty{}, nil
}

// ListSecretVersions implements the RPC, newest first as the service does.
func (s *Server) ListSecretVersions(ctx context.Context, req *secretmanagerpb.ListSecretVersionsRequest) (*secretmanagerpb.ListSecretVersionsResponse, error) {
	if err := s.enter(ctx, "ListSecretVersions"); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	sec := s.secrets[req.GetParent()]
	if sec == nil {
		return nil, status.Errorf(codes.NotFound, "Secret [%s] not found.", req.GetParent())
	}
	resp := &secretmanagerpb.ListSecretVersionsResponse{TotalSize: int32(len(sec.versions))}
	for i := len(sec.versions) - 1; i >= 0; i-- {
		resp.Versions = append(resp.Versions, &secretmanagerpb.SecretVersion{
			Name: fmt.Sprintf("%s/versions/%d", req.GetParent(), i+1), State: sec.versions[i].state})
	}
	return resp, nil
}
