// Package baseline records accepted findings by content, not position: an
// entry is (rule, path, salted hash of the secret), so a finding that moves
// lines stays suppressed while a new secret on an old line is reported, and
// the file never holds a secret or an unsalted hash of one.
package baseline

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
)

// DefaultSalt keys fingerprints when no baseline supplies a salt. It is
// public, so fingerprints of weak passwords made with it can be guessed;
// reports meant for wide sharing should use a baseline (its salt is random).
const DefaultSalt = "keyward-scan-v1"

// Entry is one accepted finding.
type Entry struct {
	Rule string `json:"rule"`
	Path string `json:"path"`
	Hash string `json:"hash"`
	// Line is a hint for humans reviewing the file; matching ignores it.
	Line int `json:"line,omitempty"`
}

// Baseline is a set of accepted findings.
type Baseline struct {
	Version  int     `json:"version"`
	Salt     string  `json:"salt"`
	Findings []Entry `json:"findings"`
	set      map[Entry]bool
}

// New returns an empty baseline with a random salt.
func New() (*Baseline, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("baseline salt: %w", err)
	}
	return &Baseline{Version: 1, Salt: hex.EncodeToString(b[:])}, nil
}

// Load reads a baseline file. A missing file is an error here; callers that
// treat a default path as optional check fs.ErrNotExist.
func Load(path string) (*Baseline, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read baseline: %w", err)
	}
	var b Baseline
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("parse baseline %s: %w", path, err)
	}
	if b.Version != 1 {
		return nil, fmt.Errorf("baseline %s: unsupported version %d", path, b.Version)
	}
	if b.Salt == "" {
		return nil, fmt.Errorf("baseline %s: no salt", path)
	}
	return &b, nil
}

// LoadOrNew loads path, or returns a new baseline if it does not exist.
func LoadOrNew(path string) (*Baseline, error) {
	b, err := Load(path)
	if errors.Is(err, fs.ErrNotExist) {
		return New()
	}
	return b, err
}

// Hash is the salted hash of a finding's identity.
func Hash(salt, rule, path, secret string) string {
	m := hmac.New(sha256.New, []byte(salt))
	for _, s := range []string{rule, path, secret} {
		m.Write([]byte(s))
		m.Write([]byte{0})
	}
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// Contains reports whether a finding with this hash is accepted.
func (b *Baseline) Contains(rule, path, hash string) bool {
	if b.set == nil {
		b.set = make(map[Entry]bool, len(b.Findings))
		for _, e := range b.Findings {
			b.set[Entry{Rule: e.Rule, Path: e.Path, Hash: e.Hash}] = true
		}
	}
	return b.set[Entry{Rule: rule, Path: path, Hash: hash}]
}

// Reset drops all entries, keeping the salt.
func (b *Baseline) Reset() { b.Findings, b.set = nil, nil }

// Add accepts a finding (duplicates are kept once).
func (b *Baseline) Add(rule, path, hash string, line int) {
	if b.Contains(rule, path, hash) {
		return
	}
	b.set[Entry{Rule: rule, Path: path, Hash: hash}] = true
	b.Findings = append(b.Findings, Entry{Rule: rule, Path: path, Hash: hash, Line: line})
}

// Write saves the baseline, entries sorted so diffs stay small.
func (b *Baseline) Write(path string) error {
	sort.Slice(b.Findings, func(i, j int) bool {
		x, y := b.Findings[i], b.Findings[j]
		if x.Path != y.Path {
			return x.Path < y.Path
		}
		if x.Line != y.Line {
			return x.Line < y.Line
		}
		return x.Rule < y.Rule
	})
	if b.Findings == nil {
		b.Findings = []Entry{}
	}
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return fmt.Errorf("encode baseline: %w", err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write baseline: %w", err)
	}
	return nil
}
