package template

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"unicode"
)

// sprigFuncs is the Sprig subset, with Sprig's names and argument order
// (the piped value comes last). Sprig's env, expandenv and getHostByName
// are left out on purpose, as upstream does; so are clock and random
// functions, which would make a Secret change on every reconcile. A
// function, not a package variable, so that no command pays for the map
// before a template is rendered.
func sprigFuncs() template.FuncMap {
	return template.FuncMap{
		// strings
		"upper":      strings.ToUpper,
		"lower":      strings.ToLower,
		"title":      title,
		"trim":       strings.TrimSpace,
		"trimAll":    func(cut, s string) string { return strings.Trim(s, cut) },
		"trimPrefix": func(p, s string) string { return strings.TrimPrefix(s, p) },
		"trimSuffix": func(p, s string) string { return strings.TrimSuffix(s, p) },
		"replace":    func(old, new, s string) string { return strings.ReplaceAll(s, old, new) },
		"contains":   func(sub, s string) bool { return strings.Contains(s, sub) },
		"hasPrefix":  func(p, s string) bool { return strings.HasPrefix(s, p) },
		"hasSuffix":  func(p, s string) bool { return strings.HasSuffix(s, p) },
		"repeat":     func(n int, s string) string { return strings.Repeat(s, max(n, 0)) },
		"nospace":    func(s string) string { return strings.Map(dropSpace, s) },
		"quote":      func(v ...any) string { return joinMapped(v, strconv.Quote) },
		"squote":     func(v ...any) string { return joinMapped(v, func(s string) string { return "'" + s + "'" }) },
		"cat":        func(v ...any) string { return joinMapped(v, func(s string) string { return s }) },
		"indent":     indent,
		"nindent":    func(n int, s string) string { return "\n" + indent(n, s) },
		"substr":     substr,
		"trunc":      trunc,
		"join":       func(sep string, v any) string { return strings.Join(toStrings(v), sep) },
		"splitList":  func(sep, s string) []string { return strings.Split(s, sep) },
		"toString":   toString,
		"toStrings":  toStrings,
		"sortAlpha":  func(v any) []string { s := toStrings(v); sort.Strings(s); return s },

		// encodings and digests
		"b64enc":       func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) },
		"b64dec":       decodeWith(base64.StdEncoding.DecodeString),
		"b32enc":       func(s string) string { return base32.StdEncoding.EncodeToString([]byte(s)) },
		"b32dec":       decodeWith(base32.StdEncoding.DecodeString),
		"sha1sum":      func(s string) string { h := sha1.Sum([]byte(s)); return hex.EncodeToString(h[:]) },
		"sha256sum":    func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) },
		"sha512sum":    func(s string) string { h := sha512.Sum512([]byte(s)); return hex.EncodeToString(h[:]) },
		"toJson":       toJSON(false),
		"toPrettyJson": toJSON(true),
		"fromJson":     fromJSON,

		// regular expressions
		"regexMatch": func(re, s string) (bool, error) { return regexp.MatchString(re, s) },
		"regexFind":  withRegexp(func(r *regexp.Regexp, s string) string { return r.FindString(s) }),
		"regexReplaceAll": func(re, s, repl string) (string, error) {
			r, err := regexp.Compile(re)
			if err != nil {
				return "", err
			}
			return r.ReplaceAllString(s, repl), nil
		},

		// defaults and logic
		"default": func(d any, given ...any) any {
			if len(given) == 0 || empty(given[0]) {
				return d
			}
			return given[0]
		},
		"empty": empty,
		"coalesce": func(v ...any) any {
			for _, x := range v {
				if !empty(x) {
					return x
				}
			}
			return nil
		},
		"ternary": func(t, f any, cond bool) any {
			if cond {
				return t
			}
			return f
		},
		"fail": func(msg string) (string, error) { return "", errors.New(msg) },

		// numbers
		"atoi":  func(s string) int { n, _ := strconv.Atoi(s); return n },
		"int":   func(v any) int { return int(toInt64(v)) },
		"int64": toInt64,
		"add":   func(a, b any) int64 { return toInt64(a) + toInt64(b) },
		"sub":   func(a, b any) int64 { return toInt64(a) - toInt64(b) },
		"mul":   func(a, b any) int64 { return toInt64(a) * toInt64(b) },
		"div": func(a, b any) (int64, error) {
			if toInt64(b) == 0 {
				return 0, errors.New("division by zero")
			}
			return toInt64(a) / toInt64(b), nil
		},
		"mod": func(a, b any) (int64, error) {
			if toInt64(b) == 0 {
				return 0, errors.New("division by zero")
			}
			return toInt64(a) % toInt64(b), nil
		},

		// lists and dicts
		"list": func(v ...any) []any { return v },
		"first": func(v any) any {
			l := toList(v)
			if len(l) == 0 {
				return nil
			}
			return l[0]
		},
		"last": func(v any) any {
			l := toList(v)
			if len(l) == 0 {
				return nil
			}
			return l[len(l)-1]
		},
		"has": func(needle, v any) bool {
			for _, x := range toList(v) {
				if reflect.DeepEqual(x, needle) {
					return true
				}
			}
			return false
		},
		"uniq": uniq,
		"dict": dict,
		"get": func(d map[string]any, k string) any {
			if v, ok := d[k]; ok {
				return v
			}
			return ""
		},
		"set":    func(d map[string]any, k string, v any) map[string]any { d[k] = v; return d },
		"hasKey": hasKey,
		"keys":   keys,
	}
}

func dropSpace(r rune) rune {
	if unicode.IsSpace(r) {
		return -1
	}
	return r
}

func title(s string) string {
	prev := ' '
	return strings.Map(func(r rune) rune {
		defer func() { prev = r }()
		if unicode.IsSpace(prev) {
			return unicode.ToTitle(r)
		}
		return r
	}, s)
}

func joinMapped(v []any, f func(string) string) string {
	out := make([]string, 0, len(v))
	for _, x := range v {
		if x != nil {
			out = append(out, f(toString(x)))
		}
	}
	return strings.Join(out, " ")
}

func indent(n int, s string) string {
	pad := strings.Repeat(" ", max(n, 0))
	return pad + strings.ReplaceAll(s, "\n", "\n"+pad)
}

func substr(start, end int, s string) string {
	if start < 0 {
		return s[:min(max(end, 0), len(s))]
	}
	if end < 0 || end > len(s) {
		return s[min(start, len(s)):]
	}
	if start > end {
		return ""
	}
	return s[start:end]
}

func trunc(n int, s string) string {
	if n < 0 && len(s)+n > 0 {
		return s[len(s)+n:]
	}
	if n >= 0 && len(s) > n {
		return s[:n]
	}
	return s
}

func decodeWith(dec func(string) ([]byte, error)) func(string) (string, error) {
	return func(s string) (string, error) {
		b, err := dec(s)
		if err != nil {
			// The input may be secret; say what failed, not what it was.
			return "", errors.New("input is not valid encoded data")
		}
		return string(b), nil
	}
}

func withRegexp(f func(*regexp.Regexp, string) string) func(string, string) (string, error) {
	return func(re, s string) (string, error) {
		r, err := regexp.Compile(re)
		if err != nil {
			return "", err
		}
		return f(r, s), nil
	}
}

func toJSON(pretty bool) func(any) (string, error) {
	return func(v any) (string, error) {
		var b []byte
		var err error
		if pretty {
			b, err = json.MarshalIndent(v, "", "  ")
		} else {
			b, err = json.Marshal(v)
		}
		if err != nil {
			return "", errors.New("value cannot be encoded as JSON")
		}
		return string(b), nil
	}
}

func fromJSON(s string) (any, error) {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, errors.New("input is not valid JSON")
	}
	return v, nil
}

func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	case fmt.Stringer:
		return x.String()
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

func toList(v any) []any {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() || (rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array) {
		return nil
	}
	out := make([]any, rv.Len())
	for i := range out {
		out[i] = rv.Index(i).Interface()
	}
	return out
}

func toStrings(v any) []string {
	l := toList(v)
	out := make([]string, 0, len(l))
	for _, x := range l {
		if x != nil {
			out = append(out, toString(x))
		}
	}
	return out
}

func toInt64(v any) int64 {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return int64(rv.Uint())
	case reflect.Float32, reflect.Float64:
		return int64(rv.Float())
	case reflect.String:
		n, _ := strconv.ParseInt(rv.String(), 10, 64)
		return n
	case reflect.Bool:
		if rv.Bool() {
			return 1
		}
	}
	return 0
}

func empty(v any) bool {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() {
		return true
	}
	switch rv.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return rv.Len() == 0
	case reflect.Bool:
		return !rv.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return rv.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return rv.Float() == 0
	case reflect.Pointer, reflect.Interface:
		return rv.IsNil()
	}
	return false
}

func uniq(v any) []any {
	var out []any
	for _, x := range toList(v) {
		dup := false
		for _, y := range out {
			if reflect.DeepEqual(x, y) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, x)
		}
	}
	return out
}

func dict(v ...any) map[string]any {
	d := make(map[string]any, len(v)/2)
	for i := 0; i+1 < len(v); i += 2 {
		d[toString(v[i])] = v[i+1]
	}
	if len(v)%2 == 1 {
		d[toString(v[len(v)-1])] = ""
	}
	return d
}

func mapKeys(m any) []string {
	rv := reflect.ValueOf(m)
	if rv.Kind() != reflect.Map {
		return nil
	}
	out := make([]string, 0, rv.Len())
	for _, k := range rv.MapKeys() {
		out = append(out, toString(k.Interface()))
	}
	return out
}

func hasKey(m any, k string) bool {
	for _, x := range mapKeys(m) {
		if x == k {
			return true
		}
	}
	return false
}

// keys returns the keys of one or more maps, sorted so output is stable
// (Sprig leaves them in map order).
func keys(ms ...any) []string {
	var out []string
	for _, m := range ms {
		out = append(out, mapKeys(m)...)
	}
	sort.Strings(out)
	return out
}
