package logging

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	tests := []struct {
		name      string
		format    string
		verbosity int
		together  bool // Info and Error are the same writer
		// Expected lines on each writer, in order.
		info, errs []string
	}{
		{
			name: "json: info records apart from errors", format: "json",
			info: []string{`{"logger":"sealedsecret","level":0,"msg":"unsealed","namespace":"prod","n":1}`},
			errs: []string{`{"logger":"sealedsecret","msg":"failed","error":"boom","namespace":"prod"}`},
		},
		{
			name: "text: info records apart from errors", format: "text",
			info: []string{`sealedsecret "level"=0 "msg"="unsealed" "namespace"="prod" "n"=1`},
			errs: []string{`sealedsecret "msg"="failed" "error"="boom" "namespace"="prod"`},
		},
		{
			name: "json: everything on one writer, in order", format: "json", together: true,
			errs: []string{
				`{"logger":"sealedsecret","level":0,"msg":"unsealed","namespace":"prod","n":1}`,
				`{"logger":"sealedsecret","msg":"failed","error":"boom","namespace":"prod"}`,
			},
		},
		{
			name: "debug records at verbosity 10", format: "json", verbosity: 10,
			info: []string{
				`{"logger":"sealedsecret","level":0,"msg":"unsealed","namespace":"prod","n":1}`,
				`{"logger":"sealedsecret","level":1,"msg":"detail","namespace":"prod"}`,
			},
			errs: []string{`{"logger":"sealedsecret","msg":"failed","error":"boom","namespace":"prod"}`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var info, errs bytes.Buffer
			o := Options{Format: tt.format, Verbosity: tt.verbosity, Info: &info, Error: &errs}
			if tt.together {
				o.Info = &errs
			}
			log, err := New(o)
			if err != nil {
				t.Fatal(err)
			}
			log = log.WithName("sealedsecret").WithValues("namespace", "prod")
			log.Info("unsealed", "n", 1)
			log.V(1).Info("detail")
			log.Error(errors.New("boom"), "failed")
			if got := lines(info.String()); !equal(got, tt.info) {
				t.Errorf("info writer:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.info, "\n"))
			}
			if got := lines(errs.String()); !equal(got, tt.errs) {
				t.Errorf("error writer:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.errs, "\n"))
			}
			if tt.format == "json" {
				for _, l := range append(lines(info.String()), lines(errs.String())...) {
					if !json.Valid([]byte(l)) {
						t.Errorf("not one JSON object: %s", l)
					}
				}
			}
		})
	}
}

// Loggers derived from one another keep their own names and values.
func TestNewDerivedLoggersAreIndependent(t *testing.T) {
	var out bytes.Buffer
	log, err := New(Options{Format: "json", Info: &out, Error: &out})
	if err != nil {
		t.Fatal(err)
	}
	a := log.WithName("a").WithValues("k", "a")
	b := log.WithName("b")
	a.Info("one")
	b.Info("two")
	log.Info("three")
	want := []string{
		`{"logger":"a","level":0,"msg":"one","k":"a"}`,
		`{"logger":"b","level":0,"msg":"two"}`,
		`{"logger":"","level":0,"msg":"three"}`,
	}
	if got := lines(out.String()); !equal(got, want) {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestNewRefusesUnknownFormat(t *testing.T) {
	if _, err := New(Options{Format: "xml"}); err == nil || !strings.Contains(err.Error(), `"xml"`) {
		t.Fatalf("err = %v, want one naming the format", err)
	}
}

func lines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
