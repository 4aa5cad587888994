package source

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/keyward/keyward/internal/atomicfile"
)

// RemoveDocuments removes from file the Secret documents and List items
// origins name (all of file's), keeping every other document as it was
// written. A List left without items goes too; a file left with nothing
// but comments is deleted. It reports whether the file was deleted.
func RemoveDocuments(file string, origins []Origin) (bool, error) {
	out, gone, err := withoutDocuments(file, origins)
	if err != nil {
		return false, err
	}
	return gone, writeOrRemove(file, out, gone)
}

func writeOrRemove(file string, out []byte, gone bool) error {
	if gone {
		if err := os.Remove(file); err != nil {
			return fmt.Errorf("removing %s: %w", file, err)
		}
		return nil
	}
	if err := atomicfile.WriteKeepMode(file, out, 0o600); err != nil {
		return fmt.Errorf("rewriting %s: %w", file, err)
	}
	return nil
}

// withoutDocuments is file's content without the documents and items
// origins name, and whether nothing but comments is left.
func withoutDocuments(file string, origins []Origin) ([]byte, bool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, false, fmt.Errorf("reading %s: %w", file, err)
	}
	segs, isJSON, err := splitFile(b)
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", file, err)
	}
	whole := map[int]bool{}
	items := map[int][]int{}
	for _, o := range origins {
		if o.File != file || o.Index < 0 || o.Index >= len(segs) {
			return nil, false, fmt.Errorf("%s: document %d is not in the file any more", file, o.Index+1)
		}
		switch o.Kind {
		case FromManifest:
			whole[o.Index] = true
		case FromList:
			items[o.Index] = append(items[o.Index], o.Item)
		default:
			return nil, false, fmt.Errorf("%s: cannot remove a %s Secret from a manifest", file, o.Kind)
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
				return nil, false, fmt.Errorf("%s: document %d: %w", file, i+1, err)
			}
			if empty {
				continue
			}
		}
		out.Write(raw)
		left = left || !blankDoc(raw, isJSON)
	}
	return out.Bytes(), !left, nil
}

// ReplaceDocuments is RemoveDocuments for a tree: when a kustomization
// lists file in its resources, the sealed files are listed there too, and
// file is dropped from the list if it is removed. A journal in the
// kustomization's folder lets a killed run finish the listing.
func (t *Tree) ReplaceDocuments(file string, origins []Origin, sealed []string) (bool, error) {
	kf, ok := t.placedBy[file]
	if !ok {
		return RemoveDocuments(file, origins)
	}
	k := t.Kustomizations[kf]
	out, gone, err := withoutDocuments(file, origins)
	if err != nil {
		return false, err
	}
	var j journal
	for _, s := range sealed {
		rel, err := relInside(k.Dir, s)
		if err != nil {
			return false, fmt.Errorf("%s lists %s, but the sealed file %s is outside its folder, where kustomize cannot read it (write it there, without --out)", kf, file, s)
		}
		j.Add = append(j.Add, rel)
	}
	if gone {
		rel, _ := relInside(k.Dir, file)
		j.Unlist = append(j.Unlist, rel)
	}
	if err := writeJournal(k, j); err != nil {
		return false, err
	}
	if err := writeOrRemove(file, out, gone); err != nil {
		return false, err
	}
	_, err = t.finishPending(k)
	return gone, err
}

// relInside is path relative to dir, refused when it leaves dir.
func relInside(dir, path string) (string, error) {
	rel, err := filepath.Rel(dir, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return "", fmt.Errorf("%s is outside %s", path, dir)
	}
	return rel, nil
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

// journal is what PendingFile holds: paths relative to the
// kustomization's folder.
type journal struct {
	// Remove are generator inputs to delete once no generator reads them.
	Remove []string `json:"remove,omitempty"`
	// Add are sealed files to list in resources.
	Add []string `json:"add,omitempty"`
	// Unlist are resources to drop from the list once their file is gone.
	Unlist []string `json:"unlist,omitempty"`
}

func writeJournal(k *Kustomization, j journal) error {
	path := filepath.Join(k.Dir, PendingFile)
	b, _ := json.Marshal(j)
	if err := atomicfile.Write(path, b, 0o600); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func readJournal(k *Kustomization) (journal, bool, error) {
	path := filepath.Join(k.Dir, PendingFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return journal{}, false, nil
	}
	if err != nil {
		return journal{}, false, fmt.Errorf("reading %s: %w", path, err)
	}
	var j journal
	if err := json.Unmarshal(b, &j); err != nil {
		return journal{}, false, fmt.Errorf("%s: not a journal of this tool", path)
	}
	return j, true, nil
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
	if len(remove) > 0 {
		var j journal
		for _, r := range remove {
			rel, _ := filepath.Rel(k.Dir, r)
			j.Remove = append(j.Remove, rel)
		}
		if err := writeJournal(k, j); err != nil {
			return nil, err
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
	j, ok, err := readJournal(k)
	if err != nil || !ok {
		return nil, err
	}
	rel := j.Remove
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
	j, ok, err := readJournal(k)
	if err != nil || !ok {
		return nil, err
	}
	if len(j.Add) > 0 || len(j.Unlist) > 0 {
		if err := listResources(k, j.Add, j.Unlist); err != nil {
			return nil, err
		}
	}
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

// listResources adds add to the kustomization's resources and drops the
// unlist entries whose file is gone, keeping the rest of the file; it
// writes only when something changes.
func listResources(k *Kustomization, add, unlist []string) error {
	b, err := os.ReadFile(k.Path)
	if err != nil {
		return fmt.Errorf("reading %s: %w", k.Path, err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil || doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return fmt.Errorf("%s: not a kustomization any more", k.Path)
	}
	root := doc.Content[0]
	res := mapValue(root, "resources")
	if res == nil {
		res = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "resources"}, res)
	}
	if res.Kind != yaml.SequenceNode {
		return fmt.Errorf("%s: field resources: not a list", k.Path)
	}
	changed := false
	drop := map[string]bool{}
	for _, u := range unlist {
		if _, err := os.Lstat(filepath.Join(k.Dir, u)); errors.Is(err, os.ErrNotExist) {
			drop[filepath.Clean(u)] = true
		}
	}
	have := map[string]bool{}
	kept := res.Content[:0]
	for _, r := range res.Content {
		c := filepath.Clean(r.Value)
		if drop[c] {
			changed = true
			continue
		}
		have[c] = true
		kept = append(kept, r)
	}
	res.Content = kept
	for _, a := range add {
		if !have[filepath.Clean(a)] {
			res.Content = append(res.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: filepath.ToSlash(a)})
			have[filepath.Clean(a)] = true
			changed = true
		}
	}
	if !changed {
		return nil
	}
	out, err := encodeYAML(&doc)
	if err != nil {
		return fmt.Errorf("%s: %w", k.Path, err)
	}
	if err := atomicfile.WriteKeepMode(k.Path, out, 0o644); err != nil {
		return fmt.Errorf("rewriting %s: %w", k.Path, err)
	}
	return nil
}

// CheckListable reports, before anything is removed, whether the sealed
// file that replaces a Secret of file can be listed where it must be: in
// the folder of the kustomization that lists file (or that file is).
func (t *Tree) CheckListable(file, sealed string) error {
	kf := file
	if _, ok := t.Kustomizations[file]; !ok {
		if kf, ok = t.placedBy[file]; !ok {
			return nil
		}
	}
	if _, err := relInside(t.Kustomizations[kf].Dir, sealed); err != nil {
		return fmt.Errorf("%s needs %s in its resources, but it is outside its folder, where kustomize cannot read it (write it there, without --out)", kf, sealed)
	}
	return nil
}
