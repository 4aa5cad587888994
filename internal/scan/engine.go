// Package scan finds leaked credentials and plaintext Kubernetes Secrets:
// sources stream text, one keyword pass per chunk picks the rules to run,
// each rule runs once on the lines its keywords hit, and the results pass
// through allowlists and the baseline before they are reported.
package scan

import (
	"bytes"
	"fmt"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/keyward/keyward/internal/scan/keywords"
	"github.com/keyward/keyward/internal/scan/kube"
	"github.com/keyward/keyward/internal/scan/rules"
	"github.com/keyward/keyward/internal/scan/source"
)

// Finding is one secret found.
type Finding struct {
	Rule        string
	Description string
	File        string
	StartLine   int
	EndLine     int
	StartColumn int
	EndColumn   int
	Secret      string // the raw value: never printed unless asked
	Public      int    // leading bytes of Secret that are a public type marker
	Commit      *source.Commit
	Fingerprint string
}

// Allowlist drops findings by secret value. (Paths are pruned by the
// sources' skip function, so allowlisted files are never read.)
type Allowlist struct {
	Secrets   []*regexp.Regexp
	Stopwords []string // lowercase substrings of the secret
}

func (a *Allowlist) secret(s string) bool {
	for _, r := range a.Secrets {
		if r.MatchString(s) {
			return true
		}
	}
	if len(a.Stopwords) > 0 {
		l := strings.ToLower(s)
		for _, w := range a.Stopwords {
			if strings.Contains(l, w) {
				return true
			}
		}
	}
	return false
}

// Engine applies a rule set to fragments of text. It is safe for concurrent
// use: all per-scan state lives on the stack of Scan.
type Engine struct {
	rules   []*rules.Rule
	kw      *keywords.Matcher
	kwRules [][]int32 // keyword id -> indexes into rules
	kube    map[string]bool
	allow   Allowlist
	descs   map[string]string
}

// NewEngine compiles rules (minus the disabled ids) into one keyword
// automaton. Kubernetes rules are on unless disabled.
func NewEngine(rs []*rules.Rule, disabled []string, allow Allowlist) (*Engine, error) {
	off := map[string]bool{}
	for _, id := range disabled {
		off[id] = true
	}
	e := &Engine{kube: map[string]bool{}, allow: allow, descs: map[string]string{}}
	for id, d := range kube.Rules {
		e.descs[id] = d
		if !off[id] {
			e.kube[id] = true
		}
	}
	var kept []*rules.Rule
	for _, r := range rs {
		e.descs[r.ID] = r.Description
		if !off[r.ID] {
			kept = append(kept, r)
		}
	}
	set, err := rules.NewSet(kept)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	e.rules = set.Rules
	index := map[string]int{}
	var kws []string
	for ri, r := range e.rules {
		for _, k := range r.Keywords {
			id, ok := index[k]
			if !ok {
				id = len(kws)
				index[k] = id
				kws = append(kws, k)
				e.kwRules = append(e.kwRules, nil)
			}
			if !slices.Contains(e.kwRules[id], int32(ri)) {
				e.kwRules[id] = append(e.kwRules[id], int32(ri))
			}
		}
	}
	e.kw = keywords.New(kws)
	return e, nil
}

// Description returns the description of a rule id.
func (e *Engine) Description(id string) string { return e.descs[id] }

// RuleIDs lists every known rule id (enabled or not), sorted.
func (e *Engine) RuleIDs() []string {
	ids := make([]string, 0, len(e.descs))
	for id := range e.descs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Fragment is a piece of a file to scan.
type Fragment struct {
	Path   string
	Commit *source.Commit
	Text   []byte
	Segs   []source.Seg // fragment line -> file line; nil means line 1 onwards
	// ReportFrom: matches ending at or before this offset were already
	// reported with the previous chunk.
	ReportFrom int
	// Full is the whole file for structural (Kubernetes) analysis, when
	// available; Added says which of its lines Text holds (nil: all).
	Full  []byte
	Added func(line int) bool
}

// lineWindow caps how far a window reaches into a long line (minified
// code), so one keyword never costs a regex over megabytes.
const lineWindow = 1024

// Parsing rules see nextSpan bytes after their line (a block's body) and
// contextSpan bytes either side for a vendor's name.
const (
	nextSpan    = 512
	contextSpan = 2048
)

type match struct {
	rule       *rules.Rule
	start, end int
	secret     string
	rejected   bool
}

// Scan returns the findings in one fragment.
func (e *Engine) Scan(f *Fragment) []Finding {
	text := f.Text
	active := make([]bool, len(e.rules))
	for i, r := range e.rules {
		active[i] = r.Paths == nil || r.Paths.MatchString(f.Path)
	}
	windowEnd := make([]int, len(e.rules))
	lastJob := make([]int, len(e.rules))
	type job struct {
		rule        int32
		ws, we, hit int
	}
	var jobs []job
	e.kw.Find(text, func(id, end int) {
		for _, ri := range e.kwRules[id] {
			if !active[ri] {
				continue
			}
			r := e.rules[ri]
			if r.Detect == nil && !r.Multiline && end <= windowEnd[ri] {
				continue // this rule already runs over the keyword's line
			}
			start := end - len(e.kw.Keyword(id))
			lo := max(0, start-lineWindow)
			ws := lo
			if i := bytes.LastIndexByte(text[lo:start], '\n'); i >= 0 {
				ws = lo + i + 1
			}
			var we int
			if r.Multiline {
				we = min(len(text), start+r.MaxSpan)
			} else {
				hi := min(len(text), end+lineWindow)
				we = hi
				if i := bytes.IndexByte(text[end:hi], '\n'); i >= 0 {
					we = end + i
				}
			}
			switch {
			case r.Multiline && start < windowEnd[ri]:
				// A block (PEM key) ends before the next one begins: cut the
				// previous window here so each block is matched once.
				if j := &jobs[lastJob[ri]]; ws > j.ws {
					j.we = ws
				} else {
					continue
				}
			case r.Detect == nil:
				ws = max(ws, windowEnd[ri]) // overlapping windows of one rule share no bytes
			}
			windowEnd[ri] = we
			lastJob[ri] = len(jobs)
			jobs = append(jobs, job{ri, ws, we, end})
		}
	})
	if len(jobs) == 0 && f.Full == nil {
		return nil
	}
	var ms []match
	for _, j := range jobs {
		r := e.rules[j.rule]
		w := rules.Window{Text: text[j.ws:j.we], Hit: j.hit - j.ws, Path: f.Path}
		if r.Detect != nil {
			if j.we < len(text) && text[j.we] == '\n' {
				w.Next = text[j.we+1 : min(len(text), j.we+1+nextSpan)]
			}
			w.Context = text[max(0, j.ws-contextSpan):min(len(text), j.we+contextSpan)]
		}
		for _, c := range r.Find(w) {
			ms = append(ms, match{rule: r, start: j.ws + c.Start, end: j.ws + c.End, secret: c.Secret, rejected: c.Rejected})
		}
	}
	// Specific rules claim their bytes, even when their validator rejected
	// the value (a ghp_ token with a bad checksum is not a generic secret).
	sort.Slice(ms, func(a, b int) bool {
		if ms[a].start != ms[b].start {
			return ms[a].start < ms[b].start
		}
		return ms[a].rule.ID < ms[b].rule.ID
	})
	var claims [][2]int
	for _, m := range ms {
		if !m.rule.Generic && !m.rule.Yield {
			claims = append(claims, [2]int{m.start, m.end})
		}
	}
	lines := newLineIndex(text, f.Segs)
	var out []Finding
	seen := map[[2]int]map[string]bool{}
	for _, m := range ms {
		if m.rejected || m.end <= f.ReportFrom {
			continue
		}
		key := [2]int{m.start, m.end}
		if seen[key] == nil {
			seen[key] = map[string]bool{}
		}
		if seen[key][m.rule.ID] {
			continue
		}
		seen[key][m.rule.ID] = true
		if (m.rule.Generic || m.rule.Yield) && overlaps(claims, m.start, m.end) {
			continue
		}
		if lines.allowed(m.start) || lines.allowed(max(m.start, m.end-1)) {
			continue
		}
		sl, sc := lines.locate(m.start)
		el, ec := lines.locate(max(m.start, m.end-1))
		out = append(out, Finding{
			Rule: m.rule.ID, Description: m.rule.Description, File: f.Path, Commit: f.Commit,
			StartLine: sl, EndLine: el, StartColumn: sc, EndColumn: ec + 1,
			Secret: m.secret, Public: m.rule.Public,
		})
	}
	out = e.structural(f, out)
	kept := out[:0]
	for _, fd := range out {
		if !e.allow.secret(fd.Secret) {
			kept = append(kept, fd)
		}
	}
	return kept
}

func overlaps(claims [][2]int, s, e int) bool {
	for _, c := range claims {
		if s < c[1] && c[0] < e {
			return true
		}
	}
	return false
}

// structural adds Kubernetes findings and removes generic findings that
// they explain or that sit in encrypted documents.
func (e *Engine) structural(f *Fragment, out []Finding) []Finding {
	if f.Full == nil || len(e.kube) == 0 || !kubeCandidate(f.Path) || !kube.Relevant(f.Full) {
		return out
	}
	res := kube.Analyze(f.Full, f.Path)
	if len(res.Findings) == 0 && len(res.Quiet) == 0 {
		return out
	}
	specific := map[int]bool{}
	for _, fd := range out {
		if !isGeneric(fd.Rule) {
			specific[fd.StartLine] = true
		}
	}
	kubeLines := map[int]bool{}
	var add []Finding
	var full *lineIndex
	for _, k := range res.Findings {
		if !e.kube[k.Rule] || specific[k.Line] || f.Added != nil && !f.Added(k.Line) {
			continue
		}
		if full == nil {
			full = newLineIndex(f.Full, nil)
		}
		if full.lineAllowed(k.Line) {
			continue
		}
		kubeLines[k.Line] = true
		add = append(add, Finding{
			Rule: k.Rule, Description: e.descs[k.Rule], File: f.Path, Commit: f.Commit,
			StartLine: k.Line, EndLine: k.Line, Secret: k.Secret,
		})
	}
	kept := out[:0]
	for _, fd := range out {
		if isGeneric(fd.Rule) && (kubeLines[fd.StartLine] || inRanges(res.Quiet, fd.StartLine)) {
			continue
		}
		kept = append(kept, fd)
	}
	return append(kept, add...)
}

func isGeneric(id string) bool { return strings.HasPrefix(id, "generic-") }

func inRanges(rs []kube.Range, line int) bool {
	for _, r := range rs {
		if r.From <= line && line <= r.To {
			return true
		}
	}
	return false
}

// kubeCandidate: manifests, Helm templates and kubeconfigs (often without an
// extension).
func kubeCandidate(p string) bool {
	switch strings.ToLower(path.Ext(p)) {
	case ".yaml", ".yml", ".json", ".tpl", "":
		return true
	}
	b := strings.ToLower(path.Base(p))
	return strings.Contains(b, "kubeconfig") || strings.HasSuffix(b, ".conf") || strings.HasSuffix(b, ".config")
}

// lineIndex turns offsets into file lines and columns, counting newlines
// incrementally (findings are visited in offset order) and mapping through
// the fragment's segments.
type lineIndex struct {
	text []byte
	segs []source.Seg
	off  int // offset of the start of line `line`
	line int // 0-based fragment line at off
}

func newLineIndex(text []byte, segs []source.Seg) *lineIndex {
	return &lineIndex{text: text, segs: segs}
}

func (l *lineIndex) seek(off int) {
	if off < l.off {
		l.off, l.line = 0, 0
	}
	for {
		i := bytes.IndexByte(l.text[l.off:], '\n')
		if i < 0 || l.off+i >= off {
			return
		}
		l.off += i + 1
		l.line++
	}
}

// locate returns the 1-based file line and column of off.
func (l *lineIndex) locate(off int) (int, int) {
	l.seek(off)
	return l.fileLine(l.line), off - l.off + 1
}

func (l *lineIndex) fileLine(local int) int {
	if len(l.segs) == 0 {
		return local + 1
	}
	i := sort.Search(len(l.segs), func(i int) bool { return l.segs[i].Local > local }) - 1
	if i < 0 {
		i = 0
	}
	return l.segs[i].File + local - l.segs[i].Local
}

const allowMarker = "keyward:allow"

// allowed reports an inline `keyward:allow` on the line holding off.
func (l *lineIndex) allowed(off int) bool {
	l.seek(off)
	end := bytes.IndexByte(l.text[l.off:], '\n')
	line := l.text[l.off:]
	if end >= 0 {
		line = line[:end]
	}
	return bytes.Contains(line, []byte(allowMarker))
}

// lineAllowed is allowed for a 1-based line of an unsegmented text.
func (l *lineIndex) lineAllowed(n int) bool {
	off := 0
	for i := 1; i < n; i++ {
		j := bytes.IndexByte(l.text[off:], '\n')
		if j < 0 {
			return false
		}
		off += j + 1
	}
	return l.allowed(off)
}
