package cli

import (
	"bytes"
	"strings"
	"testing"
)

// ESO's Deployment args set the same settings as Keyward's own flags.
func TestControllerTakesESOFlags(t *testing.T) {
	cmd := newControllerCommand(Streams{Out: &bytes.Buffer{}, Err: &bytes.Buffer{}}, func(string) string { return "" })
	args := []string{
		"--concurrent=3", "--client-qps=100", "--client-burst=200", "--enable-leader-election=true",
		"--leader-election-id=external-secrets-controller", "--metrics-addr=:9090", "--live-addr=:9091",
		"--namespace=apps", "--loglevel=debug", "--zap-time-encoding=epoch",
		"--enable-cluster-store-reconciler=false", "--enable-cluster-external-secret-reconciler=false",
		"--enable-push-secret-reconciler=false", "--enable-managed-secrets-caching=true", "--enable-secrets-caching=false",
	}
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatal(err)
	}
	f := cmd.Flags()
	for flag, want := range map[string]string{
		"concurrent": "3", "kubeclient-qps": "100", "kubeclient-burst": "200", "leader-elect": "true",
		"leader-election-id": "external-secrets-controller", "listen-metrics-addr": ":9090", "health-addr": ":9091",
		"watch-namespaces": "", "namespace": "apps",
		"enable-clustersecretstore": "false", "enable-clusterexternalsecret": "false", "enable-pushsecret": "false",
		"enable-secretstore": "true", "enable-externalsecret": "true", "enable-sealedsecret": "true",
	} {
		if got := f.Lookup(flag).Value.String(); got != want {
			t.Errorf("after ESO's args, --%s = %q, want %q", flag, got, want)
		}
	}
	var sealed sealedSecretsFlags
	sealed.logLevel = "INFO"
	var eso esoFlags
	eso.logLevel = "debug"
	if err := (&eso).check(f, &sealed); err != nil {
		t.Fatal(err)
	}
	if sealed.logLevel != "DEBUG" {
		t.Errorf("--loglevel=debug gave log level %q, want DEBUG", sealed.logLevel)
	}
}

func TestESOLogLevel(t *testing.T) {
	for in, want := range map[string]string{"debug": "DEBUG", "INFO": "INFO", "warn": "INFO", "error": "INFO", "5": "DEBUG"} {
		if got, err := esoLogLevel(in); err != nil || got != want {
			t.Errorf("esoLogLevel(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"trace", "0", "-1", ""} {
		if _, err := esoLogLevel(in); err == nil {
			t.Errorf("esoLogLevel(%q) accepted", in)
		}
	}
}

// ESO flags for behaviour Keyward lacks, and unknown flags, stop the
// controller before it needs a cluster, naming the flag.
func TestControllerRefusesWhatDoesNotMap(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--enable-secrets-caching=true"}, "error: --enable-secrets-caching=true is not supported: Keyward never caches every Secret"},
		{[]string{"--enable-managed-secrets-caching=false"}, "error: --enable-managed-secrets-caching=false is not supported"},
		{[]string{"--unsafe-allow-generic-targets"}, "error: --unsafe-allow-generic-targets=true is not supported"},
		{[]string{"--loglevel=trace"}, `error: --loglevel "trace": must be debug`},
		{[]string{"--log-level=INFO", "--zap-log-level=debug"}, "error: --log-level INFO and --zap-log-level debug ask for different levels"},
		{[]string{"--enable-flood-gate"}, "error: unknown flag: --enable-flood-gate (keyward controller takes Bitnami's and the External Secrets Operator's flags"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errs bytes.Buffer
			args := append([]string{"keyward", "controller"}, tt.args...)
			code := Main(args, Streams{In: strings.NewReader(""), Out: &out, Err: &errs}, func(string) string { return "" })
			if code == 0 || !strings.HasPrefix(errs.String(), tt.want) {
				t.Fatalf("exit %d, stderr %q; want an error starting %q", code, errs.String(), tt.want)
			}
		})
	}
}
