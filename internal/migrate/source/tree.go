package source

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// Skip is a Secret found in a tree that is left alone, and why.
type Skip struct {
	// Secret is namespace/name, or name when it has no namespace yet.
	Secret string
	File   string
	Why    string
}

// TreeOptions say how to read a tree.
type TreeOptions struct {
	// Namespace is the namespace of Secrets that name none and are not
	// placed by a kustomization (-n, else the kubeconfig's).
	Namespace string
}

// Tree is what a tree of manifests holds.
type Tree struct {
	Secrets []Secret
	Skipped []Skip
	// Kustomizations are the kustomization files read, by path.
	Kustomizations map[string]*Kustomization
	// Workloads are the workload manifests found, for Consumers.
	Workloads []Workload
	// placedBy is the kustomization that lists a manifest file in its
	// resources, by file.
	placedBy map[string]string
}

// manifestExt are the files read as manifests.
var manifestExt = map[string]bool{".yaml": true, ".yml": true, ".json": true}

// ReadTree reads the Secrets in paths (files, or folders walked for *.yaml,
// *.yml, *.json and kustomization files): Secret documents, the Secret
// items of v1 Lists, and kustomize secretGenerator entries. SealedSecrets
// and other kinds are passed over. Folders and files whose name starts with
// a dot are not walked. Errors name the file, the document and the field.
func ReadTree(paths []string, o TreeOptions) (*Tree, error) {
	if len(paths) == 0 {
		return nil, errors.New("no path given")
	}
	var files []string
	seen := map[string]bool{}
	add := func(p string) {
		if c := filepath.Clean(p); !seen[c] {
			seen[c] = true
			files = append(files, c)
		}
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", p, err)
		}
		if !fi.IsDir() {
			add(p)
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if path != p && strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if !d.IsDir() && (manifestExt[strings.ToLower(filepath.Ext(path))] || isKustomization(path)) {
				add(path)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("walking %s: %w", p, err)
		}
	}
	sort.Strings(files)

	t := &Tree{Kustomizations: map[string]*Kustomization{}, placedBy: map[string]string{}}
	// Kustomizations first: their generator inputs are not manifests, and
	// they place the resources they list in their namespace.
	inputs := map[string]bool{}
	placed := map[string]string{}
	for _, f := range files {
		if !isKustomization(f) {
			continue
		}
		k, err := readKustomization(f)
		if err != nil {
			return nil, err
		}
		t.Kustomizations[f] = k
		for _, in := range k.inputs() {
			inputs[in] = true
		}
		for _, r := range k.Resources {
			p := filepath.Join(k.Dir, r)
			t.placedBy[p] = f
			if k.Namespace != "" {
				placed[p] = k.Namespace
			}
		}
	}
	for _, f := range files {
		if k := t.Kustomizations[f]; k != nil {
			secrets, skipped, err := k.secrets(o.Namespace)
			if err != nil {
				return nil, err
			}
			t.Secrets = append(t.Secrets, secrets...)
			t.Skipped = append(t.Skipped, skipped...)
			continue
		}
		if inputs[f] {
			continue
		}
		ns := o.Namespace
		p, isPlaced := placed[f]
		if isPlaced {
			ns = p
		}
		secrets, workloads, err := readManifest(f, ns)
		if err != nil {
			return nil, err
		}
		if isPlaced {
			// kustomize's namespace wins over the manifest's own.
			for i := range secrets {
				secrets[i].Secret.Namespace = p
			}
			for i := range workloads {
				workloads[i].Namespace = p
			}
		}
		t.Secrets = append(t.Secrets, secrets...)
		t.Workloads = append(t.Workloads, workloads...)
	}
	return t, nil
}

func isKustomization(path string) bool {
	switch filepath.Base(path) {
	case "kustomization.yaml", "kustomization.yml", "Kustomization":
		return true
	}
	return false
}

// header is what every object starts with.
type header struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Items      []json.RawMessage `json:"items"`
}

// secretKindRE finds a document that claims to hold Secrets, so that one
// that does not parse is an error rather than passed over as some other
// YAML (a Helm template, a CI file).
var secretKindRE = regexp.MustCompile(`(?m)^kind:[ \t]*["']?(Secret|SecretList|List)["']?[ \t]*(#.*)?$`)

// jsonSecretRE is secretKindRE for JSON.
var jsonSecretRE = regexp.MustCompile(`"kind"\s*:\s*"(Secret|SecretList|List)"`)

// readManifest reads the Secrets of one manifest file; ns fills a missing
// namespace.
func readManifest(file, ns string) ([]Secret, []Workload, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", file, err)
	}
	segs, isJSON, err := splitFile(b)
	if err != nil {
		if !jsonSecretRE.Match(b) {
			return nil, nil, nil // some other text that starts with a brace
		}
		return nil, nil, fmt.Errorf("%s: %w", file, err)
	}
	var out []Secret
	var workloads []Workload
	for i, seg := range segs {
		if seg.blank {
			continue
		}
		where := fmt.Sprintf("%s: document %d", file, i+1)
		doc := seg.raw
		if !isJSON {
			j, err := yaml.YAMLToJSONStrict(seg.raw)
			if err != nil {
				if secretKindRE.Match(seg.raw) {
					return nil, nil, fmt.Errorf("%s: malformed YAML%s", where, yamlWhere(err))
				}
				continue
			}
			doc = j
		}
		var h header
		if err := json.Unmarshal(doc, &h); err != nil {
			continue // a scalar or a sequence: not an object
		}
		switch {
		case h.Kind == "Secret" && h.APIVersion == "v1":
			s, err := decodeSecret(doc)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", where, err)
			}
			out = append(out, fromFile(s, ns, Origin{Kind: FromManifest, File: file, Index: i}))
		case (h.Kind == "List" || h.Kind == "SecretList") && h.APIVersion == "v1":
			for j, it := range h.Items {
				var ih header
				if err := json.Unmarshal(it, &ih); err != nil || ih.Kind != "Secret" {
					continue
				}
				s, err := decodeSecret(it)
				if err != nil {
					return nil, nil, fmt.Errorf("%s: items[%d]: %w", where, j, err)
				}
				out = append(out, fromFile(s, ns, Origin{Kind: FromList, File: file, Index: i, Item: j}))
			}
		default:
			if w, ok := workloadOf(doc, h.Kind, ns, file); ok {
				workloads = append(workloads, w)
			}
		}
	}
	return out, workloads, nil
}

func fromFile(s *corev1.Secret, ns string, o Origin) Secret {
	if s.Namespace == "" {
		s.Namespace = ns
	}
	return Secret{Secret: s, Origin: o}
}

// decodeSecret reads one Secret object, naming the field that is wrong
// (never its value).
func decodeSecret(doc []byte) (*corev1.Secret, error) {
	var in struct {
		corev1.Secret
		// Data shadows the Secret's, so each item is decoded here and a
		// bad one named.
		Data map[string]*string `json:"data"`
	}
	if err := json.Unmarshal(doc, &in); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, fmt.Errorf("field %s: expected %s, found a %s", te.Field, te.Type, te.Value)
		}
		return nil, fmt.Errorf("not a valid Secret%s", jsonWhere(err))
	}
	s := in.Secret.DeepCopy()
	what := "Secret"
	if s.Name != "" {
		what = "Secret " + s.Name
	}
	if s.Name == "" {
		return nil, fmt.Errorf("%s: field metadata.name is missing", what)
	}
	s.Data = nil
	if len(in.Data) > 0 {
		s.Data = make(map[string][]byte, len(in.Data))
	}
	for k, v := range in.Data {
		if v == nil {
			s.Data[k] = []byte{}
			continue
		}
		d, err := base64.StdEncoding.DecodeString(*v)
		if err != nil {
			return nil, fmt.Errorf("%s: field data.%s: not valid base64", what, k)
		}
		s.Data[k] = d
	}
	return s, nil
}
