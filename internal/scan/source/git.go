package source

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"unicode"
)

// Commit describes the commit a diff belongs to.
type Commit struct {
	Hash, Author, Email, Date, Message string
}

// Seg maps fragment lines to file lines: fragment line Local (0-based) is
// file line File (1-based), and so on until the next Seg.
type Seg struct{ Local, File int }

// Diff is the added text of one file in one commit (or in the index).
type Diff struct {
	Commit *Commit // nil for staged changes
	Path   string
	Blob   string // object id of the new file content, when known
	Text   []byte // added lines, each ending in \n
	Segs   []Seg
}

// GitOptions select what history to read.
type GitOptions struct {
	Repo  string
	Since string // only commits not reachable from this revision
	// MaxDiff bounds memory: a file's added text is split into several
	// Diffs past this many bytes.
	MaxDiff int
	// OnCommit, if set, is called for every commit read, with or without
	// added lines.
	OnCommit func(*Commit)
}

const commitMark = "\x1ecommit "

// Log streams the added lines of every commit on all refs (or, with Since,
// of the commits reachable from HEAD and not from Since) to fn, one Diff per
// file per commit, in the order git prints them. It never holds more than
// one Diff plus one line in memory.
func Log(ctx context.Context, o GitOptions, fn func(*Diff) error) error {
	if o.Since != "" {
		if err := CheckRevision(o.Since); err != nil {
			return fmt.Errorf("--since: %w", err)
		}
	}
	return runDiff(ctx, logArgs(o), o.MaxDiff, o.OnCommit, fn)
}

// logArgs is the git command line for Log.
func logArgs(o GitOptions) []string {
	// A smaller delta-base cache than git's 96 MiB default caps git's own
	// memory on long histories for about a tenth more git CPU.
	args := []string{"-C", o.Repo, "-c", "core.quotePath=false", "-c", "core.deltaBaseCacheLimit=32m", "log",
		"-p", "-U0", "-M", "--full-index", "--no-color", "--no-ext-diff", "--no-textconv",
		"--diff-filter=ACMRT", "--format=" + commitMark + "%H%x1f%an%x1f%ae%x1f%aI%x1f%s"}
	if o.Since != "" {
		// Every option comes before --end-of-options, so the revision is
		// read as a revision even if it looked like an option.
		args = append(args, "--end-of-options", o.Since+"..HEAD")
	} else {
		args = append(args, "--all")
	}
	args = append(args, "--")
	return args
}

// CheckRevision refuses a revision git could read as an option: one that
// starts with "-" (such as --output=FILE, which would write a file), or
// holds a control character. Empty is refused too.
func CheckRevision(rev string) error {
	switch {
	case rev == "":
		return errors.New("empty revision")
	case strings.HasPrefix(rev, "-"):
		return fmt.Errorf("revision %q starts with \"-\"; name a branch, tag or commit", rev)
	case strings.ContainsFunc(rev, unicode.IsControl):
		return fmt.Errorf("revision %q contains a control character", rev)
	}
	return nil
}

// Staged streams the added lines of the changes staged for commit.
func Staged(ctx context.Context, repo string, maxDiff int, fn func(*Diff) error) error {
	args := []string{"-C", repo, "-c", "core.quotePath=false", "diff", "--cached", "-U0", "-M", "--full-index",
		"--no-color", "--no-ext-diff", "--no-textconv", "--diff-filter=ACMRT", "--"}
	return runDiff(ctx, args, maxDiff, nil, fn)
}

func runDiff(ctx context.Context, args []string, maxDiff int, onCommit func(*Commit), fn func(*Diff) error) error {
	cmd := exec.CommandContext(ctx, "git", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("git: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start git: %w", err)
	}
	perr := ParseDiff(out, maxDiff, onCommit, fn)
	if perr != nil {
		_ = cmd.Process.Kill()
	}
	werr := cmd.Wait()
	if perr != nil {
		return perr
	}
	if werr != nil {
		return fmt.Errorf("git: %w: %s", werr, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// maxLine bounds one diff line; the rest of a longer line (minified files)
// is dropped rather than buffered.
const maxLine = 1 << 20

// ParseDiff reads `git log -p -U0` / `git diff -U0` output and calls fn with
// the added text of each file. Hunk line counts, not prefixes, decide what
// is content, so an added line starting with "++" is not taken for a header.
func ParseDiff(r io.Reader, maxDiff int, onCommit func(*Commit), fn func(*Diff) error) error {
	if maxDiff <= 0 {
		maxDiff = 1 << 20
	}
	br := bufio.NewReaderSize(r, 64<<10)
	var (
		commit      *Commit
		cur         *Diff
		newLine     int
		plus, minus int
		local       int
		line        []byte
	)
	flush := func() error {
		if cur != nil && len(cur.Text) > 0 {
			d := cur
			cur = &Diff{Commit: d.Commit, Path: d.Path, Blob: d.Blob}
			local = 0
			if err := fn(d); err != nil {
				return err
			}
		}
		return nil
	}
	for {
		var err error
		line, err = readLine(br, line[:0])
		if len(line) == 0 && err != nil {
			if errors.Is(err, io.EOF) {
				return flush()
			}
			return fmt.Errorf("read git output: %w", err)
		}
		if plus > 0 || minus > 0 {
			switch {
			case len(line) > 0 && line[0] == '+' && plus > 0:
				plus--
				if cur != nil {
					if len(cur.Segs) == 0 || len(cur.Text) == 0 {
						cur.Segs = append(cur.Segs[:0], Seg{Local: 0, File: newLine})
					}
					cur.Text = append(cur.Text, line[1:]...)
					cur.Text = append(cur.Text, '\n')
					local++
					newLine++
					if len(cur.Text) >= maxDiff && plus > 0 {
						if err := flush(); err != nil {
							return err
						}
					}
				}
				continue
			case len(line) > 0 && line[0] == '-' && minus > 0:
				minus--
				continue
			case len(line) > 0 && line[0] == '\\':
				continue
			}
			plus, minus = 0, 0 // malformed; resynchronise on headers
		}
		switch {
		case bytes.HasPrefix(line, []byte(commitMark)):
			if err := flush(); err != nil {
				return err
			}
			cur = nil
			f := strings.SplitN(string(line[len(commitMark):]), "\x1f", 5)
			for len(f) < 5 {
				f = append(f, "")
			}
			commit = &Commit{Hash: f[0], Author: f[1], Email: f[2], Date: f[3], Message: f[4]}
			if onCommit != nil {
				onCommit(commit)
			}
		case bytes.HasPrefix(line, []byte("diff --git ")):
			if err := flush(); err != nil {
				return err
			}
			cur = &Diff{Commit: commit, Path: pathFromDiffHeader(string(line[len("diff --git "):]))}
			local = 0
		case cur == nil:
		case bytes.HasPrefix(line, []byte("index ")):
			if _, after, ok := strings.Cut(string(line[len("index "):]), ".."); ok {
				cur.Blob, _, _ = strings.Cut(after, " ")
			}
		case bytes.HasPrefix(line, []byte("+++ ")):
			if p := string(line[4:]); p != "/dev/null" {
				cur.Path = unquote(strings.TrimPrefix(unquote(p), "b/"))
			}
		case bytes.HasPrefix(line, []byte("@@ ")):
			var ok bool
			newLine, plus, minus, ok = parseHunk(string(line))
			if !ok {
				return fmt.Errorf("bad hunk header %q", line)
			}
			if plus > 0 {
				cur.Segs = append(cur.Segs, Seg{Local: local, File: newLine})
			}
		}
	}
}

// readLine reads one line without its newline, truncated at maxLine.
func readLine(br *bufio.Reader, buf []byte) ([]byte, error) {
	for {
		frag, err := br.ReadSlice('\n')
		if len(buf) < maxLine {
			buf = append(buf, frag[:min(len(frag), maxLine-len(buf))]...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		buf = bytes.TrimSuffix(bytes.TrimSuffix(buf, []byte("\n")), []byte("\r"))
		return buf, err
	}
}

// parseHunk reads "@@ -a[,b] +c[,d] @@".
func parseHunk(h string) (start, plus, minus int, ok bool) {
	f := strings.Fields(h)
	if len(f) < 3 || !strings.HasPrefix(f[1], "-") || !strings.HasPrefix(f[2], "+") {
		return 0, 0, 0, false
	}
	count := func(s string) (int, int, bool) {
		a, b, has := strings.Cut(s[1:], ",")
		x, err := strconv.Atoi(a)
		if err != nil {
			return 0, 0, false
		}
		if !has {
			return x, 1, true
		}
		y, err := strconv.Atoi(b)
		return x, y, err == nil
	}
	_, minus, ok1 := count(f[1])
	start, plus, ok2 := count(f[2])
	return start, plus, minus, ok1 && ok2
}

// pathFromDiffHeader takes the b/ path from "a/x b/x" (used when there is
// no +++ line, e.g. a binary file or a pure rename).
func pathFromDiffHeader(s string) string {
	if strings.HasPrefix(s, `"`) {
		if i := strings.Index(s, `" "b/`); i >= 0 {
			return unquote(`"` + s[i+3:])
		}
	}
	if i := strings.LastIndex(s, " b/"); i >= 0 {
		return s[i+3:]
	}
	return s
}

// unquote undoes git's C-style quoting of unusual paths.
func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		if u, err := strconv.Unquote(s); err == nil {
			return u
		}
	}
	return s
}

// Blobs reads objects from a repository through one long-lived
// `git cat-file --batch`, so fetching many small blobs costs no process each.
type Blobs struct {
	repo string
	mu   sync.Mutex
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
}

// NewBlobs returns a reader for repo; the process starts on first use.
func NewBlobs(repo string) *Blobs { return &Blobs{repo: repo} }

// Read returns the content of an object, or nil if it is missing or larger
// than limit bytes.
func (b *Blobs) Read(id string, limit int) ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cmd == nil {
		b.cmd = exec.Command("git", "-C", b.repo, "cat-file", "--batch")
		var err error
		if b.in, err = b.cmd.StdinPipe(); err != nil {
			return nil, err
		}
		out, err := b.cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		b.out = bufio.NewReaderSize(out, 64<<10)
		if err := b.cmd.Start(); err != nil {
			return nil, fmt.Errorf("start git cat-file: %w", err)
		}
	}
	if _, err := io.WriteString(b.in, id+"\n"); err != nil {
		return nil, fmt.Errorf("git cat-file: %w", err)
	}
	hdr, err := b.out.ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("git cat-file: %w", err)
	}
	f := strings.Fields(hdr)
	if len(f) != 3 {
		return nil, nil // missing
	}
	size, err := strconv.Atoi(f[2])
	if err != nil {
		return nil, fmt.Errorf("git cat-file: bad header %q", hdr)
	}
	if size > limit {
		_, err := b.out.Discard(size + 1)
		return nil, err
	}
	data := make([]byte, size+1)
	if _, err := io.ReadFull(b.out, data); err != nil {
		return nil, fmt.Errorf("git cat-file: %w", err)
	}
	return data[:size], nil
}

// Close stops the cat-file process.
func (b *Blobs) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cmd == nil {
		return nil
	}
	b.in.Close()
	err := b.cmd.Wait()
	b.cmd = nil
	return err
}
