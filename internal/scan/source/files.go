// Package source turns what the user asked to scan (directories, files,
// stdin, git history, the staged index) into streams of text, without
// holding more than a chunk per reader in memory.
package source

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// skipDirs are never scanned: VCS metadata and installed third-party trees.
var skipDirs = map[string]bool{
	".git": true, ".hg": true, ".svn": true, "node_modules": true, "vendor": true, ".terraform": true,
	"__pycache__": true, ".venv": true, ".tox": true, ".mypy_cache": true, ".gradle": true,
}

// skipNames are generated files full of hashes and package URLs.
var skipNames = map[string]bool{
	"go.sum": true, "go.work.sum": true, "package-lock.json": true, "yarn.lock": true, "pnpm-lock.yaml": true,
	"Cargo.lock": true, "poetry.lock": true, "Gemfile.lock": true, "composer.lock": true, "Pipfile.lock": true,
	"packages.lock.json": true, "flake.lock": true, ".keyward-baseline.json": true, "bun.lockb": true,
}

// skipExt are binary or generated formats where text rules cannot apply.
var skipExt = map[string]bool{
	".png": true, ".jpg": true, ".jpeg": true, ".gif": true, ".bmp": true, ".ico": true, ".webp": true, ".tiff": true,
	".svg": false, ".pdf": true, ".zip": true, ".gz": true, ".tgz": true, ".bz2": true, ".xz": true, ".zst": true,
	".7z": true, ".rar": true, ".jar": true, ".war": true, ".class": true, ".so": true, ".dll": true, ".dylib": true,
	".exe": true, ".o": true, ".a": true, ".pyc": true, ".woff": true, ".woff2": true, ".ttf": true, ".otf": true,
	".eot": true, ".mp3": true, ".mp4": true, ".mov": true, ".avi": true, ".wav": true, ".flac": true, ".ogg": true,
	".psd": true, ".wasm": true, ".bin": true, ".dat": true, ".db": true, ".sqlite": true, ".parquet": true,
	".map": true,
}

// Skipped reports whether a path is excluded by the built-in rules.
func Skipped(path string) bool {
	base := filepath.Base(path)
	if skipNames[base] || skipExt[strings.ToLower(filepath.Ext(base))] {
		return true
	}
	return strings.HasSuffix(base, ".min.js") || strings.HasSuffix(base, ".min.css")
}

// File is a regular file found by Walk.
type File struct {
	Path string // as the user will read it: root joined with the relative path
	Rel  string // slash-separated, relative to the root (the file name for a file root)
	Size int64
}

// Walk lists the regular files under root (or root itself if it is a file),
// skipping symlinks, empty files and the built-in exclusions, and anything
// for which skip(rel) is true. Directories are pruned, not filtered.
func Walk(root string, skip func(rel string) bool, fn func(File) error) error {
	info, err := os.Lstat(root)
	if err != nil {
		return fmt.Errorf("scan %s: %w", root, err)
	}
	if !info.IsDir() {
		if !info.Mode().IsRegular() {
			return nil
		}
		rel := filepath.ToSlash(filepath.Base(root))
		if skip != nil && skip(filepath.ToSlash(filepath.Clean(root))) {
			return nil
		}
		return fn(File{Path: root, Rel: rel, Size: info.Size()})
	}
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == root {
				return fmt.Errorf("scan %s: %w", root, err)
			}
			return fmt.Errorf("scan %s: %w", p, err)
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if p != root && (skipDirs[d.Name()] || skip != nil && skip(rel+"/")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || Skipped(p) || skip != nil && skip(rel) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return fmt.Errorf("scan %s: %w", p, err)
		}
		if info.Size() == 0 {
			return nil
		}
		return fn(File{Path: p, Rel: rel, Size: info.Size()})
	})
}

// Chunk is a piece of a stream that ends at a line break.
type Chunk struct {
	Text      []byte
	FirstLine int // 1-based line number of Text[0]
	// ReportFrom is how many leading bytes repeat the end of the previous
	// chunk, so matches split at the boundary are still seen whole.
	ReportFrom int
	Whole      bool // the stream fit in one chunk
}

// ErrBinary is returned by Chunks for content that is not text.
var ErrBinary = errors.New("binary content")

// Chunks reads r in chunks of at most size bytes (plus overlap) that end at
// line breaks and start with up to overlap bytes of whole lines from the
// previous chunk. buf is reused between calls; fn must not keep Text.
func Chunks(r io.Reader, size, overlap int, buf []byte, fn func(Chunk) error) ([]byte, error) {
	if cap(buf) < size+overlap {
		buf = make([]byte, size+overlap)
	}
	buf = buf[:size+overlap]
	n, carried, line, first := 0, 0, 1, true
	for {
		m, err := io.ReadFull(r, buf[n:])
		n += m
		eof := err == io.EOF || err == io.ErrUnexpectedEOF
		if err != nil && !eof {
			return buf, err
		}
		if first && bytes.IndexByte(buf[:min(n, 8000)], 0) >= 0 {
			return buf, ErrBinary
		}
		cut := n
		if !eof {
			if i := bytes.LastIndexByte(buf[:n], '\n'); i > carried {
				cut = i + 1
			}
		}
		if cut > carried || first {
			if err := fn(Chunk{Text: buf[:cut], FirstLine: line, ReportFrom: carried, Whole: first && eof}); err != nil {
				return buf, err
			}
		}
		if eof {
			return buf, nil
		}
		first = false
		// Keep the last whole lines (up to overlap bytes) before cut.
		keep := max(cut-overlap, 0)
		if i := bytes.IndexByte(buf[keep:cut], '\n'); i >= 0 && keep > 0 {
			keep += i + 1
		}
		line += bytes.Count(buf[:keep], []byte("\n"))
		n = copy(buf, buf[keep:n])
		carried = cut - keep
	}
}
