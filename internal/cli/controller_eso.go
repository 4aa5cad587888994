package cli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
)

// esoFlags are the External Secrets Operator's controller flags that map
// onto Keyward's, so its Deployment args carry over. Its flags for
// behaviour Keyward does not have are accepted only with the value that
// matches what Keyward does, and refused otherwise, naming the flag.
type esoFlags struct {
	logLevel, zapLogLevel string
	zapTimeEncoding       string
	// fixed are ESO flags whose only accepted value is Keyward's behaviour.
	fixed []fixedFlag
}

// fixedFlag is an ESO flag Keyward accepts only at the value it behaves as.
type fixedFlag struct {
	name  string
	value bool
	why   string
	set   *bool
}

// register adds ESO's names. The settings they share with Keyward's flags
// are passed in, so both spellings set the same value.
func (e *esoFlags) register(fs *pflag.FlagSet, qps *float32, burst *int, leaderElect *bool, leaderID, healthAddr *string, enabled map[string]*bool) {
	fs.Float32Var(qps, "client-qps", *qps, "same as --kubeclient-qps (External Secrets Operator's flag)")
	fs.IntVar(burst, "client-burst", *burst, "same as --kubeclient-burst (External Secrets Operator's flag)")
	fs.BoolVar(leaderElect, "enable-leader-election", *leaderElect, "same as --leader-elect (External Secrets Operator's flag)")
	fs.StringVar(leaderID, "leader-election-id", "", "name of the leader-election Lease (default keyward-controller)")
	fs.StringVar(healthAddr, "live-addr", *healthAddr, "same as --health-addr (External Secrets Operator's flag)")
	fs.StringVar(&e.logLevel, "loglevel", "", "debug logs every detail; info, warn and error log info records and errors, as Keyward always does (External Secrets Operator's flag; same as --log-level)")
	fs.StringVar(&e.zapLogLevel, "zap-log-level", "", "debug, info, error, or a number above 0 for debug (controller-runtime's flag; same as --log-level)")
	fs.StringVar(&e.zapTimeEncoding, "zap-time-encoding", "", "accepted for compatibility: records carry the time as --log-format writes it")
	for eso, name := range map[string]string{
		"enable-secret-store-reconciler":            "secretstore",
		"enable-cluster-store-reconciler":           "clustersecretstore",
		"enable-cluster-external-secret-reconciler": "clusterexternalsecret",
		"enable-push-secret-reconciler":             "pushsecret",
	} {
		fs.BoolVar(enabled[name], eso, *enabled[name], "same as --enable-"+name+" (External Secrets Operator's flag)")
	}
	e.fixed = []fixedFlag{
		{name: "enable-managed-secrets-caching", value: true, why: "Keyward always caches the Secrets it manages, and only those"},
		{name: "enable-secrets-caching", value: false, why: "Keyward never caches every Secret of the cluster"},
		{name: "enable-configmaps-caching", value: false, why: "Keyward reads template ConfigMaps when used and never caches them"},
		{name: "unsafe-allow-generic-targets", value: false, why: "Keyward writes Secrets only"},
	}
	for i := range e.fixed {
		f := &e.fixed[i]
		f.set = fs.Bool(f.name, f.value, fmt.Sprintf("accepted as %t only (External Secrets Operator's flag): %s", f.value, f.why))
	}
}

// check refuses the ESO flags set to a behaviour Keyward does not have,
// and resolves the log level: ESO's spellings, when given, override
// Bitnami's --log-level, which must then agree.
func (e *esoFlags) check(fs *pflag.FlagSet, sealed *sealedSecretsFlags) error {
	for _, f := range e.fixed {
		if *f.set != f.value {
			return fmt.Errorf("--%s=%t is not supported: %s (only --%s=%t is accepted)", f.name, *f.set, f.why, f.name, f.value)
		}
	}
	for _, l := range []struct{ flag, value string }{{"loglevel", e.logLevel}, {"zap-log-level", e.zapLogLevel}} {
		if !fs.Changed(l.flag) {
			continue
		}
		level, err := esoLogLevel(l.value)
		if err != nil {
			return fmt.Errorf("--%s %q: %w", l.flag, l.value, err)
		}
		if fs.Changed("log-level") && !strings.EqualFold(sealed.logLevel, level) {
			return fmt.Errorf("--log-level %s and --%s %s ask for different levels: give one", sealed.logLevel, l.flag, l.value)
		}
		sealed.logLevel = level
	}
	return nil
}

// esoLogLevel maps zap's levels onto Keyward's two: debug, or info (info
// records and errors, which Keyward always writes).
func esoLogLevel(s string) (string, error) {
	switch strings.ToLower(s) {
	case "debug":
		return "DEBUG", nil
	case "info", "warn", "error", "dpanic", "panic", "fatal":
		return "INFO", nil
	}
	if n, err := strconv.Atoi(s); err == nil && n > 0 {
		return "DEBUG", nil
	}
	return "", fmt.Errorf("must be debug, info, warn, error, dpanic, panic, fatal or a number above 0")
}
