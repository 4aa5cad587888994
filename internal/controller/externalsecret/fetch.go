package externalsecret

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/controller/storeref"
	"github.com/keyward/keyward/internal/provider"
	"github.com/keyward/keyward/internal/storeruntime"
	"github.com/keyward/keyward/internal/template"
)

// validKey is what a Secret data key may look like.
var validKey = regexp.MustCompile(`^[-._a-zA-Z0-9]+$`)

// fetched is the outcome of reading every data and dataFrom entry.
type fetched struct {
	data map[string][]byte
	// oldest is when the oldest value used was read from its store.
	oldest time.Time
	// missing counts entries the store did not have (deletionPolicy Delete or Merge).
	missing int
}

// unsupportedError marks problems a retry will not fix until the object changes.
type unsupportedError struct{ msg string }

func (e unsupportedError) Error() string { return e.msg }

func unsupported(format string, args ...any) error {
	return unsupportedError{fmt.Sprintf(format, args...)}
}

// fetcher reads one ExternalSecret's entries through the provider Manager.
type fetcher struct {
	r      *Reconciler
	es     *esv1.ExternalSecret
	maxAge time.Duration
	out    fetched
	stores map[esv1.SecretStoreRef]*storeruntime.Store
}

func (f *fetcher) note(at time.Time) {
	if f.out.oldest.IsZero() || at.Before(f.out.oldest) {
		f.out.oldest = at
	}
}

// store resolves and opens ref (the ExternalSecret's default store when ref is empty).
func (f *fetcher) store(ctx context.Context, ref *esv1.SecretStoreRef) (*storeruntime.Store, error) {
	r := f.es.Spec.SecretStoreRef
	if ref != nil && ref.Name != "" {
		r = *ref
	}
	if r.Kind == "" {
		r.Kind = esv1.SecretStoreKind
	}
	if s, ok := f.stores[r]; ok {
		return s, nil
	}
	gs, err := storeref.Resolve(ctx, f.r.Client, r, f.es.Namespace, f.r.Class)
	if err != nil {
		return nil, err
	}
	s, err := f.r.Providers.Store(ctx, gs, f.es.Namespace)
	if err != nil {
		return nil, err
	}
	f.stores[r] = s
	return s, nil
}

// fetch reads dataFrom entries in order, then data entries (later wins).
func (f *fetcher) fetch(ctx context.Context) (fetched, error) {
	f.out.data = map[string][]byte{}
	f.stores = map[esv1.SecretStoreRef]*storeruntime.Store{}
	deletion := f.es.Spec.Target.DeletionPolicy
	skipMissing := deletion == esv1.DeletionPolicyDelete || deletion == esv1.DeletionPolicyMerge

	for i, from := range f.es.Spec.DataFrom {
		field := fmt.Sprintf("spec.dataFrom[%d]", i)
		values, err := f.fetchFrom(ctx, from, field)
		if errors.Is(err, provider.ErrNotFound) && skipMissing {
			f.out.missing++
			continue
		}
		if err != nil {
			return f.out, fmt.Errorf("%s: %w", field, err)
		}
		for k, v := range values {
			f.out.data[k] = v
		}
	}
	for i, d := range f.es.Spec.Data {
		field := fmt.Sprintf("spec.data[%d]", i)
		if d.SourceRef != nil && d.SourceRef.GeneratorRef != nil {
			return f.out, unsupported("%s.sourceRef.generatorRef: generators are not supported by Keyward", field)
		}
		var ref *esv1.SecretStoreRef
		if d.SourceRef != nil {
			ref = &d.SourceRef.SecretStoreRef
		}
		v, err := f.fetchOne(ctx, ref, d.RemoteRef)
		if errors.Is(err, provider.ErrNotFound) && skipMissing {
			f.out.missing++
			continue
		}
		if err != nil {
			return f.out, fmt.Errorf("%s (secretKey %s): %w", field, d.SecretKey, err)
		}
		f.out.data[d.SecretKey] = v
	}
	for k := range f.out.data {
		if !validKey.MatchString(k) {
			return f.out, unsupported("the key %q is not a valid Secret key (letters, digits, '-', '_' and '.'); use rewrite or conversionStrategy Unicode", k)
		}
	}
	return f.out, nil
}

func (f *fetcher) read(ctx context.Context, ref *esv1.SecretStoreRef, rr esv1.ExternalSecretDataRemoteRef) (provider.Secret, error) {
	s, err := f.store(ctx, ref)
	if err != nil {
		return provider.Secret{}, err
	}
	var sec provider.Secret
	var at time.Time
	if rr.MetadataPolicy == esv1.MetadataPolicyFetch {
		// The secret's tags or labels instead of its value; property picks one.
		sec, at, err = s.ReadMetadata(ctx, rr.Key, f.maxAge)
	} else {
		sec, at, err = s.Read(ctx, rr.Key, rr.Version, f.maxAge)
	}
	if err != nil {
		return provider.Secret{}, err
	}
	f.note(at)
	return sec, nil
}

func (f *fetcher) fetchOne(ctx context.Context, ref *esv1.SecretStoreRef, rr esv1.ExternalSecretDataRemoteRef) ([]byte, error) {
	sec, err := f.read(ctx, ref, rr)
	if err != nil {
		return nil, err
	}
	v, err := sec.Property(rr.Property)
	if err != nil {
		return nil, fmt.Errorf("key %q: %w", rr.Key, err)
	}
	if err := checkNullBytes(rr.NullBytePolicy, v); err != nil {
		return nil, fmt.Errorf("key %q: %w", rr.Key, err)
	}
	d, err := decode(rr.DecodingStrategy, v)
	if err != nil {
		return nil, fmt.Errorf("key %q: %w", rr.Key, err)
	}
	return d, nil
}

func (f *fetcher) fetchFrom(ctx context.Context, from esv1.ExternalSecretDataFromRemoteRef, field string) (map[string][]byte, error) {
	var ref *esv1.SecretStoreRef
	if from.SourceRef != nil {
		if from.SourceRef.GeneratorRef != nil {
			return nil, unsupported("sourceRef.generatorRef: generators are not supported by Keyward")
		}
		ref = from.SourceRef.SecretStoreRef
	}
	var values map[string][]byte
	var conversion esv1.ExternalSecretConversionStrategy
	var decoding esv1.ExternalSecretDecodingStrategy
	var nullBytes esv1.ExternalSecretNullBytePolicy
	switch {
	case from.Extract != nil:
		sec, err := f.read(ctx, ref, *from.Extract)
		if err != nil {
			return nil, err
		}
		if from.Extract.Property != "" {
			v, err := sec.Property(from.Extract.Property)
			if err != nil {
				return nil, fmt.Errorf("extract: key %q: %w", from.Extract.Key, err)
			}
			sec = provider.Secret{Value: v}
		}
		if values, err = sec.Map(); err != nil {
			return nil, fmt.Errorf("extract: key %q: %w", from.Extract.Key, err)
		}
		conversion, decoding, nullBytes = from.Extract.ConversionStrategy, from.Extract.DecodingStrategy, from.Extract.NullBytePolicy
	case from.Find != nil:
		s, err := f.store(ctx, ref)
		if err != nil {
			return nil, err
		}
		found, err := s.Find(ctx, *from.Find)
		if err != nil {
			return nil, err
		}
		f.note(f.r.now())
		values = make(map[string][]byte, len(found))
		for k, sec := range found {
			v, err := sec.Property("")
			if err != nil {
				return nil, err
			}
			values[k] = v
		}
		conversion, decoding, nullBytes = from.Find.ConversionStrategy, from.Find.DecodingStrategy, from.Find.NullBytePolicy
		// Remote names may hold '/', which a Secret key may not.
		values = renameKeys(values, func(k string) string { return strings.ReplaceAll(k, "/", "_") })
	default:
		return nil, unsupported("set one of extract, find or sourceRef.generatorRef")
	}
	out := make(map[string][]byte, len(values))
	for k, v := range values {
		if err := checkNullBytes(nullBytes, v); err != nil {
			return nil, fmt.Errorf("key %q: %w", k, err)
		}
		d, err := decode(decoding, v)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", k, err)
		}
		out[k] = d
	}
	out, err := rewrite(out, from.Rewrite, field)
	if err != nil {
		return nil, err
	}
	if conversion == esv1.ConversionStrategyUnicode {
		out = renameKeys(out, unicodeKey)
	}
	return out, nil
}

func renameKeys(in map[string][]byte, f func(string) string) map[string][]byte {
	out := make(map[string][]byte, len(in))
	for k, v := range in {
		out[f(k)] = v
	}
	return out
}

// unicodeKey replaces characters a Secret key may not hold with _Uxxxx_, as ESO does.
func unicodeKey(k string) string {
	var b strings.Builder
	for _, r := range k {
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '.' || r == '_') {
			b.WriteRune(r)
			continue
		}
		fmt.Fprintf(&b, "_U%04x_", r)
	}
	return b.String()
}

func checkNullBytes(policy esv1.ExternalSecretNullBytePolicy, v []byte) error {
	if policy == esv1.NullBytePolicyFail && bytes.IndexByte(v, 0) >= 0 {
		return errors.New("the value holds a NUL byte and nullBytePolicy is Fail")
	}
	return nil
}

// decode applies decodingStrategy. Errors never quote the value.
func decode(strategy esv1.ExternalSecretDecodingStrategy, v []byte) ([]byte, error) {
	switch strategy {
	case "", esv1.DecodingStrategyNone:
		return v, nil
	case esv1.DecodingStrategyBase64:
		d, err := base64.StdEncoding.DecodeString(string(v))
		if err != nil {
			return nil, errors.New("decodingStrategy Base64: the value is not base64")
		}
		return d, nil
	case esv1.DecodingStrategyBase64URL:
		d, err := base64.URLEncoding.DecodeString(string(v))
		if err != nil {
			return nil, errors.New("decodingStrategy Base64URL: the value is not base64url")
		}
		return d, nil
	case esv1.DecodingStrategyAuto:
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
			if d, err := enc.DecodeString(string(v)); err == nil {
				return d, nil
			}
		}
		return v, nil
	}
	return nil, fmt.Errorf("decodingStrategy %q is unknown", strategy)
}

// rewrite renames keys through each rule in order.
func rewrite(in map[string][]byte, rules []esv1.ExternalSecretRewrite, field string) (map[string][]byte, error) {
	out := in
	for i, rule := range rules {
		rf := fmt.Sprintf("%s.rewrite[%d]", field, i)
		switch {
		case rule.Regexp != nil:
			re, err := regexp.Compile(rule.Regexp.Source)
			if err != nil {
				return nil, unsupported("%s.regexp.source: %v", rf, err)
			}
			out = renameKeys(out, func(k string) string { return re.ReplaceAllString(k, rule.Regexp.Target) })
		case rule.Transform != nil:
			next := make(map[string][]byte, len(out))
			for k, v := range out {
				nk, err := template.Render(rf+".transform", rule.Transform.Template, map[string]string{"value": k}, template.MissingKeyError())
				if err != nil {
					// The error names rf.transform and holds no data.
					return nil, unsupportedError{err.Error()}
				}
				next[string(nk)] = v
			}
			out = next
		case rule.Merge != nil:
			merged, err := merge(out, *rule.Merge, rf)
			if err != nil {
				return nil, err
			}
			out = merged
		}
	}
	return out, nil
}

// merge joins the JSON objects held by the keys into one map: keys listed
// in priority are merged last, so they win a conflict. With strategy JSON
// the result is one key, into, holding the merged object.
func merge(in map[string][]byte, m esv1.ExternalSecretRewriteMerge, field string) (map[string][]byte, error) {
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	rank := map[string]int{}
	for i, p := range m.Priority {
		if _, ok := in[p]; !ok && m.PriorityPolicy == "Strict" {
			return nil, fmt.Errorf("%s.merge.priority: key %q is not among the values", field, p)
		}
		rank[p] = i + 1
	}
	sort.SliceStable(keys, func(a, b int) bool { return rank[keys[a]] < rank[keys[b]] })
	merged := map[string]any{}
	from := map[string]string{}
	for _, k := range keys {
		var obj map[string]any
		if err := json.Unmarshal(in[k], &obj); err != nil {
			return nil, fmt.Errorf("%s.merge: the value of key %q is not a JSON object", field, k)
		}
		for ok, ov := range obj {
			if prev, dup := from[ok]; dup && m.ConflictPolicy == "Error" {
				return nil, fmt.Errorf("%s.merge: key %q is set by both %q and %q", field, ok, prev, k)
			}
			merged[ok], from[ok] = ov, k
		}
	}
	if m.Strategy == "JSON" {
		if m.Into == "" {
			return nil, unsupported("%s.merge.into: required with strategy JSON", field)
		}
		b, err := json.Marshal(merged)
		if err != nil {
			return nil, fmt.Errorf("%s.merge: the merged object cannot be encoded as JSON", field)
		}
		return map[string][]byte{m.Into: b}, nil
	}
	out := make(map[string][]byte, len(merged))
	for k, v := range merged {
		if s, ok := v.(string); ok {
			out[k] = []byte(s)
			continue
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("%s.merge: the value of key %q cannot be encoded as JSON", field, k)
		}
		out[k] = b
	}
	return out, nil
}
