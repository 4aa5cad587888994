// Package testmoto runs a real moto_server (the AWS service emulator) on
// loopback for tests of the AWS provider: Secrets Manager, Parameter Store
// and STS. In front of it sits a small counting proxy, so tests can count
// the calls each operation received and make the next calls to one
// operation fail with a throttling reply.
//
// moto_server must be on PATH; when it is not, Start fails (tests never
// skip for want of it).
package testmoto

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Server is a running moto_server behind the counting proxy.
type Server struct {
	// URL is the endpoint to give the AWS SDK (the proxy).
	URL string
	// MotoURL is moto_server itself.
	MotoURL string

	cmd   *exec.Cmd
	exit  chan error
	proxy *http.Server

	mu       sync.Mutex
	calls    map[string]int
	throttle map[string]int
}

var listening = regexp.MustCompile(`Running on (http://127\.0\.0\.1:\d+)`)

// Start runs moto_server on a random loopback port and waits until it answers.
func Start(ctx context.Context) (*Server, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, errors.New("moto_server is not on PATH: the AWS provider tests need it (it ships in this machine image as Python moto 5.x; `pip install 'moto[server]'` elsewhere)")
	}
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", "0")
	// Its own process group, so that Stop ends the Python server and any child.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting moto_server: %w", err)
	}
	s := &Server{cmd: cmd, exit: make(chan error, 1), calls: map[string]int{}, throttle: map[string]int{}}
	found := make(chan string, 1)
	var output bytes.Buffer
	var outMu sync.Mutex
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			outMu.Lock()
			if output.Len() < 8<<10 {
				output.WriteString(line + "\n")
			}
			outMu.Unlock()
			if m := listening.FindStringSubmatch(line); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}()
	go func() { s.exit <- cmd.Wait() }()

	fail := func(err error) (*Server, error) {
		s.kill()
		outMu.Lock()
		defer outMu.Unlock()
		return nil, fmt.Errorf("moto_server: %w\n%s", err, output.String())
	}
	select {
	case s.MotoURL = <-found:
	case err := <-s.exit:
		return fail(fmt.Errorf("exited before listening: %v", err))
	case <-ctx.Done():
		return fail(ctx.Err())
	}
	if err := s.waitReady(ctx); err != nil {
		return fail(err)
	}
	if err := s.startProxy(); err != nil {
		return fail(err)
	}
	return s, nil
}

func (s *Server) waitReady(ctx context.Context) error {
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.MotoURL+"/moto-api/", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready: %w (last error: %v)", ctx.Err(), err)
		case err := <-s.exit:
			return fmt.Errorf("exited while starting: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (s *Server) startProxy() error {
	target, err := url.Parse(s.MotoURL)
	if err != nil {
		return err
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	s.URL = "http://" + ln.Addr().String()
	s.proxy = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := operation(r)
		if op != "" && s.count(op) {
			// The shape AWS JSON and query protocols use for throttling.
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.Header().Set("X-Amzn-ErrorType", "ThrottlingException")
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"__type":"ThrottlingException","message":"Rate exceeded"}`)
			return
		}
		rp.ServeHTTP(w, r)
	})}
	go s.proxy.Serve(ln)
	return nil
}

// operation names the AWS operation of r: "secretsmanager.GetSecretValue",
// "AmazonSSM.GetParameter" (JSON protocol target) or "sts.AssumeRole"
// (query protocol Action).
func operation(r *http.Request) string {
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		return t
	}
	if r.Method != http.MethodPost || r.Body == nil {
		return ""
	}
	body, err := io.ReadAll(r.Body)
	r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return ""
	}
	v, err := url.ParseQuery(string(body))
	if err != nil || v.Get("Action") == "" {
		return ""
	}
	return "sts." + v.Get("Action")
}

// count records a call and reports whether it must be throttled.
func (s *Server) count(op string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[op]++
	if s.throttle[op] > 0 {
		s.throttle[op]--
		return true
	}
	return false
}

// Calls returns how many calls each operation received since the last
// Reset, throttled ones included.
func (s *Server) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.calls))
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

// Count returns the calls op received since the last Reset, where op is
// "secretsmanager.GetSecretValue", "AmazonSSM.GetParameter", "sts.AssumeRole"...
func (s *Server) Count(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// Throttle makes the next n calls to op fail with a ThrottlingException.
func (s *Server) Throttle(op string, n int) {
	s.mu.Lock()
	s.throttle[op] = n
	s.mu.Unlock()
}

// Reset empties moto (every service, every region) and the call counts.
func (s *Server) Reset(t testing.TB) {
	t.Helper()
	resp, err := http.Post(s.MotoURL+"/moto-api/reset", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatalf("resetting moto_server: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("resetting moto_server: HTTP %d", resp.StatusCode)
	}
	s.mu.Lock()
	s.calls = map[string]int{}
	s.throttle = map[string]int{}
	s.mu.Unlock()
}

// Stop ends moto_server and the proxy.
func (s *Server) Stop() {
	if s.proxy != nil {
		s.proxy.Close()
	}
	s.kill()
}

func (s *Server) kill() {
	if s.cmd.Process != nil {
		// The negative pid signals moto_server's own process group only.
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	}
	select {
	case <-s.exit:
	case <-time.After(10 * time.Second):
	}
}

// Main is a test package's TestMain body: it starts one moto_server for the
// package, hands it to set, runs the tests and stops it. A server that
// cannot start fails the package with the reason.
//
//	var moto *testmoto.Server
//	func TestMain(m *testing.M) { os.Exit(testmoto.Main(m, &moto)) }
func Main(m *testing.M, set **Server) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	s, err := Start(ctx)
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: %v\n", err)
		return 1
	}
	*set = s
	defer s.Stop()
	return m.Run()
}
