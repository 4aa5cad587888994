package exposure

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// ref is one Secret key.
type ref struct{ namespace, secret, key string }

func (r ref) String() string { return r.namespace + "/" + r.secret }

// index finds Secret values in other text by keyed hash: it keeps the
// HMAC of each value, never the value, and hashes candidate substrings of
// the text it is asked about.
type index struct {
	mac    hash.Hash
	minLen int
	refs   map[[sha256.Size]byte][]ref
}

// publicKeys are keys whose values are certificates, meant to be seen.
var publicKeys = map[string]bool{"ca.crt": true, "tls.crt": true}

func newIndex(secrets []corev1.Secret, key []byte, minLen int) (*index, error) {
	if len(key) == 0 {
		key = make([]byte, sha256.Size)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
	}
	ix := &index{mac: hmac.New(sha256.New, key), minLen: minLen, refs: map[[sha256.Size]byte][]ref{}}
	for i := range secrets {
		s := &secrets[i]
		if s.Type == helmReleaseType {
			continue // a release record, searched itself (helm-release)
		}
		for k, v := range s.Data {
			if len(v) < minLen || publicKeys[k] || (s.Type == corev1.SecretTypeServiceAccountToken && k == "namespace") {
				continue
			}
			h := ix.sum(v)
			ix.refs[h] = append(ix.refs[h], ref{s.Namespace, s.Name, k})
		}
	}
	for _, rs := range ix.refs {
		sort.Slice(rs, func(i, j int) bool { return rs[i].String()+"/"+rs[i].key < rs[j].String()+"/"+rs[j].key })
	}
	return ix, nil
}

func (ix *index) sum(b []byte) [sha256.Size]byte {
	ix.mac.Reset()
	ix.mac.Write(b)
	var out [sha256.Size]byte
	ix.mac.Sum(out[:0])
	return out
}

func (ix *index) empty() bool { return len(ix.refs) == 0 }

// find returns the Secret keys whose value is text or a part of it (a
// line, a word, the right side of "name=value" or "name: value", a piece
// between separators); with decode, also base64 pieces decoded. Each value
// found is named once, by the Secret in namespace ns if one holds it, else
// by the first.
func (ix *index) find(text, ns string, decode bool) []ref {
	if len(text) < ix.minLen || ix.empty() {
		return nil
	}
	seen := map[[sha256.Size]byte]bool{}
	var out []ref
	try := func(s string) {
		if len(s) < ix.minLen {
			return
		}
		h := ix.sum([]byte(s))
		if seen[h] {
			return
		}
		seen[h] = true
		if rs := ix.refs[h]; len(rs) > 0 {
			out = append(out, pick(rs, ns))
		}
	}
	for _, c := range candidates(text) {
		try(c)
		if decode && len(c) >= 12 && len(c)%4 == 0 {
			if b, err := base64.StdEncoding.DecodeString(c); err == nil {
				try(string(b))
			}
		}
	}
	return out
}

func pick(rs []ref, ns string) ref {
	for _, r := range rs {
		if r.namespace == ns {
			return r
		}
	}
	return rs[0]
}

// candidates are the pieces of text a copied value could be: the whole,
// each line, each word, and each word cut at separators, with and
// without the characters base64 uses.
func candidates(text string) []string {
	out := []string{text}
	trim := func(s string) string { return strings.Trim(s, " \t\r\"'`,;()[]{}<>") }
	for _, line := range strings.Split(text, "\n") {
		line = trim(line)
		out = append(out, line)
		if _, v, ok := cutAssign(line); ok {
			out = append(out, trim(v))
		}
		for _, w := range strings.Fields(line) {
			w = trim(w)
			out = append(out, w)
			if _, v, ok := cutAssign(w); ok {
				out = append(out, trim(v))
			}
			out = append(out, strings.FieldsFunc(w, func(r rune) bool { return strings.ContainsRune(`=:,;"'@?&|`, r) })...)
			out = append(out, strings.FieldsFunc(w, func(r rune) bool { return strings.ContainsRune(`=:,;"'@?&|/+`, r) })...)
		}
	}
	return out
}

// cutAssign splits "name=value" or "name: value" at the first separator.
func cutAssign(s string) (string, string, bool) {
	i := strings.IndexAny(s, "=:")
	if i < 0 {
		return "", "", false
	}
	return s[:i], s[i+1:], true
}
