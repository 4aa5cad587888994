package source

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/keyward/keyward/internal/sealing"
)

// Kustomization is what a kustomization file says about Secrets.
type Kustomization struct {
	// Path is the file; Dir its folder, which generator inputs and
	// resources are relative to.
	Path, Dir string

	Namespace          string            `yaml:"namespace"`
	NamePrefix         string            `yaml:"namePrefix"`
	NameSuffix         string            `yaml:"nameSuffix"`
	Resources          []string          `yaml:"resources"`
	SecretGenerator    []GeneratorArgs   `yaml:"secretGenerator"`
	ConfigMapGenerator []GeneratorArgs   `yaml:"configMapGenerator"`
	GeneratorOptions   *GeneratorOptions `yaml:"generatorOptions"`
}

// GeneratorArgs is one secretGenerator (or configMapGenerator) entry.
type GeneratorArgs struct {
	Name      string            `yaml:"name"`
	Namespace string            `yaml:"namespace"`
	Behavior  string            `yaml:"behavior"`
	Type      string            `yaml:"type"`
	Literals  []string          `yaml:"literals"`
	Files     []string          `yaml:"files"`
	Envs      []string          `yaml:"envs"`
	Env       string            `yaml:"env"`
	Options   *GeneratorOptions `yaml:"options"`
}

// GeneratorOptions are the labels, annotations and flags of generated
// objects.
type GeneratorOptions struct {
	Labels                map[string]string `yaml:"labels"`
	Annotations           map[string]string `yaml:"annotations"`
	DisableNameSuffixHash bool              `yaml:"disableNameSuffixHash"`
	Immutable             bool              `yaml:"immutable"`
}

func readKustomization(path string) (*Kustomization, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	k := &Kustomization{}
	if err := yaml.Unmarshal(b, k); err != nil {
		return nil, fmt.Errorf("%s: malformed kustomization%s", path, yamlWhere(err))
	}
	k.Path, k.Dir = path, filepath.Dir(path)
	for i, g := range k.SecretGenerator {
		if g.Name == "" {
			return nil, fmt.Errorf("%s: secretGenerator[%d]: field name is missing", path, i)
		}
	}
	return k, nil
}

// input is one file a generator entry reads: its key (files only) and path.
type input struct {
	key, path string
	env       bool
	field     string // where it is named, for errors
}

// inputsOf lists the files entry g reads, relative paths joined to dir.
// A path leaving the kustomization's folder is refused, as kustomize does.
func (k *Kustomization) inputsOf(g GeneratorArgs, kind string, i int) ([]input, error) {
	var out []input
	resolve := func(field, p string) (string, error) {
		if filepath.IsAbs(p) {
			return "", fmt.Errorf("%s: %s[%d].%s: %q is absolute; kustomize reads files under the kustomization's folder only", k.Path, kind, i, field, p)
		}
		j := filepath.Join(k.Dir, p)
		if rel, err := filepath.Rel(k.Dir, j); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return "", fmt.Errorf("%s: %s[%d].%s: %q is outside the kustomization's folder", k.Path, kind, i, field, p)
		}
		return j, nil
	}
	for n, f := range g.Files {
		key, p, ok := strings.Cut(f, "=")
		if !ok {
			key, p = filepath.Base(f), f
		}
		field := fmt.Sprintf("files[%d]", n)
		j, err := resolve(field, p)
		if err != nil {
			return nil, err
		}
		out = append(out, input{key: key, path: j, field: field})
	}
	envs := g.Envs
	if g.Env != "" {
		envs = append([]string{g.Env}, envs...)
	}
	for n, e := range envs {
		field := fmt.Sprintf("envs[%d]", n)
		j, err := resolve(field, e)
		if err != nil {
			return nil, err
		}
		out = append(out, input{path: j, env: true, field: field})
	}
	return out, nil
}

// inputs lists every file any generator of k reads, so that a file still
// used by another entry is not removed.
func (k *Kustomization) inputs() []string {
	var out []string
	for kind, gens := range map[string][]GeneratorArgs{"secretGenerator": k.SecretGenerator, "configMapGenerator": k.ConfigMapGenerator} {
		for i, g := range gens {
			ins, err := k.inputsOf(g, kind, i)
			if err != nil {
				continue
			}
			for _, in := range ins {
				out = append(out, in.path)
			}
		}
	}
	return out
}

// secrets builds the Secret of each secretGenerator entry, as kustomize
// would generate it before adding its name hash. Entries that change a
// base's Secret (behavior merge or replace) and kustomizations that rename
// what they generate are passed over: the sealed result would not match
// the Secret kustomize builds.
func (k *Kustomization) secrets(defaultNS string) ([]Secret, []Skip, error) {
	var out []Secret
	var skipped []Skip
	for i, g := range k.SecretGenerator {
		ns := g.Namespace
		if ns == "" {
			ns = k.Namespace
		}
		if ns == "" {
			ns = defaultNS
		}
		key := g.Name
		if ns != "" {
			key = ns + "/" + g.Name
		}
		switch {
		case g.Behavior != "" && g.Behavior != "create":
			skipped = append(skipped, Skip{Secret: key, File: k.Path, Why: fmt.Sprintf("secretGenerator[%d] has behavior %s: it changes a base's Secret; seal that one at its base", i, g.Behavior)})
			continue
		case k.NamePrefix != "" || k.NameSuffix != "":
			skipped = append(skipped, Skip{Secret: key, File: k.Path, Why: "the kustomization sets namePrefix or nameSuffix, which would rename the SealedSecret after sealing"})
			continue
		}
		s, inputs, err := k.build(g, i, ns)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, Secret{Secret: s, Origin: Origin{Kind: FromKustomize, File: k.Path, Index: i, Inputs: inputs}})
	}
	return out, skipped, nil
}

func (k *Kustomization) build(g GeneratorArgs, i int, ns string) (*corev1.Secret, []string, error) {
	where := fmt.Sprintf("%s: secretGenerator[%d] (%s)", k.Path, i, g.Name)
	var items []sealing.Item
	for n, l := range g.Literals {
		key, v, ok := strings.Cut(l, "=")
		if !ok || key == "" {
			// The entry may be a value pasted without its key: do not echo it.
			return nil, nil, fmt.Errorf("%s: literals[%d]: expected KEY=VALUE", where, n)
		}
		items = append(items, sealing.Item{Key: key, Value: []byte(unquote(v)), Source: fmt.Sprintf("literals[%d]", n)})
	}
	ins, err := k.inputsOf(g, "secretGenerator", i)
	if err != nil {
		return nil, nil, err
	}
	var paths []string
	for _, in := range ins {
		b, err := os.ReadFile(in.path)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, nil, fmt.Errorf("%s: %s: file %s does not exist", where, in.field, in.path)
			}
			return nil, nil, fmt.Errorf("%s: %s: %w", where, in.field, err)
		}
		paths = append(paths, in.path)
		if !in.env {
			items = append(items, sealing.Item{Key: in.key, Value: b, Source: in.field})
			continue
		}
		env, err := sealing.ParseEnvFile(in.path, b)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %s: %w", where, in.field, err)
		}
		for _, it := range env {
			items = append(items, sealing.Item{Key: it.Key, Value: it.Value, Source: it.Source})
		}
	}
	s, err := sealing.NewSecret(g.Name, ns, corev1.SecretType(g.Type), items)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", where, err)
	}
	opts := mergeOptions(k.GeneratorOptions, g.Options)
	if len(opts.Labels) > 0 {
		s.Labels = opts.Labels
	}
	if len(opts.Annotations) > 0 {
		s.Annotations = opts.Annotations
	}
	if opts.Immutable {
		yes := true
		s.Immutable = &yes
	}
	s.TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"}
	return s, paths, nil
}

// mergeOptions is the kustomization's generatorOptions with the entry's
// own options over them.
func mergeOptions(global, own *GeneratorOptions) GeneratorOptions {
	out := GeneratorOptions{Labels: map[string]string{}, Annotations: map[string]string{}}
	for _, o := range []*GeneratorOptions{global, own} {
		if o == nil {
			continue
		}
		for k, v := range o.Labels {
			out.Labels[k] = v
		}
		for k, v := range o.Annotations {
			out.Annotations[k] = v
		}
		out.Immutable = out.Immutable || o.Immutable
	}
	return out
}

// unquote drops one pair of matching quotes around a literal's value, as
// kustomize does.
func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		return v[1 : len(v)-1]
	}
	return v
}
