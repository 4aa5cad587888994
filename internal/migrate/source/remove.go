package source

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"go.yaml.in/yaml/v3"

	"github.com/keyward/keyward/internal/atomicfile"
)

// RemoveDocuments removes from file the Secret documents and List items
// origins name (all of file's), keeping every other document as it was
// written. A List left without items goes too; a file left with nothing
// but comments is deleted. It reports whether the file was deleted.
func RemoveDocuments(file string, origins []Origin) (bool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return false, fmt.Errorf("reading %s: %w", file, err)
	}
	segs, isJSON, err := splitFile(b)
	if err != nil {
		return false, fmt.Errorf("%s: %w", file, err)
	}
	whole := map[int]bool{}
	items := map[int][]int{}
	for _, o := range origins {
		if o.File != file || o.Index < 0 || o.Index >= len(segs) {
			return false, fmt.Errorf("%s: document %d is not in the file any more", file, o.Index+1)
		}
		switch o.Kind {
		case FromManifest:
			whole[o.Index] = true
		case FromList:
			items[o.Index] = append(items[o.Index], o.Item)
		default:
			return false, fmt.Errorf("%s: cannot remove a %s Secret from a manifest", file, o.Kind)
		}
	}
	var out bytes.Buffer
	left := false
	for i, seg := range segs {
		if whole[i] {
			continue
		}
		raw := seg.raw
		if drop, ok := items[i]; ok {
			var empty bool
			if isJSON {
				raw, empty, err = dropJSONItems(raw, drop)
			} else {
				raw, empty, err = dropYAMLItems(raw, drop)
			}
			if err != nil {
				return false, fmt.Errorf("%s: document %d: %w", file, i+1, err)
			}
			if empty {
				continue
			}
		}
		out.Write(raw)
		left = left || !blankDoc(raw, isJSON)
	}
	if !left {
		if err := os.Remove(file); err != nil {
			return false, fmt.Errorf("removing %s: %w", file, err)
		}
		return true, nil
	}
	if err := atomicfile.WriteKeepMode(file, out.Bytes(), 0o600); err != nil {
		return false, fmt.Errorf("rewriting %s: %w", file, err)
	}
	return false, nil
}

func blankDoc(raw []byte, isJSON bool) bool {
	if isJSON {
		return len(bytes.TrimSpace(raw)) == 0
	}
	return blankYAML(raw)
}

// dropJSONItems removes the items at the given positions of a JSON List.
func dropJSONItems(raw []byte, drop []int) ([]byte, bool, error) {
	lead := raw[:len(raw)-len(bytes.TrimLeft(raw, " \t\r\n"))]
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, false, fmt.Errorf("not a List any more")
	}
	var list []json.RawMessage
	if err := json.Unmarshal(obj["items"], &list); err != nil {
		return nil, false, fmt.Errorf("field items: not a list")
	}
	kept, err := without(list, drop)
	if err != nil {
		return nil, false, err
	}
	if len(kept) == 0 {
		return nil, true, nil
	}
	if obj["items"], err = json.Marshal(kept); err != nil {
		return nil, false, err
	}
	b, err := json.MarshalIndent(obj, "", "  ")
	if err != nil {
		return nil, false, err
	}
	return append(append(append([]byte{}, lead...), b...), '\n'), false, nil
}

// dropYAMLItems removes the items at the given positions of a YAML List,
// keeping the rest of the document (and its comments) as yaml.v3 reads it.
func dropYAMLItems(raw []byte, drop []int) ([]byte, bool, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil || doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, false, fmt.Errorf("not a List any more")
	}
	seq := mapValue(doc.Content[0], "items")
	if seq == nil || seq.Kind != yaml.SequenceNode {
		return nil, false, fmt.Errorf("field items: not a list")
	}
	kept, err := without(seq.Content, drop)
	if err != nil {
		return nil, false, err
	}
	if len(kept) == 0 {
		return nil, true, nil
	}
	seq.Content = kept
	b, err := encodeYAML(&doc)
	if err != nil {
		return nil, false, err
	}
	if separatorRE.Match(firstLine(raw)) {
		b = append(append([]byte{}, firstLine(raw)...), b...)
	}
	return b, false, nil
}

func firstLine(b []byte) []byte {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i+1]
	}
	return b
}

func without[T any](list []T, drop []int) ([]T, error) {
	gone := map[int]bool{}
	for _, d := range drop {
		if d < 0 || d >= len(list) {
			return nil, fmt.Errorf("items[%d] is not in the List any more", d)
		}
		gone[d] = true
	}
	var kept []T
	for i, it := range list {
		if !gone[i] {
			kept = append(kept, it)
		}
	}
	return kept, nil
}

func encodeYAML(n *yaml.Node) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// mapValue is the value of key in mapping node m, or nil.
func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// PendingFile is the journal a kustomization's folder holds while the
// generator inputs of sealed entries are being removed, so that a run
// killed after the kustomization was rewritten and before the inputs were
// gone finishes the job on the next run.
const PendingFile = ".keyward-seal-pending.json"

// RemoveGenerators replaces secretGenerator entries of kustomization file
// with their sealed files: it removes the entries (positions as read),
// adds each sealed file to resources (paths relative to the
// kustomization's folder), keeping the rest of the file, then removes the
// entries' input files that no generator in the tree still reads. It
// returns the input files removed.
func (t *Tree) RemoveGenerators(file string, entries []int, sealed []string) ([]string, error) {
	k := t.Kustomizations[file]
	if k == nil {
		return nil, fmt.Errorf("%s: not a kustomization read from the tree", file)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", file, err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil || doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: not a kustomization any more", file)
	}
	root := doc.Content[0]
	gen := mapValue(root, "secretGenerator")
	if gen == nil || gen.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%s: secretGenerator is gone", file)
	}
	gone := map[int]bool{}
	for _, i := range entries {
		if i < 0 || i >= len(gen.Content) || i >= len(k.SecretGenerator) {
			return nil, fmt.Errorf("%s: secretGenerator[%d] is not there any more", file, i)
		}
		if n := mapValue(gen.Content[i], "name"); n == nil || n.Value != k.SecretGenerator[i].Name {
			return nil, fmt.Errorf("%s: secretGenerator[%d] changed since it was read", file, i)
		}
		gone[i] = true
	}
	kept, _ := without(gen.Content, entries)
	gen.Content = kept
	if len(kept) == 0 {
		deleteKey(root, "secretGenerator")
	}
	res := mapValue(root, "resources")
	if res == nil {
		res = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "resources"}, res)
	}
	if res.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%s: field resources: not a list", file)
	}
	have := map[string]bool{}
	for _, r := range res.Content {
		have[filepath.Clean(r.Value)] = true
	}
	for _, s := range sealed {
		rel, err := filepath.Rel(k.Dir, s)
		if err != nil || rel == ".." || len(rel) > 2 && rel[:3] == ".."+string(filepath.Separator) {
			return nil, fmt.Errorf("%s: the sealed file %s is outside the kustomization's folder, where kustomize cannot read it (write it there, without --out)", file, s)
		}
		if !have[rel] {
			res.Content = append(res.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: filepath.ToSlash(rel)})
			have[rel] = true
		}
	}
	out, err := encodeYAML(&doc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}

	// Inputs no generator left in the tree reads.
	stillUsed := map[string]bool{}
	for path, other := range t.Kustomizations {
		for kind, gens := range map[string][]GeneratorArgs{"secretGenerator": other.SecretGenerator, "configMapGenerator": other.ConfigMapGenerator} {
			for i, g := range gens {
				if path == file && kind == "secretGenerator" && gone[i] {
					continue
				}
				ins, err := other.inputsOf(g, kind, i)
				if err != nil {
					continue
				}
				for _, in := range ins {
					stillUsed[in.path] = true
				}
			}
		}
	}
	var remove []string
	for _, i := range entries {
		ins, err := k.inputsOf(k.SecretGenerator[i], "secretGenerator", i)
		if err != nil {
			return nil, err
		}
		for _, in := range ins {
			if !stillUsed[in.path] {
				remove = append(remove, in.path)
				stillUsed[in.path] = true // once
			}
		}
	}
	sort.Strings(remove)
	journal := filepath.Join(k.Dir, PendingFile)
	if len(remove) > 0 {
		rel := make([]string, len(remove))
		for i, r := range remove {
			rel[i], _ = filepath.Rel(k.Dir, r)
		}
		j, _ := json.Marshal(rel)
		if err := atomicfile.Write(journal, j, 0o600); err != nil {
			return nil, fmt.Errorf("%s: %w", journal, err)
		}
	}
	if err := atomicfile.WriteKeepMode(file, out, 0o644); err != nil {
		return nil, fmt.Errorf("rewriting %s: %w", file, err)
	}
	removed, err := t.finishPending(k)
	if err != nil {
		return removed, err
	}
	return removed, nil
}

// FinishPending removes the input files a killed run left listed in the
// journal of each kustomization of the tree, when no generator reads them
// any more, and the journal with them. It returns the files removed.
func (t *Tree) FinishPending() ([]string, error) {
	var all []string
	paths := make([]string, 0, len(t.Kustomizations))
	for p := range t.Kustomizations {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		removed, err := t.finishPending(t.Kustomizations[p])
		all = append(all, removed...)
		if err != nil {
			return all, err
		}
	}
	return all, nil
}

// Pending lists the files journals in the tree name that no generator
// reads any more (what FinishPending would remove).
func (t *Tree) Pending() []string {
	var out []string
	for _, k := range t.Kustomizations {
		files, _ := t.pendingOf(k)
		out = append(out, files...)
	}
	sort.Strings(out)
	return out
}

func (t *Tree) pendingOf(k *Kustomization) ([]string, error) {
	journal := filepath.Join(k.Dir, PendingFile)
	b, err := os.ReadFile(journal)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", journal, err)
	}
	var rel []string
	if err := json.Unmarshal(b, &rel); err != nil {
		return nil, fmt.Errorf("%s: not a list of files", journal)
	}
	cur, err := readKustomization(k.Path)
	if err != nil {
		return nil, err
	}
	used := map[string]bool{}
	for _, p := range cur.inputs() {
		used[p] = true
	}
	for path, other := range t.Kustomizations {
		if path != k.Path {
			for _, p := range other.inputs() {
				used[p] = true
			}
		}
	}
	var out []string
	for _, r := range rel {
		p := filepath.Join(k.Dir, r)
		if rr, err := filepath.Rel(k.Dir, p); err != nil || rr == ".." || len(rr) > 2 && rr[:3] == ".."+string(filepath.Separator) {
			continue // a journal never names files outside its folder
		}
		if _, err := os.Lstat(p); err == nil && !used[p] {
			out = append(out, p)
		}
	}
	return out, nil
}

func (t *Tree) finishPending(k *Kustomization) ([]string, error) {
	files, err := t.pendingOf(k)
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, p := range files {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return removed, fmt.Errorf("removing %s: %w", p, err)
		}
		removed = append(removed, p)
	}
	if err := os.Remove(filepath.Join(k.Dir, PendingFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return removed, err
	}
	return removed, nil
}

func deleteKey(m *yaml.Node, key string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content = append(m.Content[:i], m.Content[i+2:]...)
			return
		}
	}
}
