package sealing

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

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
		b, err := yaml.Marshal(o)
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

// DetectFormat guesses the format a manifest was written in, so a file
// edited in place keeps its format.
func DetectFormat(b []byte) string {
	t := bytes.TrimLeft(b, " \t\r\n")
	if len(t) > 0 && t[0] == '{' {
		return JSON
	}
	return YAML
}
