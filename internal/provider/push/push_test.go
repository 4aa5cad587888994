package push

import "testing"

func TestSet(t *testing.T) {
	for _, tc := range []struct {
		name, current string
		exists        bool
		property      string
		value, want   string
		wantErr       bool
	}{
		{name: "whole value", current: `{"a":"1"}`, exists: true, value: "raw", want: "raw"},
		{name: "new secret", property: "p", value: "v", want: `{"p":"v"}`},
		{name: "merge", current: `{"a":"1"}`, exists: true, property: "p", value: "v", want: `{"a":"1","p":"v"}`},
		{name: "overwrite", current: `{"p":"old"}`, exists: true, property: "p", value: "v", want: `{"p":"v"}`},
		{name: "not JSON", current: `plain`, exists: true, property: "p", value: "v", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Set([]byte(tc.current), tc.exists, tc.property, []byte(tc.value))
			if (err != nil) != tc.wantErr || (!tc.wantErr && string(got) != tc.want) {
				t.Fatalf("Set = %q, %v; want %q (error %v)", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestRemove(t *testing.T) {
	for _, tc := range []struct {
		name, current, property, want string
		empty, changed                bool
	}{
		{name: "one of two", current: `{"a":"1","p":"v"}`, property: "p", want: `{"a":"1"}`, changed: true},
		{name: "last", current: `{"p":"v"}`, property: "p", want: `{}`, empty: true, changed: true},
		{name: "absent", current: `{"a":"1"}`, property: "p", want: `{"a":"1"}`},
		{name: "not JSON", current: `plain`, property: "p", want: `plain`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, empty, changed, err := Remove([]byte(tc.current), tc.property)
			if err != nil || string(got) != tc.want || empty != tc.empty || changed != tc.changed {
				t.Fatalf("Remove = %q empty=%v changed=%v %v", got, empty, changed, err)
			}
		})
	}
	if !Managed(map[string]string{ManagedByKey: ManagedByValue}) || Managed(map[string]string{"managed-by": "someone"}) {
		t.Fatal("Managed")
	}
}
