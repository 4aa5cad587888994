// Package reencrypt re-seals the SealedSecret manifests in a tree of files
// with a sealing controller's newest key, changing nothing in the files but
// the ciphertext strings: comments, ordering, other documents and formatting
// stay byte for byte, so the Git diff shows only what had to change.
package reencrypt

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	ssv1 "github.com/keyward/keyward/api/sealedsecrets/v1alpha1"
	"github.com/keyward/keyward/internal/atomicfile"
	"github.com/keyward/keyward/internal/sealing"
)

// Resealer turns one SealedSecret into its re-sealed form. raw is the
// document as JSON, for resealers that send it elsewhere.
type Resealer interface {
	Reseal(ctx context.Context, ss *ssv1.SealedSecret, raw []byte) (*ssv1.SealedSecret, error)
}

// Offline re-seals with local private keys for the public key Target.
// Values already sealed for Target are left alone.
type Offline struct {
	Keys   []*rsa.PrivateKey
	Target *rsa.PublicKey
}

// Reseal implements Resealer.
func (o Offline) Reseal(_ context.Context, ss *ssv1.SealedSecret, _ []byte) (*ssv1.SealedSecret, error) {
	return sealing.ReencryptStale(ss, o.Keys, o.Target)
}

// Stats summarise a run.
type Stats struct {
	Files         int // manifest files read
	Changed       int // files rewritten
	SealedSecrets int // SealedSecret documents seen
	Values        int // ciphertexts replaced
}

// Options tune a run.
type Options struct {
	// DryRun computes everything but writes nothing.
	DryRun bool
	// Progress, when set, is called after each file with the count done
	// and the total.
	Progress func(done, total int)
	// Workers bounds parallel files; 0 means one per CPU.
	Workers int
}

// Tree re-seals every SealedSecret in the YAML and JSON files under paths
// (files or directories; .git and other hidden folders are skipped). Each
// file is rewritten atomically and only when all of its SealedSecrets were
// re-sealed. The error joins every file's failure.
func Tree(ctx context.Context, paths []string, r Resealer, o Options) (Stats, error) {
	files, err := manifestFiles(paths)
	if err != nil {
		return Stats{}, err
	}
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	var (
		mu    sync.Mutex
		total Stats
		errs  []error
		done  int
		wg    sync.WaitGroup
	)
	next := make(chan string)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for path := range next {
				st, err := File(ctx, path, r, o.DryRun)
				mu.Lock()
				total.Files++
				total.Changed += st.Changed
				total.SealedSecrets += st.SealedSecrets
				total.Values += st.Values
				if err != nil {
					errs = append(errs, err)
				}
				done++
				if o.Progress != nil {
					o.Progress(done, len(files))
				}
				mu.Unlock()
			}
		}()
	}
	for _, f := range files {
		if ctx.Err() != nil {
			break
		}
		next <- f
	}
	close(next)
	wg.Wait()
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	if err := ctx.Err(); err != nil {
		errs = append(errs, err)
	}
	return total, errors.Join(errs...)
}

// File re-seals the SealedSecrets of one file in place. Files that are not
// manifests (a Helm template, say) or hold no SealedSecret are left alone.
func File(ctx context.Context, path string, r Resealer, dryRun bool) (Stats, error) {
	var st Stats
	data, err := os.ReadFile(path)
	if err != nil {
		return st, fmt.Errorf("%s: %w", path, err)
	}
	if !bytes.Contains(data, []byte(ssv1.Kind)) {
		return st, nil
	}
	docs, err := sealing.ReadDocuments(bytes.NewReader(data))
	if err != nil {
		return st, nil // not a manifest we can read: not ours to change
	}
	replace := map[string]string{}
	for _, d := range docs {
		if d.Kind != ssv1.Kind {
			continue
		}
		st.SealedSecrets++
		ss, err := sealing.DecodeSealedSecret(d)
		if err != nil {
			return st, fmt.Errorf("%s: %w", path, err)
		}
		out, err := r.Reseal(ctx, ss, d.JSON)
		if err != nil {
			return st, fmt.Errorf("%s: %w", path, err)
		}
		for name, old := range ss.Spec.EncryptedData {
			if nv := out.Spec.EncryptedData[name]; nv != old {
				if nv == "" {
					return st, fmt.Errorf("%s: %s: item %q is missing from the re-sealed SealedSecret", path, d, name)
				}
				replace[old] = nv
			}
		}
		if ss.Spec.Data != nil && !bytes.Equal(ss.Spec.Data, out.Spec.Data) {
			replace[encodeStd(ss.Spec.Data)] = encodeStd(out.Spec.Data)
		}
	}
	if len(replace) == 0 {
		return st, nil
	}
	// Ciphertexts are random and long, so each old one names exactly the
	// places it occupies; one that is not there verbatim (folded across
	// lines, say) means this file cannot be edited safely in place.
	text := string(data)
	for old, nv := range replace {
		if !strings.Contains(text, old) {
			return st, fmt.Errorf("%s: a ciphertext is not written on one line; re-seal this file with `keyward seal --merge-into` instead", path)
		}
		text = strings.ReplaceAll(text, old, nv)
	}
	st.Values = len(replace)
	st.Changed = 1
	if dryRun {
		return st, nil
	}
	// The file keeps its mode: it is the repository's, not ours.
	if err := atomicfile.WriteKeepMode(path, []byte(text), 0o644); err != nil {
		return st, err
	}
	return st, nil
}

func manifestFiles(paths []string) ([]string, error) {
	var files []string
	for _, root := range paths {
		info, err := os.Stat(root)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			files = append(files, root)
			continue
		}
		err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if p != root && strings.HasPrefix(d.Name(), ".") {
					return filepath.SkipDir
				}
				return nil
			}
			switch strings.ToLower(filepath.Ext(p)) {
			case ".yaml", ".yml", ".json":
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return files, nil
}

func encodeStd(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
