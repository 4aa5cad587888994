// Package template renders the Go text/template strings found in
// SealedSecret template.data and ExternalSecret templates with a
// Sprig-compatible subset of functions. Nothing here reads the environment,
// the network or the clock: a manifest in Git must not be able to learn
// about the controller's host, and the same input must render the same bytes.
//
// Errors never carry data: a template can turn any value into error text
// (fail, or a builtin that quotes its argument), and errors reach status,
// Events and logs. So an error is built only from what this package controls:
// the template's name, a position and a description from a fixed set.
package template

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/template"
)

type config struct {
	missingKeyError bool
	secretText      bool
}

// Option adjusts how Render builds a template.
type Option func(*config)

// MissingKeyError makes a reference to a missing key an error instead of
// "<no value>", as ExternalSecret templates (engine v2) behave.
func MissingKeyError() Option {
	return func(c *config) { c.missingKeyError = true }
}

// SecretText marks the template text itself as secret (read from a
// Secret): a parse error then reports its position only, since
// text/template's parse messages quote the text.
func SecretText() Option {
	return func(c *config) { c.secretText = true }
}

// Fixed descriptions of what failed. Only these, a "calling <function>
// failed" for a function of the known set, and (for templates whose text is
// not secret) text/template's parse reason ever appear in an Error.
const (
	whatFail        = "fail was called"
	whatMissingKey  = "missing key"
	whatArguments   = "wrong number or type of arguments"
	whatField       = "a field or key cannot be evaluated on this value"
	whatExec        = "the template failed"
	whatParse       = "the template text cannot be parsed"
	whatEmpty       = "the template is empty"
	parseReasonLead = "cannot be parsed: "
)

// Error is a template failure. Its text holds the template's name, the
// position (line, and column for execution errors) and a fixed
// description; never a value, a function's arguments or fail's message.
type Error struct {
	Name      string
	Line, Col int
	What      string
}

func (e *Error) Error() string {
	switch {
	case e.Line > 0 && e.Col > 0:
		return fmt.Sprintf("template %q: %d:%d: %s", e.Name, e.Line, e.Col, e.What)
	case e.Line > 0:
		return fmt.Sprintf("template %q: line %d: %s", e.Name, e.Line, e.What)
	}
	return fmt.Sprintf("template %q: %s", e.Name, e.What)
}

// Render parses text as a template named name and executes it with data.
// Without options it behaves as text/template's defaults, as in the
// SealedSecrets controller (a missing item prints "<no value>"). Errors are
// *Error.
func Render(name, text string, data any, opts ...Option) ([]byte, error) {
	var c config
	for _, o := range opts {
		o(&c)
	}
	t := template.New(name).Funcs(safeFuncs())
	if c.missingKeyError {
		t = t.Option("missingkey=error")
	}
	t, err := t.Parse(text)
	if err != nil {
		return nil, parseError(name, err, c.secretText)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return nil, execError(name, err)
	}
	return buf.Bytes(), nil
}

// FuncMap returns a copy of the function set (errors already made safe),
// for callers that build their own templates.
func FuncMap() template.FuncMap {
	m := make(template.FuncMap, len(safeFuncs()))
	for k, v := range safeFuncs() {
		m[k] = v
	}
	return m
}

// parseError keeps text/template's reason only when the text is not secret:
// parse messages quote tokens of the text, never of the data.
func parseError(name string, err error, secretText bool) error {
	// text/template: "template: <name>:<line>: <reason>".
	rest, ok := strings.CutPrefix(err.Error(), "template: "+name+":")
	if !ok {
		return &Error{Name: name, What: whatParse}
	}
	lineText, reason, _ := strings.Cut(rest, ": ")
	line, _ := strconv.Atoi(lineText)
	if secretText || reason == "" {
		return &Error{Name: name, Line: line, What: whatParse}
	}
	return &Error{Name: name, Line: line, What: parseReasonLead + reason}
}

// execError reduces an execution error to name, position and a fixed
// description. text/template's messages can hold values (an index out of
// range, a function's error), so only the digits of the position are taken
// from them; the description comes from our own sentinel or a fixed
// classification.
func execError(name string, err error) error {
	out := &Error{Name: name, What: whatExec}
	var fe *funcError
	if errors.As(err, &fe) {
		out.What = fe.what
	}
	msg := err.Error()
	var ee template.ExecError
	if errors.As(err, &ee) && ee.Err != nil {
		msg = ee.Err.Error()
		out.Line, out.Col = execPosition(msg)
	}
	if fe != nil {
		return out
	}
	// The description is picked from a fixed set; nothing of msg is copied.
	switch {
	case strings.Contains(msg, "incomplete or empty template"):
		out.What = whatEmpty
	case strings.Contains(msg, "map has no entry for key"):
		out.What = whatMissingKey
	case strings.Contains(msg, "wrong number of args") || strings.Contains(msg, "wrong type for value"):
		out.What = whatArguments
	case strings.Contains(msg, "can't evaluate field") || strings.Contains(msg, "nil pointer evaluating"):
		out.What = whatField
	default:
		if _, rest, ok := strings.Cut(msg, "error calling "); ok {
			fn, _, _ := strings.Cut(rest, ":")
			if known(fn) {
				out.What = "calling " + fn + " failed"
			}
		}
	}
	return out
}

// execPosition reads line and column from text/template's
// "template: <location>:<line>:<col>: executing ..." prefix.
func execPosition(msg string) (line, col int) {
	loc, _, ok := strings.Cut(msg, ": executing ")
	if !ok {
		return 0, 0
	}
	parts := strings.Split(loc, ":")
	if len(parts) < 3 {
		return 0, 0
	}
	l, err1 := strconv.Atoi(parts[len(parts)-2])
	c, err2 := strconv.Atoi(parts[len(parts)-1])
	if err1 != nil || err2 != nil {
		return 0, 0
	}
	return l, c
}

// known reports whether fn names a function of ours or a text/template
// builtin, so that "calling fn failed" names only a function from a fixed set.
func known(fn string) bool {
	if _, ok := safeFuncs()[fn]; ok {
		return true
	}
	switch fn {
	case "and", "or", "not", "eq", "ne", "lt", "le", "gt", "ge", "html", "js", "print", "printf", "println", "urlquery":
		return true
	}
	return false
}
