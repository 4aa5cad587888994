package reload

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"sort"
	"strings"
)

// digest is what is kept of one Secret: a keyed hash per key, never the
// values, and the resourceVersion it was read at.
type digest struct {
	resourceVersion string
	found           bool
	keys            map[string][sha256.Size]byte
}

func newDigest(macKey []byte, rv string, data map[string][]byte) digest {
	d := digest{resourceVersion: rv, found: true, keys: make(map[string][sha256.Size]byte, len(data))}
	m := hmac.New(sha256.New, macKey)
	for k, v := range data {
		m.Reset()
		m.Write(v)
		var sum [sha256.Size]byte
		copy(sum[:], m.Sum(nil))
		d.keys[k] = sum
	}
	return d
}

// writeField writes s length-prefixed, so that no two lists of fields
// hash alike.
func writeField(h hash.Hash, s string) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(s)))
	h.Write(n[:])
	h.Write([]byte(s))
}

// hashes returns the keyed hash of which keys are used (set, changing only
// with the pod template or the annotations) and of their values (values,
// per Secret and overall). A missing Secret or key hashes as absent, so
// its creation counts as a change.
func hashes(macKey []byte, selected map[string]*Use, digests map[string]digest) (set string, values string, perSecret map[string]string) {
	names := make([]string, 0, len(selected))
	for n := range selected {
		names = append(names, n)
	}
	sort.Strings(names)
	sh := hmac.New(sha256.New, macKey)
	vh := hmac.New(sha256.New, macKey)
	ph := hmac.New(sha256.New, macKey)
	perSecret = make(map[string]string, len(names))
	for _, n := range names {
		u := selected[n]
		writeField(sh, n)
		writeField(vh, n)
		ph.Reset()
		d := digests[n]
		keys := u.SortedKeys()
		if u.All {
			writeField(sh, "*")
			keys = keys[:0]
			for k := range d.keys {
				keys = append(keys, k)
			}
			sort.Strings(keys)
		} else {
			writeField(sh, strings.Join(keys, "\x00"))
		}
		if !d.found {
			writeField(vh, "\x00absent")
			writeField(ph, "\x00absent")
		}
		for _, k := range keys {
			writeField(vh, k)
			writeField(ph, k)
			sum, ok := d.keys[k]
			if !ok {
				writeField(vh, "\x00absent")
				writeField(ph, "\x00absent")
				continue
			}
			vh.Write(sum[:])
			ph.Write(sum[:])
		}
		perSecret[n] = hex.EncodeToString(ph.Sum(nil))
	}
	return hex.EncodeToString(sh.Sum(nil))[:16], hex.EncodeToString(vh.Sum(nil)), perSecret
}

// observed is the ObservedAnnotation's value: "v1:<set>:<values>".
func formatObserved(set, values string) string { return "v1:" + set + ":" + values }

func parseObserved(s string) (set, values string, ok bool) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 || parts[0] != "v1" {
		return "", "", false
	}
	return parts[1], parts[2], true
}
