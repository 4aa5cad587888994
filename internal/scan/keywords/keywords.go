// Package keywords finds many keywords in one pass over a byte slice,
// ignoring ASCII case, so the scanner can decide which rules to run without
// lowercasing a copy of its input.
package keywords

import "slices"

// Matcher is an Aho-Corasick automaton compiled to a dense DFA over byte
// classes: one table lookup per input byte, no allocation while matching.
type Matcher struct {
	class    [256]uint8 // byte -> class; bytes in no keyword share class 0
	nclass   int
	next     []int32   // state*nclass + class -> state
	out      [][]int32 // state -> keyword ids ending here (own and via suffix links)
	keywords []string
}

// New compiles the keywords (matched case-insensitively for ASCII letters).
// Duplicates are kept: each id reports separately.
func New(kws []string) *Matcher {
	m := &Matcher{keywords: slices.Clone(kws)}
	// Byte classes: every distinct folded byte in the keywords gets a class,
	// both cases of a letter share one.
	n := 1
	for _, kw := range kws {
		for i := 0; i < len(kw); i++ {
			c := lower(kw[i])
			if m.class[c] == 0 {
				m.class[c] = uint8(n)
				n++
			}
		}
	}
	for c := 'A'; c <= 'Z'; c++ {
		m.class[c] = m.class[c+'a'-'A']
	}
	m.nclass = n

	// Trie.
	type node struct {
		child map[uint8]int32
		out   []int32
	}
	nodes := []node{{child: map[uint8]int32{}}}
	for id, kw := range kws {
		s := int32(0)
		for i := 0; i < len(kw); i++ {
			c := m.class[kw[i]]
			t, ok := nodes[s].child[c]
			if !ok {
				t = int32(len(nodes))
				nodes = append(nodes, node{child: map[uint8]int32{}})
				nodes[s].child[c] = t
			}
			s = t
		}
		nodes[s].out = append(nodes[s].out, int32(id))
	}

	// Breadth-first: fail links and the full transition table.
	m.next = make([]int32, len(nodes)*n)
	m.out = make([][]int32, len(nodes))
	fail := make([]int32, len(nodes))
	queue := []int32{}
	for c := 0; c < n; c++ {
		if t, ok := nodes[0].child[uint8(c)]; ok {
			m.next[c] = t
			queue = append(queue, t)
		}
	}
	m.out[0] = nodes[0].out
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		m.out[s] = append(slices.Clone(nodes[s].out), m.out[fail[s]]...)
		for c := 0; c < n; c++ {
			if t, ok := nodes[s].child[uint8(c)]; ok {
				fail[t] = m.next[int(fail[s])*n+c]
				m.next[int(s)*n+c] = t
				queue = append(queue, t)
			} else {
				m.next[int(s)*n+c] = m.next[int(fail[s])*n+c]
			}
		}
	}
	return m
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// Keyword returns the keyword with the given id.
func (m *Matcher) Keyword(id int) string { return m.keywords[id] }

// Len is the number of keywords.
func (m *Matcher) Len() int { return len(m.keywords) }

// Find calls hit for every occurrence, with the keyword id and the offset
// just past its last byte.
func (m *Matcher) Find(b []byte, hit func(id int, end int)) {
	s := int32(0)
	next, class, nc, out := m.next, &m.class, int32(m.nclass), m.out
	for i, c := range b {
		s = next[s*nc+int32(class[c])]
		if o := out[s]; len(o) > 0 {
			for _, id := range o {
				hit(int(id), i+1)
			}
		}
	}
}
