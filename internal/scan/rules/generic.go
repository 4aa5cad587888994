package rules

import (
	"bytes"
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
	var kind nameKind
	var name string
	a, ok := parseAssignment(w, nil, func(n string) bool {
		name, kind = n, scoreName(n)
		return kind != nameNone && (kind == namePassword) == passwords
	})
	if !ok {
		return nil
	}
	v := string(a.value)
	c := Candidate{Start: a.vs, End: a.ve, Secret: v}
	if !plausibleValue(v, name, kind) {
		c.Rejected = true
	}
	return []Candidate{c}
}

// assignment is a name and the literal assigned to it; vs and ve are the
// value's offsets in the window (past its end for a value read from
// Window.Next).
type assignment struct {
	name, value []byte
	vs, ve      int
}

// parseAssignment finds the name around the keyword hit and the literal
// assigned to it, in the syntaxes of configuration files and code:
//
//	name = value, name: value, "name": "value", name := "value", :name => "value"
//	<name>value</name>, <add key="name" value="value"/>, <property name="name">value</property>
//	define('NAME', 'value'), put("name", "value")
//	name: Type = "value", var name Type = "value" (code)
//	variable "name" { default = "value" } (HCL)
//
// pre (on the name's bytes, without allocating) and accept judge the name
// before any value is looked for; either may be nil. In code only a quoted
// literal is a value; elsewhere an unquoted word is too.
func parseAssignment(w Window, pre func(name []byte) bool, accept func(name string) bool) (assignment, bool) {
	t := w.Text
	ks, ke := w.Hit-1, w.Hit
	for ks > 0 && isKeyChar(t[ks-1]) {
		ks--
	}
	for ke < len(t) && isKeyChar(t[ke]) {
		ke++
	}
	if ks < 0 || ks >= ke {
		return assignment{}, false
	}
	quoted := ks > 0 && (t[ks-1] == '"' || t[ks-1] == '\'')
	xmlElem := ks > 0 && t[ks-1] == '<'
	p := ke
	closed := quoted && p < len(t) && t[p] == t[ks-1]
	if closed {
		p++
	}
	// Most keyword hits in code are not assignments (Get(key), token.Type):
	// look at what follows the name before building any strings.
	if !quoted && !xmlElem && !assignmentAhead(t, p) && !(declared(t, ks) && typedAhead(t, p) && isCode(w.Path)) {
		return assignment{}, false
	}
	if pre != nil && !pre(t[ks:ke]) {
		return assignment{}, false
	}
	for ks < ke && (t[ks] == '-' || t[ks] == '.') {
		ks++
	}
	name := t[ks:ke]
	if accept != nil && !accept(string(name)) {
		return assignment{}, false
	}
	code := isCode(w.Path)
	value := func(vs, ve int) (assignment, bool) {
		if ve <= vs {
			return assignment{}, false
		}
		return assignment{name: name, value: t[vs:ve], vs: vs, ve: ve}, true
	}
	// XML: <password>value</password>
	if xmlElem && p < len(t) && t[p] == '>' {
		return value(p+1, elementEnd(t, p+1))
	}
	if closed {
		pre := strings.ToLower(string(t[max(0, ks-6) : ks-1]))
		// .NET config: <add key="DbPassword" value="..."/>; Java and
		// Hibernate: <property name="x.password">value</property>.
		if strings.HasSuffix(pre, "key=") || strings.HasSuffix(pre, "name=") {
			if q := skipBlanks(t, p); q < len(t) && t[q] == '>' {
				return value(q+1, elementEnd(t, q+1))
			}
			i := strings.Index(strings.ToLower(string(t[p:])), "value=")
			if i < 0 || i > 40 {
				return assignment{}, false
			}
			return quotedLiteral(t, p+i+6, name)
		}
		// A call whose first two arguments are the name and the value:
		// define('DB_PASSWORD', '...'), props.put("api_key", "...").
		if q := skipBlanks(t, p); q < len(t) && t[q] == ',' && openParen(t, ks-1) {
			return quotedLiteral(t, skipBlanks(t, q+1), name)
		}
		// HCL: variable "db_password" { ... default = "..." }
		if hclVariable(t, ks-1) {
			return hclDefault(w, name)
		}
	}
	p = skipBlanks(t, p)
	// The operator.
	switch {
	case hasAt(t, p, ":="), hasAt(t, p, "=>"), hasAt(t, p, "?="):
		p += 2
	case hasAt(t, p, "||="):
		p += 3
	case hasAt(t, p, "=="), hasAt(t, p, "=~"), hasAt(t, p, "::"):
		return assignment{}, false
	case p < len(t) && (t[p] == ':' || t[p] == '='):
		p++
		// name: Type = "value" (Rust, TypeScript, Kotlin, Swift)
		if code && t[p-1] == ':' {
			if q, ok := typeThenEquals(t, p); ok {
				p = q
			}
		}
	case code && declared(t, ks):
		// var name Type = "value" (Go)
		q, ok := typeThenEquals(t, p)
		if !ok {
			return assignment{}, false
		}
		p = q
	default:
		return assignment{}, false
	}
	p = skipBlanks(t, p)
	if p >= len(t) {
		return assignment{}, false
	}
	if isQuote(t[p]) || t[p] == '\\' {
		return quotedLiteral(t, p, name)
	}
	if code {
		return assignment{}, false
	}
	ve := p
	for ve < len(t) && !strings.ContainsRune(" \t\r\n\"'`,;)}]", rune(t[ve])) {
		ve++
	}
	return value(p, ve)
}

func isCode(p string) bool {
	ext := path.Ext(p)
	for i := 0; i < len(ext); i++ {
		if 'A' <= ext[i] && ext[i] <= 'Z' {
			return codeExt[strings.ToLower(ext)]
		}
	}
	return codeExt[ext]
}

func isQuote(c byte) bool { return c == '"' || c == '\'' || c == '`' }

func skipBlanks(t []byte, p int) int {
	for p < len(t) && (t[p] == ' ' || t[p] == '\t') {
		p++
	}
	return p
}

// openParen reports "(" and blanks before offset q: the start of a call's
// argument list.
func openParen(t []byte, q int) bool {
	for q > 0 && (t[q-1] == ' ' || t[q-1] == '\t') {
		q--
	}
	return q > 0 && t[q-1] == '('
}

func elementEnd(t []byte, p int) int {
	for p < len(t) && t[p] != '<' {
		p++
	}
	return p
}

// assignmentAhead reports an assignment operator after optional blanks.
func assignmentAhead(t []byte, p int) bool {
	p = skipBlanks(t, p)
	return p < len(t) && (t[p] == ':' || t[p] == '=' || t[p] == '?' || t[p] == '|')
}

// declared reports a Go declaration keyword before the name at ks.
func declared(t []byte, ks int) bool {
	return ks >= 4 && string(t[ks-4:ks]) == "var " || ks >= 6 && string(t[ks-6:ks]) == "const "
}

// typedAhead reports a type and then "=" after a name: var token string = ...
func typedAhead(t []byte, p int) bool {
	_, ok := typeThenEquals(t, p)
	return ok
}

// typeThenEquals skips a type (string, &str, String, []byte) followed by a
// single "=", and returns the offset after the "=".
func typeThenEquals(t []byte, p int) (int, bool) {
	p = skipBlanks(t, p)
	s := p
	for p < len(t) && (isKeyChar(t[p]) && t[p] != '-' || strings.IndexByte("&'[]*<>?", t[p]) >= 0) {
		p++
	}
	if p == s {
		return 0, false
	}
	p = skipBlanks(t, p)
	if p >= len(t) || t[p] != '=' || p+1 < len(t) && (t[p+1] == '=' || t[p+1] == '>') {
		return 0, false
	}
	return p + 1, true
}

func hasAt(t []byte, p int, s string) bool {
	return p+len(s) <= len(t) && string(t[p:p+len(s)]) == s
}

// quotedLiteral reads the string literal at p, which may open with an
// escaped quote inside another string: password=\"...\".
func quotedLiteral(t []byte, p int, name []byte) (assignment, bool) {
	escaped := p < len(t) && t[p] == '\\'
	if escaped {
		p++
	}
	if p >= len(t) || !isQuote(t[p]) {
		return assignment{}, false
	}
	q := t[p]
	vs := p + 1
	ve := vs
	for ve < len(t) && t[ve] != q {
		if t[ve] == '\\' {
			if escaped && ve+1 < len(t) && t[ve+1] == q {
				break
			}
			ve++
		}
		ve++
	}
	if ve >= len(t) || ve <= vs {
		return assignment{}, false
	}
	return assignment{name: name, value: t[vs:ve], vs: vs, ve: ve}, true
}

// hclVariable reports a quoted label at q that follows the word variable
// and opens a block: variable "db_password" {.
func hclVariable(t []byte, q int) bool {
	before := strings.TrimRight(string(t[max(0, q-16):q]), " \t")
	if !strings.HasSuffix(before, "variable") {
		return false
	}
	return strings.HasSuffix(strings.TrimSpace(string(t[q:])), "{")
}

// hclDefault reads the default of the variable block that follows the
// window: the first `default = "..."` line before the block closes.
func hclDefault(w Window, name []byte) (assignment, bool) {
	next, off := w.Next, len(w.Text)+1 // Next starts after the window's newline
	for len(next) > 0 {
		line, rest, _ := bytes.Cut(next, []byte("\n"))
		trimmed := bytes.TrimLeft(line, " \t\r")
		if bytes.HasPrefix(trimmed, []byte("}")) {
			return assignment{}, false
		}
		if bytes.HasPrefix(trimmed, []byte("default")) {
			p := skipBlanks(line, len(line)-len(trimmed)+len("default"))
			if p >= len(line) || line[p] != '=' {
				return assignment{}, false
			}
			a, ok := quotedLiteral(line, skipBlanks(line, p+1), name)
			a.vs += off
			a.ve += off
			return a, ok
		}
		off += len(line) + 1
		next = rest
	}
	return assignment{}, false
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
	// Names run together: PGPASSWORD, MYSQLPWD, clientsecret.
	for _, glued := range []struct {
		suffix string
		kind   nameKind
	}{{"password", namePassword}, {"passwd", namePassword}, {"secret", nameSecret}, {"token", nameSecret}, {"apikey", nameSecret}} {
		if len(last) > len(glued.suffix)+1 && strings.HasSuffix(last, glued.suffix) {
			return glued.kind
		}
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
	// Words are cut from one lowercased copy, made only when needed: one
	// or two allocations per name however many words (this runs on every
	// keyword hit).
	l := s
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			l = lowerASCII(s)
			break
		}
	}
	words := make([]string, 0, 4)
	from := 0
	cut := func(i int) {
		if i > from {
			words = append(words, l[from:i])
		}
		from = i
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_' || c == '-' || c == '.':
			cut(i)
			from = i + 1
		case 'A' <= c && c <= 'Z':
			// Upper after lower starts a word; in a run of capitals the last
			// one before a lower letter does (APIKey -> api, key).
			if i > 0 && ('a' <= s[i-1] && s[i-1] <= 'z' || '0' <= s[i-1] && s[i-1] <= '9') {
				cut(i)
			} else if i > 0 && 'A' <= s[i-1] && s[i-1] <= 'Z' && i+1 < len(s) && 'a' <= s[i+1] && s[i+1] <= 'z' {
				cut(i)
			}
		}
	}
	cut(len(s))
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
	// Hex of a digest's length is a credential when the name says so (a
	// Braintree private key, a Flask SECRET_KEY); names that hold digests
	// (sha, hash, checksum) were turned away by scoreName.
	if notSecretValues[l] || IsPlaceholder(v) || IsUUID(v) || IsHashLike(v) && !isHexString(v) || IsKnownExample(v) {
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

func isHexString(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			return false
		}
	}
	return s != ""
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
