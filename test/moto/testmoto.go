// Package testmoto runs a real moto_server (the AWS service emulator) on
// loopback for tests of the AWS provider: Secrets Manager, Parameter Store
// and STS. In front of it sits a small counting proxy, so tests can count
// the calls each operation received and make the next calls to one
// operation fail with an AWS error reply moto never sends by itself
// (throttling, access denied, bad credentials).
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
	"maps"
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

	mu     sync.Mutex
	calls  map[string]int
	fail   map[string]*failure
	params map[string][]url.Values
}

// failure is an error reply to send instead of forwarding a call.
type failure struct {
	n      int
	status int
	code   string
	msg    string
}

var listening = regexp.MustCompile(`Running on (http://127\.0\.0\.1:\d+)`)

// Start runs moto_server on a random loopback port and waits until it answers.
func Start(ctx context.Context) (*Server, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, errors.New("moto_server is not on PATH: the AWS provider tests need it (it ships in this machine image as Python moto 5.x; `pip install 'moto[server]'` elsewhere)")
	}
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", "0")
	// The tests' AWS settings are for the client side; moto runs without them.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
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
	s := &Server{cmd: cmd, exit: make(chan error, 1), calls: map[string]int{}, fail: map[string]*failure{}, params: map[string][]url.Values{}}
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
		op, params := operation(r)
		if f := s.count(op, params); f != nil {
			// The shape of AWS JSON-protocol errors; the SDK reads the code
			// from the header and the body.
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.Header().Set("X-Amzn-ErrorType", f.code)
			w.WriteHeader(f.status)
			fmt.Fprintf(w, `{"__type":%q,"message":%q}`, f.code, f.msg)
			return
		}
		rp.ServeHTTP(w, r)
	})}
	go s.proxy.Serve(ln)
	return nil
}

// operation names the AWS operation of r: "secretsmanager.GetSecretValue",
// "AmazonSSM.GetParameter" (JSON protocol target) or "sts.AssumeRole"
// (query protocol Action, returned with its parameters).
func operation(r *http.Request) (string, url.Values) {
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		return t, nil
	}
	if r.Method != http.MethodPost || r.Body == nil {
		return "", nil
	}
	body, err := io.ReadAll(r.Body)
	r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return "", nil
	}
	v, err := url.ParseQuery(string(body))
	if err != nil || v.Get("Action") == "" {
		return "", nil
	}
	return "sts." + v.Get("Action"), v
}

// count records a call and returns the failure to reply with, if any.
func (s *Server) count(op string, params url.Values) *failure {
	if op == "" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[op]++
	if params != nil {
		s.params[op] = append(s.params[op], params)
	}
	if f := s.fail[op]; f != nil && f.n > 0 {
		f.n--
		c := *f
		return &c
	}
	return nil
}

// Calls returns how many calls each operation received since the last
// Reset, throttled ones included.
func (s *Server) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.calls)
}

// Count returns the calls op received since the last Reset, where op is
// "secretsmanager.GetSecretValue", "AmazonSSM.GetParameter", "sts.AssumeRole"...
func (s *Server) Count(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// Params returns the parameters of each query-protocol (STS) call to op
// since the last Reset, for checking what was asked (role, external ID, tags).
func (s *Server) Params(op string) []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]url.Values(nil), s.params[op]...)
}

// Throttle makes the next n calls to op fail with a ThrottlingException.
func (s *Server) Throttle(op string, n int) {
	s.Fail(op, n, http.StatusBadRequest, "ThrottlingException", "Rate exceeded")
}

// Fail makes the next n calls to op fail with HTTP status and the AWS error
// code and message given, for example 400 AccessDeniedException or
// UnrecognizedClientException (what AWS answers to unknown access keys).
func (s *Server) Fail(op string, n, status int, code, message string) {
	s.mu.Lock()
	s.fail[op] = &failure{n: n, status: status, code: code, msg: message}
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
	s.fail = map[string]*failure{}
	s.params = map[string][]url.Values{}
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
//	func TestMain(m *testing.M) { os.Exit(testmoto.Main(m, &moto, nil)) }
//
// ready, when not nil, runs once the server answers and before the tests
// (for example to point AWS_ENDPOINT_URL at it).
func Main(m *testing.M, set **Server, ready func(*Server)) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	s, err := Start(ctx)
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: %v\n", err)
		return 1
	}
	*set = s
	defer s.Stop()
	if ready != nil {
		ready(s)
	}
	return m.Run()
}
