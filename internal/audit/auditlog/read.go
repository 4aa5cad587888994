package auditlog

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// Event holds the fields of an audit.k8s.io/v1 Event the report needs.
// k8s.io/apiserver is not a dependency of keyward, and these few fields keep
// each decoded line small. Request and response bodies are not decoded: a
// log written at a higher level than Metadata is told by Level alone.
type Event struct {
	Kind             string     `json:"kind"`
	APIVersion       string     `json:"apiVersion"`
	Level            string     `json:"level"`
	AuditID          string     `json:"auditID"`
	Stage            string     `json:"stage"`
	Verb             string     `json:"verb"`
	User             UserInfo   `json:"user"`
	ImpersonatedUser *UserInfo  `json:"impersonatedUser,omitempty"`
	ObjectRef        *ObjectRef `json:"objectRef,omitempty"`
	ResponseStatus   *struct {
		Code int `json:"code"`
	} `json:"responseStatus,omitempty"`
	RequestReceived time.Time `json:"requestReceivedTimestamp"`
	StageTimestamp  time.Time `json:"stageTimestamp"`
}

// UserInfo is who made a request, with the groups the authenticator gave.
type UserInfo struct {
	Username string   `json:"username"`
	Groups   []string `json:"groups,omitempty"`
}

// ObjectRef is what a request was about.
type ObjectRef struct {
	Resource    string `json:"resource"`
	Namespace   string `json:"namespace"`
	Name        string `json:"name"`
	APIGroup    string `json:"apiGroup"`
	Subresource string `json:"subresource"`
}

// Stages of an audit event; only the last stage of a request counts, so a
// request is counted once whatever stages the policy keeps. A watch is the
// exception: it logs ResponseComplete only when it ends, so one still open
// when the log is read is counted from its ResponseStarted (the auditID
// keeps it from being counted twice).
const (
	StageResponseStarted  = "ResponseStarted"
	StageResponseComplete = "ResponseComplete"
	StagePanic            = "Panic"
)

// maxLine bounds one line: Metadata events are a few KiB, and a line without
// an end must not take the whole file into memory.
const maxLine = 4 << 20

// LineError is a line that could not be read as an audit event. It names the
// file and line and says what failed, never what the line holds.
type LineError struct {
	File string
	Line int
	Err  error
}

func (e *LineError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %v", e.File, e.Err)
	}
	return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
}

func (e *LineError) Unwrap() error { return e.Err }

// Reader streams events out of audit log files, one line at a time, and
// drops an event whose auditID it has already passed on: rotated copies and
// overlapping sets of files give each request once.
type Reader struct {
	// seen holds the auditIDs passed on; UUIDs, as the API server writes
	// them, are kept as 16 bytes so a long log's set stays small.
	seen     map[[16]byte]struct{}
	seenText map[string]struct{}
	// Problems are the lines that were skipped, and files cut short.
	Problems []*LineError
	// Lines, Events and Duplicates count what was read: every line, the
	// final-stage events passed on, and those dropped as already seen.
	Lines, Events, Duplicates int
	// Progress, when set, is told the lines read so far every 10000 lines.
	Progress func(lines int)
}

// NewReader returns a Reader with nothing seen.
func NewReader() *Reader {
	return &Reader{seen: map[[16]byte]struct{}{}, seenText: map[string]struct{}{}}
}

// ReadFiles reads every file in turn (see ReadFile). A directory stands for
// the regular files in it, as a rotated set sits in one folder.
func (r *Reader) ReadFiles(paths []string, fn func(*Event)) error {
	files, err := Expand(paths)
	if err != nil {
		return err
	}
	for _, p := range files {
		if err := r.ReadFile(p, fn); err != nil {
			return err
		}
	}
	return nil
}

// Expand replaces each directory in paths by the regular files it holds,
// sorted by name.
func Expand(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("audit log: %w", err)
		}
		if !st.IsDir() {
			out = append(out, p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, fmt.Errorf("audit log: %w", err)
		}
		var names []string
		for _, e := range entries {
			if e.Type().IsRegular() {
				names = append(names, filepath.Join(p, e.Name()))
			}
		}
		sort.Strings(names)
		out = append(out, names...)
	}
	return out, nil
}

// ReadFile streams the events of one file, plain or gzip-compressed (told by
// its first bytes, as a rotated file may be named anything), to fn. Lines that
// are not audit events are recorded in Problems and skipped; a file that
// stops being readable part-way is recorded there too, with what it gave so
// far kept. The returned error is for a file that cannot be opened.
func (r *Reader) ReadFile(path string, fn func(*Event)) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	defer f.Close()
	return r.read(path, f, fn)
}

func (r *Reader) read(name string, in io.Reader, fn func(*Event)) error {
	br := bufio.NewReaderSize(in, 64<<10)
	lr := br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			r.Problems = append(r.Problems, &LineError{File: name, Err: fmt.Errorf("gzip header: %w", err)})
			return nil
		}
		defer zr.Close()
		lr = bufio.NewReaderSize(zr, 64<<10)
	}
	var line []byte
	for n := 1; ; n++ {
		var tooLong bool
		var err error
		line, tooLong, err = readLine(lr, line[:0])
		if err != nil && err != io.EOF {
			// A gzip stream cut short, a disk error: what came before counts.
			r.Problems = append(r.Problems, &LineError{File: name, Line: n, Err: fmt.Errorf("reading stopped: %w", err)})
			return nil
		}
		if len(line) > 0 || tooLong {
			r.Lines++
			if r.Progress != nil && r.Lines%10000 == 0 {
				r.Progress(r.Lines)
			}
			switch {
			case tooLong:
				r.Problems = append(r.Problems, &LineError{File: name, Line: n, Err: fmt.Errorf("line longer than %d MiB, skipped", maxLine>>20)})
			default:
				r.line(name, n, line, fn)
			}
		}
		if err == io.EOF {
			return nil
		}
	}
}

// readLine reads up to and without the next newline into buf. A line over
// maxLine is consumed but not kept (tooLong).
func readLine(br *bufio.Reader, buf []byte) (line []byte, tooLong bool, err error) {
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong {
			if len(buf)+len(chunk) > maxLine {
				tooLong, buf = true, buf[:0]
			} else {
				buf = append(buf, chunk...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		return bytes.TrimRight(buf, "\r\n"), tooLong, err
	}
}

// line decodes one line and passes it on when it is a request's last stage
// not seen before.
func (r *Reader) line(name string, n int, line []byte, fn func(*Event)) {
	if len(bytes.TrimSpace(line)) == 0 {
		return
	}
	var ev Event
	if err := json.Unmarshal(line, &ev); err != nil {
		r.Problems = append(r.Problems, &LineError{File: name, Line: n, Err: describe(err, len(line))})
		return
	}
	if err := valid(&ev); err != nil {
		r.Problems = append(r.Problems, &LineError{File: name, Line: n, Err: err})
		return
	}
	watch := ev.Verb == "watch"
	if ev.Stage != StageResponseComplete && ev.Stage != StagePanic && !(watch && ev.Stage == StageResponseStarted) {
		return
	}
	if r.isDuplicate(ev.AuditID) {
		// A watch's two stages are one request, not a copy across files.
		if !watch {
			r.Duplicates++
		}
		return
	}
	r.Events++
	fn(&ev)
}

// describe says why a line is not JSON without quoting it: a decoder's
// message can carry a piece of the line.
func describe(err error, n int) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var tm *time.ParseError
	switch {
	case errors.As(err, &syn) && syn.Offset >= int64(n):
		return errors.New("not a JSON audit event: the line ends part-way (cut short while written?)")
	case errors.As(err, &syn):
		return fmt.Errorf("not a JSON audit event: syntax error at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Errorf("not an audit event: field %q holds a JSON %s", typ.Field, typ.Value)
	case errors.As(err, &tm):
		return errors.New("not an audit event: a timestamp is not RFC 3339")
	}
	return errors.New("not a JSON audit event")
}

// valid checks the fields the report relies on, naming the first missing.
func valid(ev *Event) error {
	switch {
	case ev.Kind != "Event" || ev.APIVersion != "audit.k8s.io/v1":
		return errors.New(`not an audit event: want kind "Event" and apiVersion "audit.k8s.io/v1"`)
	case ev.AuditID == "":
		return errors.New("audit event: field auditID is empty")
	case ev.Stage == "":
		return errors.New("audit event: field stage is empty")
	case ev.Verb == "":
		return errors.New("audit event: field verb is empty")
	case ev.User.Username == "":
		return errors.New("audit event: field user.username is empty")
	}
	return nil
}

// isDuplicate says whether id was seen before, and marks it seen.
func (r *Reader) isDuplicate(id string) bool {
	if u, ok := parseUUID(id); ok {
		if _, dup := r.seen[u]; dup {
			return true
		}
		r.seen[u] = struct{}{}
		return false
	}
	if _, dup := r.seenText[id]; dup {
		return true
	}
	r.seenText[id] = struct{}{}
	return false
}

// parseUUID reads the 8-4-4-4-12 hex form.
func parseUUID(s string) (u [16]byte, ok bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, false
	}
	b := make([]byte, 0, 32)
	b = append(b, s[:8]...)
	b = append(b, s[9:13]...)
	b = append(b, s[14:18]...)
	b = append(b, s[19:23]...)
	b = append(b, s[24:]...)
	if _, err := hex.Decode(u[:], b); err != nil {
		return u, false
	}
	return u, true
}
