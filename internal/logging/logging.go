// Package logging builds the controller's logger: funcr's formatting (JSON
// or text) with info records and errors sent to different writers, as
// Bitnami's --log-info-stdout does (info to stdout, errors to stderr).
package logging

import (
	"fmt"
	"io"
	"sync"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
)

// Options configure New.
type Options struct {
	// Format is "json" (one object per line) or "text" (key=value pairs).
	Format string
	// Verbosity is the highest V level written (0: info records only).
	Verbosity int
	// Info receives info records, Error error records. They may be the
	// same writer; each record is one Write.
	Info, Error io.Writer
}

// New returns a logger writing as o says.
func New(o Options) (logr.Logger, error) {
	fo := funcr.Options{Verbosity: o.Verbosity}
	var f funcr.Formatter
	switch o.Format {
	case "json":
		f = funcr.NewFormatterJSON(fo)
	case "text":
		f = funcr.NewFormatter(fo)
	default:
		return logr.Logger{}, fmt.Errorf("log format %q: must be json or text", o.Format)
	}
	return logr.New(&sink{Formatter: f, out: &output{info: o.Info, err: o.Error}}), nil
}

// output serialises the records of every logger derived from one New.
type output struct {
	mu        sync.Mutex
	info, err io.Writer
}

func (o *output) write(w io.Writer, prefix, args string) {
	line := args
	if prefix != "" { // text format: the logger's name
		line = prefix + " " + args
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	_, _ = io.WriteString(w, line+"\n")
}

// sink is a logr.LogSink on funcr's Formatter. Values, not pointers, are
// copied by WithName and WithValues, as funcr's own sink does.
type sink struct {
	funcr.Formatter
	out *output
}

var (
	_ logr.LogSink          = (*sink)(nil)
	_ logr.CallDepthLogSink = (*sink)(nil)
)

func (s *sink) Info(level int, msg string, kvList ...any) {
	prefix, args := s.FormatInfo(level, msg, kvList)
	s.out.write(s.out.info, prefix, args)
}

func (s *sink) Error(err error, msg string, kvList ...any) {
	prefix, args := s.FormatError(err, msg, kvList)
	s.out.write(s.out.err, prefix, args)
}

func (s sink) WithName(name string) logr.LogSink {
	s.AddName(name)
	return &s
}

func (s sink) WithValues(kvList ...any) logr.LogSink {
	s.AddValues(kvList)
	return &s
}

func (s sink) WithCallDepth(depth int) logr.LogSink {
	s.AddCallDepth(depth)
	return &s
}
