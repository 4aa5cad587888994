package tostore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/template"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"

	"github.com/keyward/keyward/internal/provider"
)

// Path is the --path template: where in the store a Secret's values go.
// It sees {{.Namespace}}, {{.Name}} and {{.Key}}; a template that uses
// .Key gives each key its own remote secret.
type Path struct {
	text   string
	t      *template.Template
	perKey bool
}

type pathVars struct{ Namespace, Name, Key string }

// ParsePath parses a --path template and tries it once, so a mistake is
// reported before anything is written.
func ParsePath(text string) (*Path, error) {
	if strings.TrimSpace(text) == "" {
		return nil, errors.New("--path: no template given (for example aura/{{.Namespace}}/{{.Name}})")
	}
	t, err := template.New("--path").Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("--path: %w", err)
	}
	p := &Path{text: text, t: t}
	a, err := p.exec(pathVars{"ns", "name", "key-a"})
	if err != nil {
		return nil, err
	}
	b, err := p.exec(pathVars{"ns", "name", "key-b"})
	if err != nil {
		return nil, err
	}
	p.perKey = a != b
	return p, nil
}

// PerKey says whether each key becomes its own remote secret.
func (p *Path) PerKey() bool { return p.perKey }

func (p *Path) String() string { return p.text }

func (p *Path) exec(v pathVars) (string, error) {
	var b bytes.Buffer
	if err := p.t.Execute(&b, v); err != nil {
		return "", fmt.Errorf("--path: %w", err)
	}
	out := b.String()
	if out == "" || strings.TrimSpace(out) != out || strings.ContainsAny(out, "\n\r\t") {
		return "", fmt.Errorf("--path: %q gives the remote key %q for %s/%s, which is empty or has spaces", p.text, out, v.Namespace, v.Name)
	}
	return out, nil
}

// remote is one remote secret a Secret's keys are written to: a JSON
// object whose properties are the keys (the whole object when Whole, else
// the properties are set one by one beside any others).
type remote struct {
	Path  string
	Props map[string][]byte
	Whole bool
}

// Keys are the remote's properties, sorted.
func (r remote) Keys() []string { return slices.Sorted(maps.Keys(r.Props)) }

// layout places a Secret's keys in the store. Values must be UTF-8 text:
// stores hold them as JSON strings, which cannot carry other bytes back
// unchanged.
func layout(p *Path, s *corev1.Secret) ([]remote, error) {
	if len(s.Data) == 0 {
		return nil, fmt.Errorf("Secret %s/%s has no data to push", s.Namespace, s.Name)
	}
	keys := slices.Sorted(maps.Keys(s.Data))
	for _, k := range keys {
		if !utf8.Valid(s.Data[k]) {
			return nil, fmt.Errorf("Secret %s/%s: data[%s] is not UTF-8 text, which a store's JSON value cannot hold unchanged", s.Namespace, s.Name, k)
		}
	}
	if !p.perKey {
		path, err := p.exec(pathVars{Namespace: s.Namespace, Name: s.Name})
		if err != nil {
			return nil, err
		}
		return []remote{{Path: path, Props: maps.Clone(s.Data), Whole: true}}, nil
	}
	out := make([]remote, 0, len(keys))
	for _, k := range keys {
		path, err := p.exec(pathVars{Namespace: s.Namespace, Name: s.Name, Key: k})
		if err != nil {
			return nil, err
		}
		out = append(out, remote{Path: path, Props: map[string][]byte{k: s.Data[k]}})
	}
	return out, nil
}

// compare says how the store's current secret differs from r: "" when it
// already holds every property as wanted (and, for a whole secret, no
// other), else a phrase naming keys, never values.
func compare(r remote, have provider.Secret, found bool) (string, error) {
	if !found {
		return "store has no value", nil
	}
	m, err := have.Map()
	if err != nil {
		return "store value is not a JSON object", nil
	}
	var changed, extra []string
	for _, k := range r.Keys() {
		if v, ok := m[k]; !ok || !bytes.Equal(v, r.Props[k]) {
			changed = append(changed, k)
		}
	}
	if r.Whole {
		for k := range m {
			if _, ok := r.Props[k]; !ok {
				extra = append(extra, k)
			}
		}
		slices.Sort(extra)
	}
	switch {
	case len(changed) > 0 && len(extra) > 0:
		return fmt.Sprintf("store value differs (keys %s; other keys %s)", strings.Join(changed, ","), strings.Join(extra, ",")), nil
	case len(changed) > 0:
		return fmt.Sprintf("store value differs (keys %s)", strings.Join(changed, ",")), nil
	case len(extra) > 0:
		return fmt.Sprintf("store holds other keys too (%s)", strings.Join(extra, ",")), nil
	}
	return "", nil
}

// wholeValue is r as the JSON object a whole-secret write takes.
func (r remote) wholeValue() ([]byte, error) {
	m := make(map[string]string, len(r.Props))
	for k, v := range r.Props {
		m[k] = string(v)
	}
	return json.Marshal(m)
}
