package source

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckRevision(t *testing.T) {
	tests := []struct {
		rev     string
		wantErr string
	}{
		{"main", ""},
		{"origin/main", ""},
		{"v1.2.3^{commit}", ""},
		{"HEAD~3", ""},
		{"a-b", ""},
		{"", "empty revision"},
		{"--output=/tmp/x", `starts with "-"`},
		{"-p", `starts with "-"`},
		{"--all", `starts with "-"`},
		{"main\n--output=x", "control character"},
		{"main\x00", "control character"},
	}
	for _, tt := range tests {
		err := CheckRevision(tt.rev)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("CheckRevision(%q) = %v", tt.rev, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("CheckRevision(%q) = %v, want %q", tt.rev, err, tt.wantErr)
		}
	}
}

// Log never hands git a --since value it would take for an option: the
// --output file is not written and the error names the flag.
func TestLogSinceIsNeverAnOption(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatalf("git is needed: %v", err)
	}
	dir := t.TempDir()
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=A", "GIT_AUTHOR_EMAIL=a@example.com",
			"GIT_COMMITTER_NAME=A", "GIT_COMMITTER_EMAIL=a@example.com", "HOME="+dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	run("init", "-q", "-b", "main")
	if err := os.WriteFile(filepath.Join(dir, "a"), []byte("one\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run("add", "a")
	run("commit", "-q", "-m", "one")
	run("tag", "base")
	if err := os.WriteFile(filepath.Join(dir, "a"), []byte("one\ntwo\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run("commit", "-q", "-am", "two")

	out := filepath.Join(t.TempDir(), "written")
	for _, since := range []string{"--output=" + out, "-o" + out, "--all"} {
		err := Log(context.Background(), GitOptions{Repo: dir, Since: since}, func(*Diff) error { return nil })
		if err == nil || !strings.Contains(err.Error(), `--since: revision`) || !strings.Contains(err.Error(), `starts with "-"`) {
			t.Fatalf("Since %q: err = %v", since, err)
		}
		matches, _ := filepath.Glob(out + "*")
		if len(matches) > 0 {
			t.Fatalf("Since %q: git wrote %v", since, matches)
		}
	}

	// Even without the check, git reads the value after --end-of-options
	// as a revision: it fails to resolve it and writes nothing.
	cmd := exec.Command("git", logArgs(GitOptions{Repo: dir, Since: "--output=" + out})...)
	if b, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("git took an option-looking revision: %s", b)
	}
	if matches, _ := filepath.Glob(out + "*"); len(matches) > 0 {
		t.Fatalf("git was given --output: wrote %v", matches)
	}

	// A real revision still works, after --end-of-options.
	var added []string
	err := Log(context.Background(), GitOptions{Repo: dir, Since: "base"}, func(d *Diff) error {
		added = append(added, string(d.Text))
		return nil
	})
	if err != nil || len(added) != 1 || added[0] != "two\n" {
		t.Fatalf("Since base: %q %v", added, err)
	}
}
