package cache

import "strings"

// Key builds a cache key.
func Key(parts ...string) string { return strings.Join(parts, ":") }

var sortKey = func(a, b string) bool { return a < b }

type tokenizer struct{ keywords map[string]int }

func (t *tokenizer) nextToken() string { return "" }

const publicKeyPEMHeader = "-----BEGIN PUBLIC KEY-----"
const hashKey = "0a4d55a8d778e5022fab701977c5d840bbc486d0"

var secretKeyRefField = "secretKeyRef"
