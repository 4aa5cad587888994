package externalsecret

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
	"github.com/keyward/keyward/internal/controller/storeref"
	"github.com/keyward/keyward/internal/generator"
	"github.com/keyward/keyward/internal/provider"
	"github.com/keyward/keyward/internal/rewrite"
	"github.com/keyward/keyward/internal/specerr"
	"github.com/keyward/keyward/internal/storeruntime"
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
			return f.out, specerr.New("%s.sourceRef.generatorRef: a generator goes in spec.dataFrom[].sourceRef.generatorRef; ESO never ran one from data[] either", field)
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
			return f.out, specerr.New("the key %q is not a valid Secret key (letters, digits, '-', '_' and '.'); use rewrite or conversionStrategy Unicode", k)
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
	if err := rewrite.CheckNullBytes(rr.NullBytePolicy, v); err != nil {
		return nil, fmt.Errorf("key %q: %w", rr.Key, err)
	}
	d, err := rewrite.Decode(rr.DecodingStrategy, v)
	if err != nil {
		return nil, fmt.Errorf("key %q: %w", rr.Key, err)
	}
	return d, nil
}

func (f *fetcher) fetchFrom(ctx context.Context, from esv1.ExternalSecretDataFromRemoteRef, field string) (map[string][]byte, error) {
	var ref *esv1.SecretStoreRef
	if from.SourceRef != nil {
		ref = from.SourceRef.SecretStoreRef
	}
	var values map[string][]byte
	var conversion esv1.ExternalSecretConversionStrategy
	var decoding esv1.ExternalSecretDecodingStrategy
	var nullBytes esv1.ExternalSecretNullBytePolicy
	switch {
	case from.SourceRef != nil && from.SourceRef.GeneratorRef != nil:
		// A new value on every sync: nothing is cached, so each refresh
		// (refreshInterval, an edit, force-sync) makes one.
		g := generator.Resolver{Reader: f.r.APIReader, Stores: f.r.Providers, Class: &f.r.Class}
		var err error
		if values, err = g.Generate(ctx, f.es.Namespace, *from.SourceRef.GeneratorRef, "sourceRef.generatorRef"); err != nil {
			return nil, err
		}
		f.note(f.r.now())
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
		values = rewrite.RenameKeys(values, func(k string) string { return strings.ReplaceAll(k, "/", "_") })
	default:
		return nil, specerr.New("set one of extract, find or sourceRef.generatorRef")
	}
	out := make(map[string][]byte, len(values))
	for k, v := range values {
		if err := rewrite.CheckNullBytes(nullBytes, v); err != nil {
			return nil, fmt.Errorf("key %q: %w", k, err)
		}
		d, err := rewrite.Decode(decoding, v)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", k, err)
		}
		out[k] = d
	}
	out, err := rewrite.Apply(out, from.Rewrite, field)
	if err != nil {
		return nil, err
	}
	if conversion == esv1.ConversionStrategyUnicode {
		out = rewrite.RenameKeys(out, rewrite.UnicodeKey)
	}
	return out, nil
}
