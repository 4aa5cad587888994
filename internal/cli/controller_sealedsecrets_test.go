package cli

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/labels"
)

// parseSealedFlags registers Bitnami's flags on a fresh set, parses args
// and applies SEALED_SECRETS_* from env, as the controller command does.
func parseSealedFlags(t *testing.T, args []string, env map[string]string) (*sealedSecretsFlags, error) {
	t.Helper()
	var f sealedSecretsFlags
	fs := pflag.NewFlagSet("controller", pflag.ContinueOnError)
	fs.SetOutput(&bytes.Buffer{})
	f.register(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if err := applyEnv(fs, func(k string) string { return env[k] }); err != nil {
		return nil, err
	}
	return &f, nil
}

func TestSealedSecretsOptions(t *testing.T) {
	sel := func(s string) labels.Selector {
		l, err := labels.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		// Expectations, when wantErr is "".
		namespaces    []string
		selector      labels.Selector
		oldGC         bool
		read, write   time.Duration
		wantErr       string // substring
		wantParseFail bool
	}{
		{
			name: "defaults: every namespace, every SealedSecret, Bitnami's timeouts",
			read: 2 * time.Minute, write: 2 * time.Minute,
		},
		{
			name:       "--all-namespaces=false serves the controller namespace",
			args:       []string{"--all-namespaces=false", "--controller-namespace", "sealed"},
			namespaces: []string{"sealed"}, read: 2 * time.Minute, write: 2 * time.Minute,
		},
		{
			name:       "--all-namespaces=false takes $POD_NAMESPACE",
			args:       []string{"--all-namespaces=false"},
			env:        map[string]string{"POD_NAMESPACE": "from-pod"},
			namespaces: []string{"from-pod"}, read: 2 * time.Minute, write: 2 * time.Minute,
		},
		{
			name:       "additional namespaces after the own one, trimmed, without repeats",
			args:       []string{"--all-namespaces=false", "--controller-namespace", "sealed", "--additional-namespaces", " team-a,team-b,,sealed,team-a "},
			namespaces: []string{"sealed", "team-a", "team-b"}, read: 2 * time.Minute, write: 2 * time.Minute,
		},
		{
			// Bitnami: namespace = own namespace when !all || additional != "".
			name:       "additional namespaces restrict even with --all-namespaces=true, as Bitnami's",
			args:       []string{"--controller-namespace", "sealed", "--additional-namespaces", "team-a"},
			namespaces: []string{"sealed", "team-a"}, read: 2 * time.Minute, write: 2 * time.Minute,
		},
		{
			name:       "SEALED_SECRETS_ variables set them too",
			env:        map[string]string{"SEALED_SECRETS_ALL_NAMESPACES": "false", "SEALED_SECRETS_ADDITIONAL_NAMESPACES": "team-a", "SEALED_SECRETS_CONTROLLER_NAMESPACE": "sealed", "SEALED_SECRETS_LABEL_SELECTOR": "tier=prod", "SEALED_SECRETS_OLD_GC_BEHAVIOR": "true", "SEALED_SECRETS_READ_TIMEOUT": "30s", "SEALED_SECRETS_WRITE_TIMEOUT": "45s"},
			namespaces: []string{"sealed", "team-a"}, selector: sel("tier=prod"), oldGC: true, read: 30 * time.Second, write: 45 * time.Second,
		},
		{
			name:       "the command line wins over the environment",
			args:       []string{"--label-selector", "tier=dev"},
			env:        map[string]string{"SEALED_SECRETS_LABEL_SELECTOR": "tier=prod"},
			namespaces: nil, selector: sel("tier=dev"), read: 2 * time.Minute, write: 2 * time.Minute,
		},
		{
			name:     "set-based selector",
			args:     []string{"--label-selector", "app in (api,web),!legacy"},
			selector: sel("app in (api,web),!legacy"), read: 2 * time.Minute, write: 2 * time.Minute,
		},
		{
			name:  "old GC and timeouts",
			args:  []string{"--old-gc-behavior", "--read-timeout", "5s", "--write-timeout", "0"},
			oldGC: true, read: 5 * time.Second, write: 0,
		},
		{
			name:    "a bad selector names the flag",
			args:    []string{"--label-selector", "app=(x"},
			wantErr: `--label-selector "app=(x": `,
		},
		{
			name:    "a bad selector from the environment names the flag",
			env:     map[string]string{"SEALED_SECRETS_LABEL_SELECTOR": "a b"},
			wantErr: `--label-selector "a b": `,
		},
		{
			name:    "a bad additional namespace names the flag",
			args:    []string{"--all-namespaces=false", "--additional-namespaces", "team-a,Team_B"},
			wantErr: `--additional-namespaces: "Team_B" is not a namespace name`,
		},
		{
			name:          "a bad timeout is refused by the flag parser",
			args:          []string{"--read-timeout", "soon"},
			wantParseFail: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := parseSealedFlags(t, tt.args, tt.env)
			if tt.wantParseFail {
				if err == nil {
					t.Fatal("parsed without error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			getenv := func(k string) string { return tt.env[k] }
			o, err := f.options(getenv)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(o.Namespaces, tt.namespaces) {
				t.Errorf("Namespaces = %q, want %q", o.Namespaces, tt.namespaces)
			}
			switch {
			case tt.selector == nil && o.LabelSelector != nil:
				t.Errorf("LabelSelector = %q, want none", o.LabelSelector)
			case tt.selector != nil && (o.LabelSelector == nil || o.LabelSelector.String() != tt.selector.String()):
				t.Errorf("LabelSelector = %v, want %q", o.LabelSelector, tt.selector)
			}
			if o.OldGCBehavior != tt.oldGC {
				t.Errorf("OldGCBehavior = %v, want %v", o.OldGCBehavior, tt.oldGC)
			}
			if o.ReadTimeout != tt.read || o.WriteTimeout != tt.write {
				t.Errorf("timeouts = %v, %v, want %v, %v", o.ReadTimeout, o.WriteTimeout, tt.read, tt.write)
			}
		})
	}
}

func TestServedNamespaces(t *testing.T) {
	tests := []struct {
		name       string
		all        bool
		additional string
		want       []string
		wantErr    bool
	}{
		{name: "all", all: true, want: nil},
		{name: "all, blank additional", all: true, additional: " , ", want: nil},
		{name: "own only", all: false, want: []string{"own"}},
		{name: "own only, blank additional", all: false, additional: ",", want: []string{"own"}},
		{name: "own and additional", all: false, additional: "a,b", want: []string{"own", "a", "b"}},
		{name: "additional restricts with all", all: true, additional: "a", want: []string{"own", "a"}},
		{name: "own repeated", all: false, additional: "own,a,a", want: []string{"own", "a"}},
		{name: "additional naming only the own namespace restricts with all", all: true, additional: "own", want: []string{"own"}},
		{name: "not a name", all: false, additional: "a/b", wantErr: true},
		{name: "too long", all: false, additional: strings.Repeat("x", 64), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := servedNamespaces("own", tt.all, tt.additional)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "--additional-namespaces: ") {
				t.Errorf("error %q does not name the flag", err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestControllerLogDestinations(t *testing.T) {
	tests := []struct {
		name             string
		args             []string
		wantOut, wantErr []string // substrings, in the order logged
		wantNotOut       []string
	}{
		{
			name:    "default: info to stdout, errors to stderr",
			wantOut: []string{`"msg":"hello"`}, wantErr: []string{`"msg":"broken"`},
		},
		{
			name:       "--log-info-stdout=false: everything to stderr",
			args:       []string{"--log-info-stdout=false"},
			wantErr:    []string{`"msg":"hello"`, `"msg":"broken"`},
			wantNotOut: []string{"hello"},
		},
		{
			name:    "text format",
			args:    []string{"--log-format", "text"},
			wantOut: []string{`"msg"="hello"`}, wantErr: []string{`"msg"="broken"`},
		},
		{
			name:       "INFO hides debug records",
			args:       []string{"--log-level", "INFO"},
			wantOut:    []string{`"msg":"hello"`},
			wantNotOut: []string{"detail"},
		},
		{
			name:    "DEBUG shows them",
			args:    []string{"--log-level", "DEBUG"},
			wantOut: []string{`"msg":"hello"`, `"msg":"detail"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := parseSealedFlags(t, tt.args, nil)
			if err != nil {
				t.Fatal(err)
			}
			var out, errs bytes.Buffer
			log, err := f.logger(Streams{Out: &out, Err: &errs})
			if err != nil {
				t.Fatal(err)
			}
			log.Info("hello")
			log.V(1).Info("detail")
			log.Error(errors.New("x"), "broken")
			inOrder(t, "stdout", out.String(), tt.wantOut)
			inOrder(t, "stderr", errs.String(), tt.wantErr)
			for _, s := range tt.wantNotOut {
				if strings.Contains(out.String(), s) {
					t.Errorf("stdout has %q:\n%s", s, out.String())
				}
			}
		})
	}
}

func inOrder(t *testing.T, what, text string, want []string) {
	t.Helper()
	rest := text
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Errorf("%s lacks %q (in order):\n%s", what, w, text)
			return
		}
		rest = rest[i+len(w):]
	}
}

func TestControllerBadLogFlags(t *testing.T) {
	for _, tt := range []struct{ args []string }{
		{[]string{"--log-format", "xml"}},
		{[]string{"--log-level", "TRACE"}},
	} {
		f, err := parseSealedFlags(t, tt.args, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.logger(Streams{Out: &bytes.Buffer{}, Err: &bytes.Buffer{}})
		if err == nil || !strings.HasPrefix(err.Error(), tt.args[0]+" ") {
			t.Errorf("%v: err = %v, want one naming %s", tt.args, err, tt.args[0])
		}
	}
}

// --version prints what `keyward version` prints, exits 0, and starts
// nothing (no cluster is needed).
func TestControllerVersion(t *testing.T) {
	run := func(env map[string]string, args ...string) (int, string, string) {
		var out, errs bytes.Buffer
		code := Main(append([]string{"keyward"}, args...), Streams{In: strings.NewReader(""), Out: &out, Err: &errs},
			func(k string) string { return env[k] })
		return code, out.String(), errs.String()
	}
	code, want, _ := run(nil, "version")
	if code != 0 || !strings.HasPrefix(want, "keyward ") {
		t.Fatalf("keyward version: exit %d, output %q", code, want)
	}
	for _, tt := range []struct {
		name string
		env  map[string]string
		args []string
	}{
		{name: "flag", args: []string{"controller", "--version"}},
		{name: "flag with others, even invalid ones", args: []string{"controller", "--version", "--label-selector", "app=(x"}},
		{name: "environment", env: map[string]string{"SEALED_SECRETS_VERSION": "true"}, args: []string{"controller"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := run(tt.env, tt.args...)
			if code != 0 || out != want || errs != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q; want 0, %q, nothing", code, out, errs, want)
			}
		})
	}
}

// Flag errors stop the controller before it needs a cluster, naming the
// flag.
func TestControllerFlagErrors(t *testing.T) {
	tests := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{args: []string{"--label-selector", "app=(x"}, want: `error: --label-selector "app=(x": `},
		{env: map[string]string{"SEALED_SECRETS_LABEL_SELECTOR": "!"}, want: `error: --label-selector "!": `},
		{args: []string{"--additional-namespaces", "ok,Not_OK"}, want: `error: --additional-namespaces: "Not_OK" is not a namespace name`},
		{args: []string{"--read-timeout", "soon"}, want: `error: invalid argument "soon" for "--read-timeout"`},
		{args: []string{"--log-info-stdout=maybe"}, want: `error: invalid argument "maybe" for "--log-info-stdout"`},
		{args: []string{"--trim-binary-pages=false"}, want: "error: --trim-binary-pages (or SEALED_SECRETS_TRIM_BINARY_PAGES) was removed: "},
		{args: []string{"--trim-binary-pages"}, want: "error: --trim-binary-pages (or SEALED_SECRETS_TRIM_BINARY_PAGES) was removed: "},
		{env: map[string]string{"SEALED_SECRETS_TRIM_BINARY_PAGES": "true"}, want: "error: --trim-binary-pages (or SEALED_SECRETS_TRIM_BINARY_PAGES) was removed: "},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " ")+mapString(tt.env), func(t *testing.T) {
			var out, errs bytes.Buffer
			args := append([]string{"keyward", "controller"}, tt.args...)
			code := Main(args, Streams{In: strings.NewReader(""), Out: &out, Err: &errs}, func(k string) string { return tt.env[k] })
			if code != 1 || !strings.HasPrefix(errs.String(), tt.want) {
				t.Fatalf("exit %d, stderr %q; want 1 and %q", code, errs.String(), tt.want)
			}
		})
	}
}

func mapString(m map[string]string) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, k+"="+v)
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}

// The HTTP API's limits reach the manager, from flags or the environment.
func TestRateLimitFlags(t *testing.T) {
	tests := []struct {
		name             string
		args             []string
		env              map[string]string
		rate, peerRate   float64
		burst, peerBurst int
	}{
		{"defaults", nil, nil, 2, 0, 2, 0},
		{"flags", []string{"--rate-limit", "5", "--rate-limit-burst", "3", "--peer-rate-limit", "50", "--peer-rate-limit-burst", "30"}, nil, 5, 50, 3, 30},
		{"environment", nil, map[string]string{"SEALED_SECRETS_PEER_RATE_LIMIT": "-1", "SEALED_SECRETS_RATE_LIMIT": "1"}, 1, -1, 2, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := parseSealedFlags(t, tt.args, tt.env)
			if err != nil {
				t.Fatal(err)
			}
			o, err := f.options(func(k string) string { return tt.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			if o.RateLimit != tt.rate || o.RateBurst != tt.burst || o.PeerRateLimit != tt.peerRate || o.PeerRateBurst != tt.peerBurst {
				t.Fatalf("got %v/%d peer %v/%d, want %v/%d peer %v/%d", o.RateLimit, o.RateBurst, o.PeerRateLimit, o.PeerRateBurst, tt.rate, tt.burst, tt.peerRate, tt.peerBurst)
			}
		})
	}
}
