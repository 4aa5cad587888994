package cli

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/validation"
)

// watchFlags limit every controller to some namespaces. --watch-namespaces
// is Keyward's; ESO's --namespace and Bitnami's --all-namespaces=false /
// --additional-namespaces say the same thing and map onto it.
type watchFlags struct {
	watch string
	eso   string
}

func (w *watchFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&w.watch, "watch-namespaces", "", "serve only these namespaces (a,b,c), with every controller; empty serves all. Cluster-scoped stores and ClusterExternalSecrets are then not served")
	fs.StringVar(&w.eso, "namespace", "", "serve only this namespace (External Secrets Operator's flag; same as --watch-namespaces with one name)")
}

// namespaces resolves the flags; sealed is what Bitnami's flags asked for
// (nil: every namespace). Two flags that name different namespaces are an
// error rather than a guess at which one was meant.
func (w *watchFlags) namespaces(sealed []string) ([]string, error) {
	watch, err := parseNamespaces("--watch-namespaces", w.watch)
	if err != nil {
		return nil, err
	}
	eso, err := parseNamespaces("--namespace", w.eso)
	if err != nil {
		return nil, err
	}
	type source struct {
		flag string
		nss  []string
	}
	var chosen *source
	for _, s := range []source{
		{"--watch-namespaces", watch}, {"--namespace", eso}, {"--all-namespaces=false/--additional-namespaces", sealed},
	} {
		if len(s.nss) == 0 {
			continue
		}
		if chosen == nil {
			chosen = &s
			continue
		}
		if !sameSet(chosen.nss, s.nss) {
			return nil, fmt.Errorf("%s (%s) and %s (%s) name different namespaces: give one",
				chosen.flag, strings.Join(chosen.nss, ","), s.flag, strings.Join(s.nss, ","))
		}
	}
	if chosen == nil {
		return nil, nil
	}
	return chosen.nss, nil
}

// parseNamespaces splits a,b,c into checked, distinct namespace names.
func parseNamespaces(flag, s string) ([]string, error) {
	var out []string
	for _, ns := range strings.Split(s, ",") {
		ns = strings.TrimSpace(ns)
		if ns == "" || slices.Contains(out, ns) {
			continue
		}
		if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
			return nil, fmt.Errorf("%s: %q is not a namespace name: %s", flag, ns, strings.Join(errs, "; "))
		}
		out = append(out, ns)
	}
	return out, nil
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}
