// Package push holds what the cloud providers share when PushSecret writes
// to them: the ownership tag and setting or removing one JSON property of a
// remote value.
package push

import (
	"encoding/json"
	"fmt"
)

// The tag (label) that marks a remote secret as created by PushSecret. It is
// ESO's, so secrets pushed by either tool stay writable after a swap.
const (
	ManagedByKey   = "managed-by"
	ManagedByValue = "external-secrets"
)

// Managed reports whether tags mark a remote secret as ours to write.
func Managed(tags map[string]string) bool { return tags[ManagedByKey] == ManagedByValue }

// Set returns the remote value after pushing value: value itself without a
// property, else current (a JSON object, or nothing when absent) with
// property set to value as a string.
func Set(current []byte, exists bool, property string, value []byte) ([]byte, error) {
	if property == "" {
		return value, nil
	}
	doc := map[string]any{}
	if exists && len(current) > 0 {
		if err := json.Unmarshal(current, &doc); err != nil {
			return nil, fmt.Errorf("property %q: the remote value is not a JSON object, so a property cannot be set in it", property)
		}
	}
	doc[property] = string(value)
	return json.Marshal(doc)
}

// Remove returns current without property, and whether nothing is left.
// A value that is not a JSON object, or lacks the property, is unchanged.
func Remove(current []byte, property string) (out []byte, empty, changed bool, err error) {
	doc := map[string]any{}
	if err := json.Unmarshal(current, &doc); err != nil {
		return current, false, false, nil
	}
	if _, ok := doc[property]; !ok {
		return current, len(doc) == 0, false, nil
	}
	delete(doc, property)
	out, err = json.Marshal(doc)
	return out, len(doc) == 0, true, err
}
