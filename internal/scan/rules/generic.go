package rules

import (
	"path"
	"strings"
)

// Generic builds a catch-all rule for `name = value` assignments whose name
// says secret. It parses instead of matching one big regex: it finds the
// name around the keyword, the assignment operator after it and the literal
// value, so it can judge each piece (see scoreName and plausibleValue). This is
// where gitleaks' generic-api-key gets its noise; here the name must end in a
// secret word, code needs a quoted literal, and the value must look random.
func Generic(id, desc string, passwords bool) *Rule {
	kws := []string{"secret", "token", "key", "credential", "auth"}
	if passwords {
		kws = []string{"pass", "pwd"}
	}
	return &Rule{
		ID: id, Description: desc, Keywords: kws, Generic: true,
		Detect: func(w Window) []Candidate { return detectAssignment(w, passwords) },
	}
}

func isKeyChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.'
}

// codeExt are languages where an unquoted right-hand side is an expression,
// never a literal.
var codeExt = map[string]bool{
	".go": true, ".py": true, ".js": true, ".mjs": true, ".cjs": true, ".ts": true, ".jsx": true, ".tsx": true,
	".java": true, ".kt": true, ".kts": true, ".scala": true, ".rb": true, ".php": true, ".cs": true, ".c": true,
	".cc": true, ".cpp": true, ".h": true, ".hpp": true, ".rs": true, ".swift": true, ".m": true, ".dart": true,
	".groovy": true, ".gradle": true, ".lua": true, ".pl": true, ".r": true, ".clj": true, ".ex": true, ".exs": true,
	".erl": true, ".fs": true, ".vb": true, ".vue": true, ".svelte": true, ".jsonnet": true, ".libsonnet": true,
	".tf": true, ".hcl": true, ".toml": true, ".json": true, ".md": true, ".rst": true, ".txt": true, ".html": true,
	".proto": true, ".sql": true, ".ipynb": true, ".tpl": true,
}

func detectAssignment(w Window, passwords bool) []Candidate {
	t := w.Text
	// The name around the keyword.
	ks, ke := w.Hit-1, w.Hit
	for ks > 0 && isKeyChar(t[ks-1]) {
		ks--
	}
	for ke < len(t) && isKeyChar(t[ke]) {
		ke++
	}
	if ks < 0 || ks >= ke {
		return nil
	}
	quoted := ks > 0 && (t[ks-1] == '"' || t[ks-1] == '\'')
	p := ke
	if quoted && p < len(t) && t[p] == t[ks-1] {
		p++
	}
	// Most keyword hits in code are not assignments (Get(key), token.Type):
	// look at what follows the name before building any strings.
	if !quoted && !(ks > 0 && t[ks-1] == '<') && !assignmentAhead(t, p) {
		return nil
	}
	name := strings.TrimLeft(string(t[ks:ke]), "-.")
	kind := scoreName(name)
	if kind == nameNone || (kind == namePassword) != passwords {
		return nil
	}
	// XML: <password>value</password>
	if ks > 0 && t[ks-1] == '<' && p < len(t) && t[p] == '>' {
		vs := p + 1
		ve := vs
		for ve < len(t) && t[ve] != '<' {
			ve++
		}
		return judge(t, vs, ve, name, kind)
	}
	// .NET config: <add key="DbPassword" value="..."/>
	if quoted && ks >= 5 {
		pre := strings.ToLower(string(t[max(0, ks-6) : ks-1]))
		if strings.HasSuffix(pre, "key=") || strings.HasSuffix(pre, "name=") {
			rest := t[p:]
			i := strings.Index(strings.ToLower(string(rest)), "value=")
			if i < 0 || i > 40 {
				return nil
			}
			return quotedValue(t, p+i+6, name, kind)
		}
	}
	for p < len(t) && (t[p] == ' ' || t[p] == '\t') {
		p++
	}
	// The operator.
	switch {
	case hasAt(t, p, ":="), hasAt(t, p, "=>"), hasAt(t, p, "?="), hasAt(t, p, "||="):
		p += 2
		if t[p-1] == '|' {
			p++
		}
	case hasAt(t, p, "=="), hasAt(t, p, "=~"), hasAt(t, p, "::"):
		return nil
	case p < len(t) && (t[p] == ':' || t[p] == '='):
		p++
	default:
		return nil
	}
	for p < len(t) && (t[p] == ' ' || t[p] == '\t') {
		p++
	}
	if p >= len(t) {
		return nil
	}
	if t[p] == '"' || t[p] == '\'' || t[p] == '`' {
		return quotedValue(t, p, name, kind)
	}
	if codeExt[strings.ToLower(path.Ext(w.Path))] {
		return nil
	}
	ve := p
	for ve < len(t) && !strings.ContainsRune(" \t\r\n\"'`,;)}]", rune(t[ve])) {
		ve++
	}
	return judge(t, p, ve, name, kind)
}

// assignmentAhead reports an assignment operator after optional blanks.
func assignmentAhead(t []byte, p int) bool {
	for p < len(t) && (t[p] == ' ' || t[p] == '\t') {
		p++
	}
	return p < len(t) && (t[p] == ':' || t[p] == '=' || t[p] == '?' || t[p] == '|')
}

func hasAt(t []byte, p int, s string) bool {
	return p+len(s) <= len(t) && string(t[p:p+len(s)]) == s
}

func quotedValue(t []byte, p int, name string, kind nameKind) []Candidate {
	if p >= len(t) {
		return nil
	}
	q := t[p]
	if q != '"' && q != '\'' && q != '`' {
		return nil
	}
	vs := p + 1
	ve := vs
	for ve < len(t) && t[ve] != q {
		if t[ve] == '\\' {
			ve++
		}
		ve++
	}
	if ve >= len(t) {
		return nil
	}
	return judge(t, vs, ve, name, kind)
}

func judge(t []byte, vs, ve int, name string, kind nameKind) []Candidate {
	if ve <= vs {
		return nil
	}
	v := string(t[vs:ve])
	c := Candidate{Start: vs, End: ve, Secret: v}
	if !plausibleValue(v, name, kind) {
		c.Rejected = true
	}
	return []Candidate{c}
}

type nameKind int

const (
	nameNone nameKind = iota
	namePassword
	nameSecret
)

// keyQualifiers are the words that make a trailing "key" secret: api_key,
// signingKey, AWS_SECRET_ACCESS_KEY; but not key, sortKey, public_key.
var keyQualifiers = map[string]bool{
	"api": true, "access": true, "secret": true, "private": true, "auth": true, "client": true,
	"encryption": true, "signing": true, "master": true, "app": true, "account": true, "service": true,
	"subscription": true, "webhook": true, "shared": true, "hmac": true, "consumer": true, "admin": true,
	"storage": true, "deploy": true, "license": true, "crypt": true, "cipher": true, "session": true,
	"jwt": true, "aes": true, "sign": true, "decryption": true,
}

// scoreName decides from a name's last word whether it holds a secret.
func scoreName(name string) nameKind {
	words := splitWords(name)
	if len(words) == 0 {
		return nameNone
	}
	for _, w := range words {
		switch w {
		case "hash", "hashed", "sha", "sha1", "sha256", "md5", "digest", "checksum", "public", "pub", "fingerprint", "salt", "example", "sample", "placeholder", "dummy", "fake", "mock":
			return nameNone
		}
	}
	last := words[len(words)-1]
	if (last == "value" || last == "str" || last == "string") && len(words) > 1 {
		last = words[len(words)-2]
		words = words[:len(words)-1]
	}
	switch last {
	case "password", "passwd", "pwd", "pass", "passphrase", "passwort", "contrasena":
		return namePassword
	case "secret", "token", "apikey", "credential", "credentials", "accesskey", "secretkey", "privatekey", "authtoken", "pat":
		return nameSecret
	case "key":
		if len(words) > 1 && keyQualifiers[words[len(words)-2]] {
			return nameSecret
		}
	case "auth":
		if len(words) == 1 {
			return nameSecret
		}
	}
	return nameNone
}

// splitWords lowercases a name and splits it at separators and camelCase
// boundaries: "AWS_SECRET_ACCESS_KEY", "clientSecret", "db.password".
func splitWords(s string) []string {
	var words []string
	var cur []byte
	flush := func() {
		if len(cur) > 0 {
			words = append(words, string(cur))
			cur = cur[:0]
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_' || c == '-' || c == '.':
			flush()
		case 'A' <= c && c <= 'Z':
			// Upper after lower starts a word; in a run of capitals the last
			// one before a lower letter does (APIKey -> api, key).
			if i > 0 && ('a' <= s[i-1] && s[i-1] <= 'z' || '0' <= s[i-1] && s[i-1] <= '9') {
				flush()
			} else if i > 0 && 'A' <= s[i-1] && s[i-1] <= 'Z' && i+1 < len(s) && 'a' <= s[i+1] && s[i+1] <= 'z' {
				flush()
			}
			cur = append(cur, c+'a'-'A')
		default:
			cur = append(cur, c)
		}
	}
	flush()
	return words
}

// notSecretValues are words that show up on the right of a secret-looking
// name without being secrets: types, booleans, modes.
var notSecretValues = map[string]bool{
	"true": true, "false": true, "null": true, "none": true, "nil": true, "undefined": true, "required": true,
	"optional": true, "string": true, "bytes": true, "password": true, "secret": true, "token": true,
	"redacted": true, "hidden": true, "masked": true, "empty": true, "default": true, "disabled": true,
	"enabled": true, "omitempty": true, "sensitive": true, "generated": true, "unknown": true,
}

// plausibleValue decides whether the literal assigned to a secret-looking
// name is itself a credible secret.
func plausibleValue(v, name string, kind nameKind) bool {
	if len(v) < 8 || len(v) > 256 || strings.ContainsAny(v, " \t") || strings.Contains(v, `\n`) {
		return false
	}
	l := strings.ToLower(v)
	if notSecretValues[l] || IsPlaceholder(v) || IsUUID(v) || IsHashLike(v) || IsKnownExample(v) {
		return false
	}
	if strings.HasPrefix(v, "/") || strings.HasPrefix(v, "./") || strings.HasPrefix(v, "../") || strings.HasPrefix(v, "~") ||
		strings.Contains(v, "://") || strings.HasPrefix(l, "file:") || strings.HasPrefix(v, "\\") {
		return false
	}
	if strings.Contains(l, strings.ToLower(strings.TrimLeft(name, "-_."))) {
		return false
	}
	var lower, upper, digit, other, letters int
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case 'a' <= c && c <= 'z':
			lower, letters = lower+1, letters+1
		case 'A' <= c && c <= 'Z':
			upper, letters = upper+1, letters+1
		case '0' <= c && c <= '9':
			digit++
		default:
			other++
		}
	}
	classes := b2i(lower > 0) + b2i(upper > 0) + b2i(digit > 0) + b2i(other > 0)
	if upper == 0 && looksLikeName(v, letters, digit) {
		return false
	}
	// References and identifiers: config.Password, DB_PASSWORD, my-secret-name.
	if isDottedIdent(v) || (lower == 0 && digit == 0 && upper > 0) || (upper == 0 && digit == 0) {
		return false
	}
	// A file name: server.key, id_rsa.pub, secrets.enc.yaml.
	if dot := strings.LastIndexByte(v, '.'); dot > 0 && dot >= len(v)-5 && letters == len(v)-1-strings.Count(v, "_")-strings.Count(v, "-") {
		return false
	}
	e := Entropy(v)
	if kind == namePassword {
		return classes >= 2 && e >= 2.5
	}
	if digit == 0 {
		// letters-only: camelCase identifiers unless long and random
		return len(v) >= 20 && upper > 0 && lower > 0 && e >= 3.8
	}
	return len(v) >= 12 && classes >= 2 && e >= 3.0
}

// isDottedIdent matches a.b.c made of identifiers (a reference, not a value).
func isDottedIdent(v string) bool {
	if !strings.Contains(v, ".") {
		return false
	}
	for _, part := range strings.Split(v, ".") {
		if part == "" || !('a' <= part[0] && part[0] <= 'z' || 'A' <= part[0] && part[0] <= 'Z' || part[0] == '_') {
			return false
		}
		for i := 0; i < len(part); i++ {
			c := part[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
				return false
			}
		}
	}
	return true
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// looksLikeName spots lowercase identifiers, host names and keys used as
// values: node1-node2-only, csi.storage.k8s.io/secret-name, serviceaccount1,
// ns:account:3600. Random lowercase secrets have digits spread through them
// and no word separators.
func looksLikeName(v string, letters, digits int) bool {
	if strings.ContainsAny(v, "./:[]@") && letters > digits {
		return true
	}
	if strings.ContainsAny(v, "-_") {
		for _, part := range strings.FieldsFunc(v, func(r rune) bool { return r == '-' || r == '_' }) {
			if len(part) > 10 {
				return false
			}
		}
		return true
	}
	// word followed by a small number
	i := len(v)
	for i > 0 && '0' <= v[i-1] && v[i-1] <= '9' {
		i--
	}
	return len(v)-i <= 3 && digits == len(v)-i
}
