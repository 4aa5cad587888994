// Package tosealed is the seal step of `keyward migrate`: plain Secrets
// (from a cluster or a tree of manifests) become SealedSecret files, and,
// when asked, the plaintext is removed from the tree (only after each file
// was shown to hold the original bytes) or the cluster's Secrets are taken
// over in place by the controller. A rerun with unchanged sources changes
// nothing: each file records a keyed hash of what it was sealed from.
package tosealed

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/atomicfile"
	"github.com/keyward/keyward/internal/migrate"
	"github.com/keyward/keyward/internal/migrate/source"
	"github.com/keyward/keyward/internal/sealing"
)

// SourceHashAnnotation, on a SealedSecret's own metadata, is a keyed hash
// (HMAC-SHA256 under a key the tool keeps) of the Secret it was sealed
// from, so a rerun reseals only what changed. The controller does not copy
// it to the Secret. Without the key it says nothing about the values.
const SourceHashAnnotation = "sealedsecrets.keyward.dev/source-hmac"

// hashPrefix versions the hash, so a change in what it covers reseals.
const hashPrefix = "v1:"

// FileSuffix ends the name of each file written.
const FileSuffix = ".sealedsecret.yaml"

// Verifier proves the controller's key opens a SealedSecret: online
// through the controller's /v1/verify, offline with the private keys.
type Verifier interface {
	// Verify checks ss (manifest: the file's bytes) opens; want are the
	// original items, which an offline verifier compares byte for byte.
	Verify(ctx context.Context, ss *ssv1.SealedSecret, manifest []byte, want map[string][]byte) error
	// Online says the verifier never sees values, so the match must be
	// proved with the session keys of a sealing done in this run.
	Online() bool
}

// Options say what to seal and where.
type Options struct {
	DryRun bool
	// Secrets are the Secrets to seal; Skipped those passed over, with why
	// (reported, nothing done).
	Secrets []source.Secret
	Skipped []source.Skip
	// Tree is the tree the Secrets were read from (nil for a cluster).
	Tree *source.Tree

	Pub   *rsa.PublicKey
	Scope sealing.Scope
	// Out is the folder to write into; "" writes next to each source file.
	Out string
	// HMACKey keys SourceHashAnnotation.
	HMACKey []byte

	// Replace removes the plaintext from the tree once Verify passed.
	Replace bool
	Verify  Verifier

	// Cluster: Adopt marks each Secret for the controller to take over;
	// Apply also applies each SealedSecret and waits until its Secret holds
	// the original bytes (Wait at most).
	Kube    kubernetes.Interface
	Dynamic dynamic.Interface
	Adopt   bool
	Apply   bool
	Wait    time.Duration

	// Consumers, when set, names the workloads that use a Secret (from the
	// cluster); otherwise a tree's own workload manifests are asked.
	Consumers func(ctx context.Context, namespace, name string) ([]string, error)
	// Progress, when set, gets a line per step done (names only).
	Progress io.Writer
}

// Plan is Run as a dry run: the report of what Run would do.
func Plan(ctx context.Context, o Options) (migrate.Report, error) {
	o.DryRun = true
	return Run(ctx, o)
}

// item is one Secret on its way.
type item struct {
	src      source.Secret
	prepared *corev1.Secret
	want     map[string][]byte
	hash     string
	target   string
	action   migrate.Action
	write    bool
	sealed   *ssv1.SealedSecret
	receipt  *sealing.Receipt
	manifest []byte
}

// Run seals, writes, and (as asked) verifies and removes plaintext, adopts
// and applies. The report lists every action done, also when an error
// stops the run; the error names the Secret.
func Run(ctx context.Context, o Options) (migrate.Report, error) {
	rep := migrate.Report{Step: "seal", DryRun: o.DryRun}
	if o.Pub == nil {
		return rep, errors.New("no certificate to seal with")
	}
	if len(o.HMACKey) == 0 {
		return rep, errors.New("no key for the source hashes")
	}
	if o.Replace && o.Tree == nil {
		return rep, errors.New("--replace removes plaintext from a tree of manifests; for a cluster use --adopt")
	}
	if o.Replace && o.Verify == nil {
		return rep, errors.New("--replace needs a way to open the SealedSecrets: the controller, or --key-file")
	}
	if (o.Adopt || o.Apply) && o.Kube == nil {
		return rep, errors.New("--adopt and --apply need the cluster")
	}
	for _, s := range o.Skipped {
		rep.Add(migrate.Action{Secret: s.Secret, Op: migrate.Unchanged, Target: s.File, Note: "skipped: " + s.Why})
	}
	if o.Tree != nil && !o.DryRun {
		// A run killed while removing generator inputs left a journal.
		removed, err := o.Tree.FinishPending()
		for _, f := range removed {
			rep.Add(migrate.Action{Op: migrate.RemovePlaintext, Target: f, Note: "left over by an interrupted run"})
		}
		if err != nil {
			return rep, err
		}
	} else if o.Tree != nil {
		for _, f := range o.Tree.Pending() {
			rep.Add(migrate.Action{Op: migrate.RemovePlaintext, Target: f, Note: "left over by an interrupted run"})
		}
	}

	items, err := o.prepare(ctx)
	if err != nil {
		return rep, err
	}
	if err := o.sealAndWrite(items); err != nil {
		addAll(&rep, items)
		return rep, err
	}
	addAll(&rep, items)
	if o.Replace {
		if err := o.replace(ctx, &rep, items); err != nil {
			return rep, err
		}
	}
	if o.Adopt || o.Apply {
		if err := o.cluster(ctx, &rep, items); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

func addAll(rep *migrate.Report, items []*item) {
	for _, it := range items {
		rep.Add(it.action)
	}
}

func (o Options) progress(format string, args ...any) {
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, format+"\n", args...)
	}
}

// prepare works out, per Secret, the sealed form's metadata, where it
// goes and whether the file there is already current.
func (o Options) prepare(ctx context.Context) ([]*item, error) {
	var items []*item
	targets := map[string]int{}
	for _, s := range o.Secrets {
		if s.ManagedBy != "" {
			continue
		}
		targets[o.targetFor(s, false)]++
	}
	for _, s := range o.Secrets {
		a := migrate.Action{Secret: s.Key()}
		if s.ManagedBy != "" {
			a.Op = migrate.Unchanged
			a.Note = "already managed by " + s.ManagedBy
			items = append(items, &item{src: s, action: a})
			continue
		}
		in := s.Secret.DeepCopy()
		if in.Annotations != nil {
			delete(in.Annotations, ssv1.ManagedAnnotation)
			if len(in.Annotations) == 0 {
				in.Annotations = nil
			}
		}
		scope := o.Scope
		p, err := sealing.Prepare(in, sealing.Options{Scope: &scope, AllowEmptyData: true})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", describe(s), err)
		}
		it := &item{src: s, prepared: p, want: sealing.Items(p)}
		it.hash = o.sourceHash(p, it.want)
		it.target = o.targetFor(s, targets[o.targetFor(s, false)] > 1)
		a.Target = it.target
		a.Keys = sortedKeys(it.want)
		a.Op = migrate.WriteSealedSecret
		if s.Origin.Kind == source.FromKustomize {
			a.Note = "named " + p.Name + ", without kustomize's name hash"
		}
		current, differs, err := o.compare(it)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", describe(s), err)
		}
		a.Differs = differs
		it.write = !current
		if current && o.Replace && o.Verify != nil && o.Verify.Online() {
			// Online, only a sealing of this run can be matched byte for
			// byte: seal again.
			it.write = true
			a.Differs = "resealed, so the match with the original can be proved"
		}
		if !it.write {
			a.Op = migrate.Unchanged
		}
		switch {
		case o.Consumers != nil:
			c, err := o.Consumers(ctx, p.Namespace, p.Name)
			if err != nil {
				return nil, err
			}
			a.Consumers = c
		case o.Tree != nil:
			a.Consumers = o.Tree.Consumers(p.Namespace, p.Name)
		}
		it.action = a
		items = append(items, it)
	}
	return items, nil
}

func describe(s source.Secret) string {
	switch s.Origin.Kind {
	case source.FromCluster:
		return "Secret " + s.Key()
	case source.FromKustomize:
		return fmt.Sprintf("%s: secretGenerator[%d] (%s)", s.Origin.File, s.Origin.Index, s.Secret.Name)
	case source.FromList:
		return fmt.Sprintf("%s: document %d items[%d] (Secret %s)", s.Origin.File, s.Origin.Index+1, s.Origin.Item, s.Secret.Name)
	}
	return fmt.Sprintf("%s: document %d (Secret %s)", s.Origin.File, s.Origin.Index+1, s.Secret.Name)
}

// targetFor is where s's SealedSecret goes: --out, else the source's
// folder; named after the Secret, with its namespace too when two Secrets
// of one run would share the file.
func (o Options) targetFor(s source.Secret, clash bool) string {
	dir := o.Out
	if dir == "" {
		dir = "."
		if s.Origin.File != "" {
			dir = filepath.Dir(s.Origin.File)
		}
	}
	name := s.Secret.Name
	if clash {
		name = s.Secret.Namespace + "." + name
	}
	return filepath.Join(dir, name+FileSuffix)
}

// sourceHash is the keyed hash of everything the SealedSecret is made
// from: metadata, type, immutability, scope, every item, and the public
// key (a new certificate reseals).
func (o Options) sourceHash(p *corev1.Secret, items map[string][]byte) string {
	b, _ := json.Marshal(struct {
		Namespace, Name string
		Labels          map[string]string
		Annotations     map[string]string
		Type            corev1.SecretType
		Immutable       *bool
		Scope           string
		Items           map[string][]byte
		KeyN            []byte
		KeyE            int
	}{p.Namespace, p.Name, p.Labels, p.Annotations, p.Type, p.Immutable, sealing.ScopeOf(p.Annotations).String(), items,
		o.Pub.N.Bytes(), o.Pub.E})
	m := hmac.New(sha256.New, o.HMACKey)
	m.Write(b)
	return hashPrefix + hex.EncodeToString(m.Sum(nil))
}

// compare reads the file at it.target: current when it is the
// SealedSecret of the same Secret with the same source hash; otherwise
// what differs. A file that holds something else is an error: it is not
// ours to overwrite.
func (o Options) compare(it *item) (bool, string, error) {
	b, err := os.ReadFile(it.target)
	if errors.Is(err, os.ErrNotExist) {
		return false, "", nil
	}
	if err != nil {
		return false, "", fmt.Errorf("reading %s: %w", it.target, err)
	}
	ss, err := sealing.ParseSealedSecret(b)
	if err != nil {
		return false, "", fmt.Errorf("%s exists and is not one SealedSecret; move it or pass --out", it.target)
	}
	if ss.Namespace != it.prepared.Namespace || ss.Name != it.prepared.Name {
		return false, "", fmt.Errorf("%s holds SealedSecret %s/%s, not %s/%s; move it or pass --out", it.target, ss.Namespace, ss.Name, it.prepared.Namespace, it.prepared.Name)
	}
	if hmac.Equal([]byte(ss.Annotations[SourceHashAnnotation]), []byte(it.hash)) {
		return true, "", nil
	}
	var parts []string
	var added, removed []string
	for k := range it.want {
		if _, ok := ss.Spec.EncryptedData[k]; !ok {
			added = append(added, k)
		}
	}
	for k := range ss.Spec.EncryptedData {
		if _, ok := it.want[k]; !ok {
			removed = append(removed, k)
		}
	}
	sort.Strings(added)
	sort.Strings(removed)
	if len(added) > 0 {
		parts = append(parts, "keys added: "+strings.Join(added, ","))
	}
	if len(removed) > 0 {
		parts = append(parts, "keys removed: "+strings.Join(removed, ","))
	}
	switch {
	case ss.Annotations[SourceHashAnnotation] == "":
		parts = append(parts, "file exists, sealed without a source hash")
	case len(parts) == 0:
		parts = append(parts, "a value, the metadata, the scope or the certificate changed (or another hash key sealed it)")
	}
	return false, strings.Join(parts, "; "), nil
}

// sealAndWrite seals every Secret whose file is not current and writes it.
func (o Options) sealAndWrite(items []*item) error {
	var todo []*item
	var secrets []*corev1.Secret
	for _, it := range items {
		if it.write {
			todo = append(todo, it)
			secrets = append(secrets, it.prepared)
		}
	}
	if len(todo) == 0 || o.DryRun {
		return nil
	}
	sealed, receipts, err := sealing.SealAllKeyed(secrets, o.Pub, sealing.Options{AllowEmptyData: true})
	if err != nil {
		return err
	}
	for i, it := range todo {
		ss := sealed[i]
		if ss.Annotations == nil {
			ss.Annotations = map[string]string{}
		}
		ss.Annotations[SourceHashAnnotation] = it.hash
		it.sealed, it.receipt = ss, receipts[i]
		b, err := sealing.Encode(sealing.YAML, ss)
		if err != nil {
			return fmt.Errorf("%s: %w", describe(it.src), err)
		}
		b = append(bytes.TrimSuffix(bytes.TrimPrefix(b, []byte("---\n")), []byte("\n")), '\n')
		if err := os.MkdirAll(filepath.Dir(it.target), 0o755); err != nil {
			return fmt.Errorf("%s: %w", describe(it.src), err)
		}
		if err := atomicfile.WriteKeepMode(it.target, b, 0o644); err != nil {
			return fmt.Errorf("%s: writing %s: %w", describe(it.src), it.target, err)
		}
		o.progress("wrote %s", it.target)
	}
	return nil
}

// replace proves every SealedSecret written for the tree opens to the
// original, then removes the plaintext; any failure removes nothing.
func (o Options) replace(ctx context.Context, rep *migrate.Report, items []*item) error {
	// Offline, opening is RSA work on this machine: spread it over the
	// CPUs. Online, one request at a time keeps within the controller's
	// rate limit.
	workers := 1
	if !o.Verify.Online() {
		workers = runtime.GOMAXPROCS(0)
	}
	errs := make([]error, len(items))
	var wg sync.WaitGroup
	sem := make(chan struct{}, workers)
	for i, it := range items {
		if it.prepared == nil || o.DryRun {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = o.verify(ctx, it)
		}()
	}
	wg.Wait()
	var failed []string
	for i, err := range errs {
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", describe(items[i].src), err))
		}
	}
	for _, it := range items {
		it.receipt.Wipe()
	}
	if len(failed) > 0 {
		return fmt.Errorf("nothing removed: %d SealedSecret(s) did not open to the original:\n  %s", len(failed), strings.Join(failed, "\n  "))
	}
	for _, it := range items {
		if it.prepared == nil {
			continue
		}
		if err := o.Tree.CheckListable(it.src.Origin.File, it.target); err != nil {
			return fmt.Errorf("nothing removed: %w", err)
		}
	}
	// Group the removals by file, so each file is rewritten once.
	docs := map[string][]*item{}
	gens := map[string][]*item{}
	var files []string
	for _, it := range items {
		if it.prepared == nil {
			continue
		}
		f := it.src.Origin.File
		switch it.src.Origin.Kind {
		case source.FromKustomize:
			if _, ok := gens[f]; !ok {
				files = append(files, f)
			}
			gens[f] = append(gens[f], it)
		default:
			if _, ok := docs[f]; !ok {
				files = append(files, f)
			}
			docs[f] = append(docs[f], it)
		}
	}
	sort.Strings(files)
	for _, f := range files {
		if its := docs[f]; len(its) > 0 {
			var origins []source.Origin
			var sealed []string
			for _, it := range its {
				origins = append(origins, it.src.Origin)
				sealed = append(sealed, it.target)
			}
			if !o.DryRun {
				if _, err := o.Tree.ReplaceDocuments(f, origins, sealed); err != nil {
					return err
				}
				o.progress("removed plaintext from %s", f)
			}
			for _, it := range its {
				rep.Add(migrate.Action{Secret: it.src.Key(), Op: migrate.RemovePlaintext, Target: f, Keys: sortedKeys(it.want)})
			}
		}
		if its := gens[f]; len(its) > 0 {
			var entries []int
			var sealed []string
			for _, it := range its {
				entries = append(entries, it.src.Origin.Index)
				sealed = append(sealed, it.target)
			}
			var removed []string
			if !o.DryRun {
				var err error
				if removed, err = o.Tree.RemoveGenerators(f, entries, sealed); err != nil {
					return err
				}
				o.progress("replaced secretGenerator entries in %s", f)
			} else {
				for _, it := range its {
					removed = append(removed, it.src.Origin.Inputs...)
				}
			}
			for _, it := range its {
				rep.Add(migrate.Action{Secret: it.src.Key(), Op: migrate.RemovePlaintext, Target: f, Keys: sortedKeys(it.want),
					Note: "secretGenerator entry replaced by " + filepath.Base(it.target)})
			}
			for _, r := range removed {
				rep.Add(migrate.Action{Op: migrate.RemovePlaintext, Target: r, Note: "generator input"})
			}
		}
	}
	return nil
}

// verify re-reads the file as written and proves it holds the original:
// the controller's key opens every item (online or offline), and the
// items open to the original bytes (offline with the key, online with
// this run's session keys).
func (o Options) verify(ctx context.Context, it *item) error {
	b, err := os.ReadFile(it.target)
	if err != nil {
		return fmt.Errorf("re-reading %s: %w", it.target, err)
	}
	ss, err := sealing.ParseSealedSecret(b)
	if err != nil {
		return fmt.Errorf("re-reading %s: %w", it.target, err)
	}
	if o.Verify.Online() {
		if it.receipt == nil {
			return errors.New("not sealed in this run, so the match cannot be proved online")
		}
		if err := it.receipt.Match(ss, it.want); err != nil {
			return err
		}
	} else if it.receipt != nil {
		if err := it.receipt.Match(ss, it.want); err != nil {
			return err
		}
	}
	return o.Verify.Verify(ctx, ss, b, it.want)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
