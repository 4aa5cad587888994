package sealing

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	goyaml "go.yaml.in/yaml/v2"
	"sigs.k8s.io/yaml"
)

// Formats accepted by -o.
const (
	JSON = "json"
	YAML = "yaml"
)

// ParseFormat checks an -o value; empty means JSON, kubeseal's default.
func ParseFormat(s string) (string, error) {
	switch strings.ToLower(s) {
	case "", JSON:
		return JSON, nil
	case YAML, "yml":
		return YAML, nil
	}
	return "", fmt.Errorf("unsupported output format %q: use json or yaml", s)
}

// FormatForFile is the format implied by an output file name: .yaml and
// .yml force YAML, as in kubeseal; anything else keeps format.
func FormatForFile(path, format string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml":
		return YAML
	}
	return format
}

// Encode writes objects as kubeseal does: JSON pretty-printed with a
// trailing newline, one after another; YAML as a stream with each document
// introduced by `---`. Objects are marshalled in parallel; the output is in
// their order.
func Encode(format string, objs ...any) ([]byte, error) {
	docs := make([][]byte, len(objs))
	errs := make([]error, len(objs))
	parallel(len(objs), func(i int) {
		docs[i], errs[i] = encodeOne(format, objs[i])
	})
	size := 0
	for i, d := range docs {
		if errs[i] != nil {
			return nil, errs[i]
		}
		size += len(d)
	}
	out := make([]byte, 0, size)
	for _, d := range docs {
		out = append(out, d...)
	}
	return out, nil
}

// encodeOne is one object of Encode's output, with its separator.
func encodeOne(format string, o any) ([]byte, error) {
	if format == YAML {
		b, err := marshalYAML(o)
		if err != nil {
			return nil, fmt.Errorf("encoding YAML: %w", err)
		}
		return append([]byte("---\n"), b...), nil
	}
	b, err := json.MarshalIndent(o, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding JSON: %w", err)
	}
	return append(b, '\n'), nil
}

// marshalYAML is sigs.k8s.io/yaml's Marshal, byte for byte: JSON, read
// back as generic values, written by go-yaml. It reads the JSON with
// encoding/json where Marshal uses go-yaml's parser, several times slower
// on a stream of SealedSecrets. The parsers type numbers differently, so a
// document with a number takes Marshal's own path.
func marshalYAML(o any) ([]byte, error) {
	j, err := json.Marshal(o)
	if err != nil {
		return nil, fmt.Errorf("error marshaling into JSON: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || hasNumber(v) {
		return yaml.JSONToYAML(j)
	}
	if b, ok := appendPlainYAML(make([]byte, 0, len(j)), v); ok {
		return b, nil
	}
	return goyaml.Marshal(v)
}

// hasNumber reports whether a value decoded with UseNumber holds a number.
func hasNumber(v any) bool {
	switch v := v.(type) {
	case json.Number:
		return true
	case map[string]any:
		for _, e := range v {
			if hasNumber(e) {
				return true
			}
		}
	case []any:
		for _, e := range v {
			if hasNumber(e) {
				return true
			}
		}
	}
	return false
}

// DetectFormat guesses the format a manifest was written in, so a file
// edited in place keeps its format.
func DetectFormat(b []byte) string {
	t := bytes.TrimLeft(b, " \t\r\n")
	if len(t) > 0 && t[0] == '{' {
		return JSON
	}
	return YAML
}
