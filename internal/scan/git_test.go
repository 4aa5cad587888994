package scan_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/keyward/keyward/internal/scan"
	"github.com/keyward/keyward/internal/scan/source"
)

func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Ada", "GIT_AUTHOR_EMAIL=ada@example.com",
		"GIT_COMMITTER_NAME=Ada", "GIT_COMMITTER_EMAIL=ada@example.com", "HOME="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// TestGitHistoryAndStaged: a secret deleted in a later commit, one on
// another branch, and one only staged, each found by the right source.
func TestGitHistoryAndStaged(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	dir := t.TempDir()
	write := func(name, content string) {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git(t, dir, "init", "-q", "-b", "main")
	write("a.env", "X=1\nAWS_ID="+awsID+"\n")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "one")
	write("a.env", "X=1\n")
	git(t, dir, "commit", "-q", "-am", "two")
	git(t, dir, "checkout", "-q", "-b", "side")
	write("b/secret.yaml", "kind: Secret\nstringData:\n  token: q8Vd2LmZ0xR7tNw4Kp9s\n")
	write("b/kubeconfig", "kind: Config\nclusters: []\nusers:\n- name: a\n  user:\n    token: r8Vd2LmZ0xR7tNw4Kp9s\n")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "side")
	git(t, dir, "checkout", "-q", "main")
	write("c.env", "\n\nGITHUB_TOKEN="+ghToken()+"\n")
	git(t, dir, "add", "c.env")

	s := newScanner(t)
	var got []string
	err := s.Git(context.Background(), source.GitOptions{Repo: dir}, nil, func(f scan.Finding) {
		got = append(got, f.File+":"+itoa(f.StartLine)+":"+f.Rule+":"+f.Commit.Message)
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"a.env:2:aws-access-key-id:one": true, "b/secret.yaml:3:kubernetes-secret:side": true,
		"b/kubeconfig:6:kubeconfig-credential:side": true}
	ok := len(got) == len(want)
	for _, g := range got {
		ok = ok && want[g]
	}
	if !ok {
		t.Errorf("history: got %v", got)
	}
	if s.Stats.Commits.Load() != 3 {
		t.Errorf("%d commits scanned, want 3", s.Stats.Commits.Load())
	}

	got = nil
	err = newScanner(t).Staged(context.Background(), dir, nil, func(f scan.Finding) {
		got = append(got, f.File+":"+itoa(f.StartLine)+":"+f.Rule)
	})
	if err != nil || len(got) != 1 || got[0] != "c.env:3:github-token" {
		t.Errorf("staged: got %v, %v", got, err)
	}
}
