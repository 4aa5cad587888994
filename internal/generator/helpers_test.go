package generator

import (
	"crypto/rand"
	"io"
	"maps"
	"slices"
)

// nil2rand is the real source, as production uses.
func nil2rand() io.Reader { return rand.Reader }

func keys(m map[string][]byte) []string { return slices.Sorted(maps.Keys(m)) }
