package pushsecret

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"

	esv1alpha1 "github.com/keyward/keyward/api/externalsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/rewrite"
)

// pick returns one key of the Secret, or with no key the whole Secret as a JSON object.
func pick(values map[string][]byte, key string) ([]byte, error) {
	if key == "" {
		m := make(map[string]string, len(values))
		for k, v := range values {
			m[k] = string(v)
		}
		return json.Marshal(m)
	}
	v, ok := values[key]
	if !ok {
		return nil, fmt.Errorf("the source Secret has no key %q", key)
	}
	return v, nil
}

type dataToEntry struct {
	esv1alpha1.PushSecretData
	value []byte
}

// dataTo expands a dataTo entry: matched keys, renamed by its rewrites, go
// each to a remote key of their own, or together into remoteKey.
func dataTo(values map[string][]byte, dt esv1alpha1.PushSecretDataTo, field string) ([]dataToEntry, error) {
	var re *regexp.Regexp
	if dt.Match != nil && dt.Match.RegExp != "" {
		var err error
		if re, err = regexp.Compile(dt.Match.RegExp); err != nil {
			return nil, fmt.Errorf("%s.match.regexp: %w", field, err)
		}
	}
	matched := map[string][]byte{}
	for k, v := range values {
		if re == nil || re.MatchString(k) {
			matched[k] = v
		}
	}
	renamed := matched
	// Nothing matched: there is nothing to rename, and the rules go unchecked.
	if len(matched) > 0 {
		for i, rw := range dt.Rewrite {
			if rw.Regexp == nil {
				return nil, fmt.Errorf("%s.rewrite[%d]: only regexp rewrites are supported for dataTo", field, i)
			}
		}
		var err error
		if renamed, err = rewrite.Apply(matched, dt.Rewrite, field); err != nil {
			return nil, err
		}
	}
	if dt.RemoteKey != "" {
		b, err := pick(renamed, "")
		if err != nil {
			return nil, err
		}
		return []dataToEntry{{PushSecretData: esv1alpha1.PushSecretData{Match: esv1alpha1.PushSecretMatch{RemoteRef: esv1alpha1.PushSecretRemoteRef{RemoteKey: dt.RemoteKey}}}, value: b}}, nil
	}
	keys := make([]string, 0, len(renamed))
	for k := range renamed {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]dataToEntry, 0, len(keys))
	for _, k := range keys {
		// Each key becomes a remote secret of the same name holding it as a property.
		out = append(out, dataToEntry{
			PushSecretData: esv1alpha1.PushSecretData{Match: esv1alpha1.PushSecretMatch{SecretKey: k, RemoteRef: esv1alpha1.PushSecretRemoteRef{RemoteKey: k, Property: k}}},
			value:          renamed[k],
		})
	}
	return out, nil
}
