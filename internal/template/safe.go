package template

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"text/template"
)

// funcError is what every function in safeFuncs fails with: a fixed
// description naming the function, never its arguments or its own error.
type funcError struct{ what string }

func (e *funcError) Error() string { return e.what }

// builtins replaces the text/template builtins whose errors quote their
// arguments (index and slice print the index, call relays any error); a
// FuncMap entry takes precedence over a builtin of the same name.
func builtins() template.FuncMap {
	return template.FuncMap{
		"index": index,
		"slice": slice,
		"len":   length,
		"call":  call,
	}
}

// safeFuncs is sprigFuncs plus builtins, each wrapped by guard. Built on
// the first template and never written after.
var safeFuncs = sync.OnceValue(func() template.FuncMap {
	sprig, native := sprigFuncs(), builtins()
	m := make(template.FuncMap, len(sprig)+len(native))
	for name, f := range sprig {
		m[name] = guard(name, f)
	}
	for name, f := range native {
		m[name] = guard(name, f)
	}
	return m
})

var errorType = reflect.TypeFor[error]()

// guard wraps f so that any error it returns, or any panic, becomes a
// funcError for name. The wrapper has f's parameters and returns (result,
// error), a shape text/template accepts, so a function without an error
// result can still fail safely.
func guard(name string, f any) any {
	fv := reflect.ValueOf(f)
	ft := fv.Type()
	in := make([]reflect.Type, ft.NumIn())
	for i := range in {
		in[i] = ft.In(i)
	}
	out := ft.Out(0)
	wt := reflect.FuncOf(in, []reflect.Type{out, errorType}, ft.IsVariadic())
	what := "calling " + name + " failed"
	if name == "fail" {
		what = whatFail
	}
	fail := &funcError{what}
	return reflect.MakeFunc(wt, func(args []reflect.Value) (res []reflect.Value) {
		failed := []reflect.Value{reflect.Zero(out), reflect.ValueOf(fail)}
		defer func() {
			if recover() != nil {
				res = failed
			}
		}()
		var r []reflect.Value
		if ft.IsVariadic() {
			r = fv.CallSlice(args)
		} else {
			r = fv.Call(args)
		}
		if len(r) == 2 && !r[1].IsNil() {
			return failed
		}
		return []reflect.Value{r[0], reflect.Zero(errorType)}
	}).Interface()
}

// The builtin replacements below follow text/template's semantics; their
// own error texts are dropped by guard.

var errBuiltin = errors.New("builtin failed")

func deref(v reflect.Value) reflect.Value {
	for v.IsValid() && (v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer) {
		if v.IsNil() {
			return reflect.Value{}
		}
		v = v.Elem()
	}
	return v
}

func intArg(v any) (int, bool) {
	rv := deref(reflect.ValueOf(v))
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return int(rv.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return int(rv.Uint()), true
	}
	return 0, false
}

func index(item any, indexes ...any) (any, error) {
	v := reflect.ValueOf(item)
	for _, ix := range indexes {
		v = deref(v)
		switch {
		case !v.IsValid():
			return nil, errBuiltin
		case v.Kind() == reflect.Array || v.Kind() == reflect.Slice || v.Kind() == reflect.String:
			i, ok := intArg(ix)
			if !ok || i < 0 || i >= v.Len() {
				return nil, errBuiltin
			}
			v = v.Index(i)
		case v.Kind() == reflect.Map:
			k := reflect.ValueOf(ix)
			if !k.IsValid() {
				return nil, errBuiltin
			}
			kt := v.Type().Key()
			switch {
			case k.Type().AssignableTo(kt):
			case k.Type().ConvertibleTo(kt) && k.Kind() != reflect.String && kt.Kind() != reflect.String:
				k = k.Convert(kt)
			default:
				return nil, errBuiltin
			}
			if x := v.MapIndex(k); x.IsValid() {
				v = x
			} else {
				v = reflect.Zero(v.Type().Elem())
			}
		default:
			return nil, errBuiltin
		}
	}
	if !v.IsValid() {
		return nil, nil
	}
	return v.Interface(), nil
}

func slice(item any, indexes ...any) (any, error) {
	v := deref(reflect.ValueOf(item))
	if !v.IsValid() || len(indexes) > 3 {
		return nil, errBuiltin
	}
	var cap int
	switch v.Kind() {
	case reflect.String:
		if len(indexes) == 3 {
			return nil, errBuiltin
		}
		cap = v.Len()
	case reflect.Array, reflect.Slice:
		cap = v.Cap()
	default:
		return nil, errBuiltin
	}
	idx := [3]int{0, v.Len()}
	for i, ix := range indexes {
		n, ok := intArg(ix)
		if !ok || n < 0 || n > cap {
			return nil, errBuiltin
		}
		idx[i] = n
	}
	if idx[0] > idx[1] {
		return nil, errBuiltin
	}
	if len(indexes) < 3 {
		return v.Slice(idx[0], idx[1]).Interface(), nil
	}
	if idx[1] > idx[2] {
		return nil, errBuiltin
	}
	return v.Slice3(idx[0], idx[1], idx[2]).Interface(), nil
}

func length(item any) (int, error) {
	v := deref(reflect.ValueOf(item))
	switch v.Kind() {
	case reflect.Array, reflect.Chan, reflect.Map, reflect.Slice, reflect.String:
		return v.Len(), nil
	}
	return 0, errBuiltin
}

// call calls fn with args. Template data here is strings and maps, so in
// practice it only ever fails; it is kept so that its failure is as safe as
// every other function's.
func call(fn any, args ...any) (any, error) {
	v := deref(reflect.ValueOf(fn))
	if v.Kind() != reflect.Func {
		return nil, errBuiltin
	}
	t := v.Type()
	if t.NumOut() == 0 || t.NumOut() > 2 || (t.NumOut() == 2 && t.Out(1) != errorType) {
		return nil, errBuiltin
	}
	if (!t.IsVariadic() && len(args) != t.NumIn()) || (t.IsVariadic() && len(args) < t.NumIn()-1) {
		return nil, errBuiltin
	}
	in := make([]reflect.Value, len(args))
	for i, a := range args {
		want := t.In(min(i, t.NumIn()-1))
		if t.IsVariadic() && i >= t.NumIn()-1 {
			want = want.Elem()
		}
		av := reflect.ValueOf(a)
		if !av.IsValid() {
			av = reflect.Zero(want)
		}
		if !av.Type().AssignableTo(want) {
			return nil, errBuiltin
		}
		in[i] = av
	}
	out := v.Call(in)
	if len(out) == 2 && !out[1].IsNil() {
		return nil, fmt.Errorf("call: %w", errBuiltin)
	}
	return out[0].Interface(), nil
}
