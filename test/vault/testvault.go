// Package testvault runs a real HashiCorp Vault server (v1.14.2, built by
// hack/vaulttools/build.sh) in dev mode on loopback for tests: a random
// port, a random root token, and a file audit device so tests can count the
// requests Vault served. Dev mode keeps everything in memory, so a restart
// starts from empty storage on the same address and root token.
//
// A missing binary is built, never skipped: a cold build takes 15-25 minutes
// once per machine, then the version-keyed cache answers at once.
package testvault

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	testcluster "github.com/keyward/keyward/test/cluster"
	"github.com/keyward/keyward/test/proc"
)

// Options tune a server. The zero value is a plain dev server.
type Options struct {
	// Config is extra HCL given with -config, for example a TLS listener
	// next to the dev listener.
	Config string
}

// Server is a running Vault dev server.
type Server struct {
	// Addr is the dev listener, http://127.0.0.1:PORT.
	Addr string
	// RootToken is the dev root token.
	RootToken string
	// Client is an API client acting with the root token.
	Client *api.Client
	// AuditLog is the file audit device's log.
	AuditLog string

	bin, dir string
	port     int
	opts     Options
	cmd      *exec.Cmd
	exited   chan error
	log      *os.File
}

// Start starts a server for the test and stops it when the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	s, err := New(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// New starts a server; the caller stops it with Stop.
func New(ctx context.Context, opts Options) (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "keyward-testvault-")
	if err != nil {
		return nil, fmt.Errorf("testvault: %w", err)
	}
	var tok [16]byte
	if _, err := rand.Read(tok[:]); err != nil {
		return nil, fmt.Errorf("testvault: %w", err)
	}
	s := &Server{RootToken: "root-" + hex.EncodeToString(tok[:]), bin: bin, dir: dir, opts: opts,
		AuditLog: filepath.Join(dir, "audit.log")}
	// A port picked by the kernel may be taken again before Vault binds it; try a few.
	for attempt := 0; ; attempt++ {
		if s.port, err = freePort(); err == nil {
			if err = s.start(ctx); err == nil {
				return s, nil
			}
		}
		if attempt == 4 || ctx.Err() != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
}

// Restart stops the server and starts it again on the same address with the
// same root token. Storage is empty afterwards (dev mode keeps it in memory),
// and the audit device is enabled again on the same file.
func (s *Server) Restart(ctx context.Context) error {
	s.halt()
	return s.start(ctx)
}

// Halt stops the server process, keeping its files, so that a later
// Restart brings it back on the same address.
func (s *Server) Halt() { s.halt() }

// Stop ends the server and removes its files.
func (s *Server) Stop() {
	s.halt()
	os.RemoveAll(s.dir)
}

func (s *Server) halt() {
	if s.cmd == nil {
		return
	}
	proc.Stop(s.cmd.Process, s.exited, 10*time.Second)
	s.cmd = nil
	if s.log != nil {
		s.log.Close()
		s.log = nil
	}
}

func (s *Server) start(ctx context.Context) error {
	s.Addr = fmt.Sprintf("http://127.0.0.1:%d", s.port)
	args := []string{"server", "-dev",
		"-dev-root-token-id=" + s.RootToken,
		"-dev-listen-address=" + fmt.Sprintf("127.0.0.1:%d", s.port),
		"-dev-no-store-token",
		"-log-level=warn",
	}
	if s.opts.Config != "" {
		cfg := filepath.Join(s.dir, "extra.hcl")
		if err := os.WriteFile(cfg, []byte(s.opts.Config), 0o600); err != nil {
			return fmt.Errorf("testvault: %w", err)
		}
		args = append(args, "-config="+cfg)
	}
	log, err := os.OpenFile(filepath.Join(s.dir, "vault.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("testvault: %w", err)
	}
	cmd := exec.Command(s.bin, args...)
	// Nothing of the developer's Vault setup (VAULT_ADDR, VAULT_TOKEN, ~/.vault-token) leaks in.
	cmd.Env = []string{"HOME=" + s.dir, "PATH=" + os.Getenv("PATH")}
	cmd.Stdout, cmd.Stderr = log, log
	// Die with the test binary, whatever way it ends.
	waited, err := proc.Start(cmd)
	if err != nil {
		log.Close()
		return fmt.Errorf("testvault: starting %s: %w", s.bin, err)
	}
	s.cmd, s.log, s.exited = cmd, log, make(chan error, 1)
	go func() { s.exited <- <-waited }()
	if err := s.waitHealthy(ctx); err != nil {
		s.halt()
		return err
	}

	cfg := api.DefaultConfig()
	cfg.Address = s.Addr
	c, err := api.NewClient(cfg)
	if err != nil {
		s.halt()
		return fmt.Errorf("testvault: %w", err)
	}
	c.SetToken(s.RootToken)
	c.ClearNamespace()
	s.Client = c
	err = c.Sys().EnableAuditWithOptionsWithContext(ctx, "file", &api.EnableAuditOptions{
		Type: "file", Options: map[string]string{"file_path": s.AuditLog},
	})
	if err != nil {
		s.halt()
		return fmt.Errorf("testvault: enabling the file audit device: %w", err)
	}
	return nil
}

// waitHealthy polls /v1/sys/health until Vault is unsealed and active.
func (s *Server) waitHealthy(ctx context.Context) error {
	hc := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		select {
		case err := <-s.exited:
			s.exited <- err
			return fmt.Errorf("testvault: vault exited at start (%v); log:\n%s", err, s.LogTail(30))
		default:
		}
		resp, err := hc.Get(s.Addr + "/v1/sys/health")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("testvault: vault at %s not healthy in time; log:\n%s", s.Addr, s.LogTail(30))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// LogTail returns the server's last log lines, for failure messages.
func (s *Server) LogTail(lines int) string {
	return proc.TailFile(filepath.Join(s.dir, "vault.log"), lines)
}

// Request is one request the audit device logged.
type Request struct {
	Operation string // read, list, create, update, delete
	Path      string // for example secret/data/aura/production/postgres
}

// AppRole turns on AppRole auth and makes role, whose tokens carry policy
// (HCL, stored under the role's name), with fixed role and secret IDs, so
// a store can log in as an application would.
func (s *Server) AppRole(ctx context.Context, role, policy, roleID, secretID string) error {
	if err := s.Client.Sys().PutPolicyWithContext(ctx, role, policy); err != nil {
		return fmt.Errorf("testvault: policy %s: %w", role, err)
	}
	for _, w := range []struct {
		path string
		body map[string]any
	}{
		{"sys/auth/approle", map[string]any{"type": "approle"}},
		{"auth/approle/role/" + role, map[string]any{"token_policies": role, "token_ttl": "1h"}},
		{"auth/approle/role/" + role + "/role-id", map[string]any{"role_id": roleID}},
		{"auth/approle/role/" + role + "/custom-secret-id", map[string]any{"secret_id": secretID}},
	} {
		if _, err := s.Client.Logical().WriteWithContext(ctx, w.path, w.body); err != nil {
			return fmt.Errorf("testvault: writing %s: %w", w.path, err)
		}
	}
	return nil
}

// AuditMark is a position in the audit log; Requests(mark) returns what
// came after it.
func (s *Server) AuditMark() int64 {
	st, err := os.Stat(s.AuditLog)
	if err != nil {
		return 0
	}
	return st.Size()
}

// Requests returns the requests logged after mark (0 for all), in order.
func (s *Server) Requests(mark int64) ([]Request, error) {
	f, err := os.Open(s.AuditLog)
	if err != nil {
		return nil, fmt.Errorf("testvault: %w", err)
	}
	defer f.Close()
	if _, err := f.Seek(mark, io.SeekStart); err != nil {
		return nil, fmt.Errorf("testvault: %w", err)
	}
	var out []Request
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.Contains(line, []byte(`"type":"request"`)) {
			continue
		}
		var e struct {
			Type    string `json:"type"`
			Request struct {
				Operation string `json:"operation"`
				Path      string `json:"path"`
			} `json:"request"`
		}
		if err := json.Unmarshal(line, &e); err != nil {
			// The last line may be half written.
			continue
		}
		if e.Type == "request" {
			out = append(out, Request{Operation: e.Request.Operation, Path: e.Request.Path})
		}
	}
	return out, sc.Err()
}

// Count tallies requests by "operation path", for example
// "read secret/data/app" or "update auth/approle/login".
func Count(reqs []Request) map[string]int {
	out := map[string]int{}
	for _, r := range reqs {
		out[r.Operation+" "+r.Path]++
	}
	return out
}

// Binary returns the vault binary, building it with hack/vaulttools/build.sh
// when the cache lacks it (the script waits for a build already running).
func Binary() (string, error) {
	root, err := testcluster.RepoRoot()
	if err != nil {
		return "", err
	}
	script := filepath.Join(root, "hack", "vaulttools", "build.sh")
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(script)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("testvault: building vault with %s: %w\n%s", script, err, stderr.String())
	}
	bin := filepath.Join(strings.TrimSpace(stdout.String()), "vault")
	if st, err := os.Stat(bin); err != nil || st.Mode()&0o111 == 0 {
		return "", fmt.Errorf("testvault: %s finished but left no vault binary at %s", script, bin)
	}
	return bin, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("testvault: finding a free port: %w", err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return strconv.Atoi(port)
}
