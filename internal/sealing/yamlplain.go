package sealing

import (
	"sort"
	"strings"
)

// appendPlainYAML writes a document of generic JSON values (maps, strings,
// booleans, nulls) as go-yaml would, for the common shape of a sealed
// manifest: every key and string a word of letters, digits and ._/+=-. It reports false, having written
// nothing useful, for anything else, which then goes to go-yaml itself.
// go-yaml's emitter is most of the cost of writing a sealed stream; the
// equivalence is tested against it, with a fuzz target.
func appendPlainYAML(b []byte, v any) ([]byte, bool) {
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		return b, false
	}
	return appendPlainMap(b, m, 0)
}

func appendPlainMap(b []byte, m map[string]any, indent int) ([]byte, bool) {
	keys := make([]string, 0, len(m))
	for k := range m {
		if len(k) > 100 {
			return b, false // go-yaml writes long keys as complex keys
		}
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return plainKeyLess(keys[i], keys[j]) })
	for _, k := range keys {
		for i := 0; i < indent; i++ {
			b = append(b, ' ')
		}
		var ok bool
		if b, ok = appendScalar(b, k); !ok {
			return b, false
		}
		b = append(b, ':')
		switch v := m[k].(type) {
		case nil:
			b = append(b, " null\n"...)
		case bool:
			if v {
				b = append(b, " true\n"...)
			} else {
				b = append(b, " false\n"...)
			}
		case string:
			var ok bool
			if b, ok = appendScalar(append(b, ' '), v); !ok {
				return b, false
			}
			b = append(b, '\n')
		case map[string]any:
			if len(v) == 0 {
				b = append(b, " {}\n"...)
				continue
			}
			b = append(b, '\n')
			var ok bool
			if b, ok = appendPlainMap(b, v, indent+2); !ok {
				return b, false
			}
		default:
			return b, false
		}
	}
	return b, true
}

// yaml11Words are the strings YAML 1.1 reads as a boolean or null; go-yaml
// writes them double-quoted, which for letters only is the word in quotes.
var yaml11Words = map[string]bool{
	"y": true, "Y": true, "yes": true, "Yes": true, "YES": true,
	"n": true, "N": true, "no": true, "No": true, "NO": true,
	"true": true, "True": true, "TRUE": true, "false": true, "False": true, "FALSE": true,
	"on": true, "On": true, "ON": true, "off": true, "Off": true, "OFF": true,
	"null": true, "Null": true, "NULL": true,
}

// appendScalar writes s as go-yaml writes a string that starts with a
// letter and holds only letters, digits and ._/+=- (a plain scalar, or
// the word in double quotes when YAML would read it as a boolean or null),
// and reports false for any other string.
func appendScalar(b []byte, s string) ([]byte, bool) {
	if s == "" || !isASCIILetter(s[0]) {
		return b, false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !isASCIILetter(c) && !isDigit(c) && !strings.ContainsRune("._/+=-", rune(c)) {
			return b, false
		}
	}
	if yaml11Words[s] {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"'), true
	}
	return append(b, s...), true
}

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// plainKeyLess is go-yaml's key order for plain keys: at the first
// difference, letters sort after other characters and runs of digits
// compare as numbers.
func plainKeyLess(a, b string) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] == b[i] {
			continue
		}
		al, bl := isASCIILetter(a[i]), isASCIILetter(b[i])
		if al && bl {
			return a[i] < b[i]
		}
		if al || bl {
			return bl
		}
		var an, bn int64
		if a[i] == '0' || b[i] == '0' {
			for j := i - 1; j >= 0 && isDigit(a[j]); j-- {
				if a[j] != '0' {
					an, bn = 1, 1
					break
				}
			}
		}
		ai, bi := i, i
		for ; ai < len(a) && isDigit(a[ai]); ai++ {
			an = an*10 + int64(a[ai]-'0')
		}
		for ; bi < len(b) && isDigit(b[bi]); bi++ {
			bn = bn*10 + int64(b[bi]-'0')
		}
		if an != bn {
			return an < bn
		}
		if ai != bi {
			return ai < bi
		}
		return a[i] < b[i]
	}
	return len(a) < len(b)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
