// Package sealing turns Kubernetes Secrets into SealedSecrets and back,
// shaped exactly as kubeseal and the Sealed Secrets controller shape them.
// It reads and writes manifests (YAML streams, concatenated JSON) but never
// talks to a cluster; the per-value cryptography lives in package seal.
//
// It is the one way into package seal: the CLI, the controller, the HTTP
// API and reencrypt seal, open, label and re-encrypt through it, so the
// label of an object and the handling of its items are decided here only.
package sealing

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	kyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Document is one object read from a manifest stream, as JSON.
type Document struct {
	// Index is the 1-based position in the stream, after List expansion;
	// errors use it to point at the object.
	Index      int
	APIVersion string
	Kind       string
	Name       string
	Namespace  string
	JSON       []byte
}

// String names the document for error messages: never its content.
func (d Document) String() string {
	s := fmt.Sprintf("document %d", d.Index)
	if d.Kind != "" {
		s += " (" + d.Kind
		if d.Name != "" {
			s += " " + d.Name
		}
		s += ")"
	}
	return s
}

type header struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Items []json.RawMessage `json:"items"`
}

// ReadDocuments reads every object in r: a YAML stream (documents separated
// by `---`), one or more concatenated JSON objects, or a JSON array. A List
// (kind List or any kind ending in List with items) is expanded into its
// items, so `kubectl get secrets -o yaml` output works. Empty documents are
// skipped. On error nothing is returned, so callers cannot act on a prefix.
func ReadDocuments(r io.Reader) ([]Document, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading input: %w", err)
	}
	var raws [][]byte
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		raws, err = splitJSON(trimmed)
	} else {
		raws, err = splitYAML(data)
	}
	if err != nil {
		return nil, err
	}
	var docs []Document
	for _, raw := range raws {
		if err := appendDocument(&docs, raw, 0); err != nil {
			return nil, err
		}
	}
	return docs, nil
}

func appendDocument(docs *[]Document, raw []byte, depth int) error {
	idx := len(*docs) + 1
	if t := bytes.TrimSpace(raw); len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return nil
	}
	if raw[0] == '[' && depth == 0 {
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return fmt.Errorf("document %d: %s", idx, describeJSONError(err))
		}
		for _, it := range items {
			if err := appendDocument(docs, it, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	var h header
	if err := json.Unmarshal(raw, &h); err != nil {
		return fmt.Errorf("document %d: not a Kubernetes object: %s", idx, describeJSONError(err))
	}
	if (h.Kind == "List" || strings.HasSuffix(h.Kind, "List")) && h.Items != nil && depth < 2 {
		for _, it := range h.Items {
			if err := appendDocument(docs, it, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	*docs = append(*docs, Document{
		Index: idx, APIVersion: h.APIVersion, Kind: h.Kind,
		Name: h.Metadata.Name, Namespace: h.Metadata.Namespace, JSON: raw,
	})
	return nil
}

func splitJSON(data []byte) ([][]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var out [][]byte
	for i := 1; ; i++ {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: malformed JSON: %s", i, describeJSONError(err))
		}
		out = append(out, raw)
	}
}

// splitYAML cuts the stream into documents, then converts them to JSON in
// parallel; the first bad document in stream order is the one reported.
func splitYAML(data []byte) ([][]byte, error) {
	rd := kyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	var readErr error
	for {
		doc, err := rd.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			readErr = fmt.Errorf("document %d: reading YAML: %w", len(docs)+1, err)
			break
		}
		if !isBlankYAML(doc) {
			docs = append(docs, doc)
		}
	}
	out := make([][]byte, len(docs))
	errs := make([]error, len(docs))
	parallel(len(docs), func(i int) {
		out[i], errs[i] = yaml.YAMLToJSONStrict(docs[i])
	})
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("document %d: malformed YAML: %s", i+1, describeYAMLError(err))
		}
	}
	if readErr != nil {
		return nil, readErr
	}
	return out, nil
}

// isBlankYAML reports a document with only comments and whitespace, such as
// the empty one before a leading `---`.
func isBlankYAML(doc []byte) bool {
	for _, line := range bytes.Split(doc, []byte("\n")) {
		l := bytes.TrimSpace(line)
		if len(l) > 0 && l[0] != '#' && !bytes.Equal(l, []byte("---")) {
			return false
		}
	}
	return true
}

// describeJSONError keeps the position of a JSON error but not the
// offending character or value, which may be part of a secret.
func describeJSONError(err error) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return fmt.Sprintf("syntax error at byte %d", syn.Offset)
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		where := typ.Field
		if where == "" {
			where = "top level"
		}
		// Value is "number 1234" for numbers: keep only the kind, the
		// number may be a PIN.
		found, _, _ := strings.Cut(typ.Value, " ")
		return fmt.Sprintf("field %s: expected %s, found %s", where, typ.Type, found)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "unexpected end of input"
	}
	msg := err.Error()
	if strings.Contains(msg, "illegal base64") {
		return "a data value is not valid base64"
	}
	return "invalid JSON"
}

var duplicateKeyRE = regexp.MustCompile(`line (\d+): (?:mapping )?key .* already (?:defined|set)`)

// describeYAMLError keeps the parser's line-and-reason message; it quotes
// the offending text only for some errors, which we cut off.
func describeYAMLError(err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "error converting YAML to JSON: ")
	if m := duplicateKeyRE.FindStringSubmatch(msg); m != nil {
		return "yaml: line " + m[1] + ": duplicate mapping key"
	}
	msg = strings.Join(strings.Fields(msg), " ")
	if i := strings.IndexAny(msg, "`\"'"); i >= 0 {
		msg = strings.TrimRight(msg[:i], " :")
	}
	return msg
}
