package source

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
)

// segment is one document of a manifest file as it is written there, so a
// file can be rebuilt with some documents left out and the others intact.
type segment struct {
	raw []byte
	// blank is a document with nothing but comments, blank lines and the
	// separator.
	blank bool
}

// splitFile cuts a manifest file into its documents: a YAML stream at its
// `---` lines, or concatenated JSON values. The segments, concatenated, are
// the file again.
func splitFile(b []byte) ([]segment, bool, error) {
	if isJSON(b) {
		segs, err := splitJSONValues(b)
		return segs, true, err
	}
	return splitYAMLDocs(b), false, nil
}

func isJSON(b []byte) bool {
	t := bytes.TrimLeft(b, " \t\r\n")
	return len(t) > 0 && t[0] == '{'
}

// separatorRE is a YAML document separator line, with an optional comment.
var separatorRE = regexp.MustCompile(`^---[ \t]*(#.*)?\r?\n?$`)

func splitYAMLDocs(b []byte) []segment {
	var segs []segment
	start := 0
	for pos := 0; pos < len(b); {
		end := bytes.IndexByte(b[pos:], '\n')
		if end < 0 {
			end = len(b)
		} else {
			end += pos + 1
		}
		if pos > start && separatorRE.Match(b[pos:end]) {
			segs = append(segs, segment{raw: b[start:pos]})
			start = pos
		}
		pos = end
	}
	if start < len(b) || len(segs) == 0 {
		segs = append(segs, segment{raw: b[start:]})
	}
	for i := range segs {
		segs[i].blank = blankYAML(segs[i].raw)
	}
	return segs
}

// blankYAML reports a document with only comments, blank lines and
// separators.
func blankYAML(doc []byte) bool {
	for _, line := range bytes.Split(doc, []byte("\n")) {
		l := bytes.TrimSpace(line)
		if len(l) > 0 && l[0] != '#' && !separatorRE.Match(l) && !bytes.Equal(l, []byte("...")) {
			return false
		}
	}
	return true
}

func splitJSONValues(b []byte) ([]segment, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	var segs []segment
	prev := 0
	for i := 1; ; i++ {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if err == io.EOF {
			if prev < len(b) && len(segs) > 0 {
				segs[len(segs)-1].raw = b[segStart(segs):]
			}
			return segs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: malformed JSON%s", i, jsonWhere(err))
		}
		off := int(dec.InputOffset())
		segs = append(segs, segment{raw: b[prev:off]})
		prev = off
	}
}

// segStart is where the last segment begins in the file.
func segStart(segs []segment) int {
	n := 0
	for _, s := range segs[:len(segs)-1] {
		n += len(s.raw)
	}
	return n
}

// jsonWhere gives the position of a JSON error, never the text at it.
func jsonWhere(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf(" at byte %d", se.Offset)
	}
	return ""
}

// yamlLineRE finds the line number in a YAML parser's error; the rest of
// the message may quote the document, so it is dropped.
var yamlLineRE = regexp.MustCompile(`line (\d+)`)

func yamlWhere(err error) string {
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		return " at line " + m[1] + " of the document"
	}
	return ""
}
