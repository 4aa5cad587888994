// Package template renders the Go text/template strings found in
// SealedSecret template.data (and, later, ExternalSecret templates) with a
// Sprig-compatible subset of functions. Nothing here reads the environment,
// the network or the clock: a manifest in Git must not be able to learn
// about the controller's host, and the same input must render the same bytes.
package template

import (
	"bytes"
	"fmt"
	"text/template"
)

// Option adjusts how Render builds a template.
type Option func(*template.Template) *template.Template

// MissingKeyError makes a reference to a missing key an error instead of
// "<no value>", as ExternalSecret templates (engine v2) behave.
func MissingKeyError() Option {
	return func(t *template.Template) *template.Template { return t.Option("missingkey=error") }
}

// Render parses text as a template named name and executes it with data.
// Without options it behaves as text/template's defaults, as in the
// SealedSecrets controller (a missing item prints "<no value>"). Errors name
// the template and position, never the data.
func Render(name, text string, data any, opts ...Option) ([]byte, error) {
	t := template.New(name).Funcs(funcs)
	for _, o := range opts {
		t = o(t)
	}
	t, err := t.Parse(text)
	if err != nil {
		return nil, fmt.Errorf("template %q: %w", name, stripPrefix(err))
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return nil, fmt.Errorf("template %q: %w", name, stripPrefix(err))
	}
	return buf.Bytes(), nil
}

// FuncMap returns a copy of the function set, for callers that build their
// own templates.
func FuncMap() template.FuncMap {
	m := make(template.FuncMap, len(funcs))
	for k, v := range funcs {
		m[k] = v
	}
	return m
}

type plainError struct{ msg string }

func (e plainError) Error() string { return e.msg }

// stripPrefix drops text/template's "template: name:" prefix, which repeats
// the name we already give.
func stripPrefix(err error) error {
	msg := err.Error()
	if p := "template: "; len(msg) > len(p) && msg[:len(p)] == p {
		msg = msg[len(p):]
	}
	return plainError{msg}
}
