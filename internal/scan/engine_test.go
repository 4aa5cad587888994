package scan_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/scan"
	"github.com/keyward/keyward/internal/scan/rules"
)

const awsID = "AKIAZ5XQ7RBK2JMWNOP4"

func scanText(t *testing.T, path, text string) []scan.Finding {
	t.Helper()
	e, err := scan.NewEngine(rules.Builtin(), nil, scan.Allowlist{})
	if err != nil {
		t.Fatal(err)
	}
	return e.Scan(&scan.Fragment{Path: path, Text: []byte(text), Full: []byte(text)})
}

func TestEngine(t *testing.T) {
	tests := []struct {
		name, path, text string
		want             []string // rule@line
	}{
		{"specific beats generic", "a.env", "AWS_KEY=x\nGITHUB_TOKEN=" + ghToken() + "\n", []string{"github-token@2"}},
		{"bad checksum claims its bytes", "a.env", "GITHUB_TOKEN=ghp_q8Vd2LmZ0xR7tNw4Kp9sq8Vd2LmZ0xR7tNw4\n", nil},
		{"inline allow", "a.env", "id=" + awsID + " # keyward:allow\nid2=" + awsID + "\n", []string{"aws-access-key-id@2"}},
		{"secret in SealedSecret is quiet", "s.yaml", "kind: SealedSecret\nspec:\n  encryptedData:\n    password: AgBy3i4OJSWK+PiTySYZZAq8Vd2LmZ0x\n", nil},
		{"kube finding replaces generic", "s.yaml", "kind: Secret\nstringData:\n  password: Xk9#mQ2vLp7zz\n", []string{"kubernetes-secret@3"}},
		{"two keys on one line", "a.json", `{"a":"` + awsID + `","b":"` + strings.Replace(awsID, "Z5", "Q7", 1) + `"}`, []string{"aws-access-key-id@1", "aws-access-key-id@1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, f := range scanText(t, tt.path, tt.text) {
				got = append(got, f.Rule+"@"+itoa(f.StartLine))
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestManyPrivateKeysInOneFile(t *testing.T) {
	key := mustRead(t, "testdata/corpus/certs/server.key")
	var b strings.Builder
	for range 20 {
		b.WriteString("// key\n")
		b.Write(key)
	}
	if got := len(scanText(t, "keys.go", b.String())); got != 20 {
		t.Fatalf("%d findings, want 20", got)
	}
}

// TestChunkBoundary plants secrets across chunk boundaries of a big stream:
// each is found once, on its own line.
func TestChunkBoundary(t *testing.T) {
	key := mustRead(t, "testdata/corpus/certs/legacy.pem")
	var b bytes.Buffer
	want := map[int]bool{}
	line := 1
	for b.Len() < 3<<20 {
		if line%5000 == 0 {
			want[line] = true
			b.WriteString("aws_id = " + awsID + "\n")
			line++
			continue
		}
		if line%7919 == 0 {
			want[line] = true
			b.Write(key)
			line += bytes.Count(key, []byte("\n"))
			continue
		}
		b.WriteString("some ordinary text that mentions a key and a token in passing\n")
		line++
	}
	e, _ := scan.NewEngine(rules.Builtin(), nil, scan.Allowlist{})
	s := scan.New(scan.ScannerOptions{Engine: e, ChunkSize: 64 << 10, Overlap: 8 << 10})
	got := map[int]int{}
	err := s.Files(context.Background(), []scan.Input{{Path: "-", Reader: &b}}, nil, func(f scan.Finding) { got[f.StartLine]++ })
	if err != nil {
		t.Fatal(err)
	}
	for l := range want {
		if got[l] != 1 {
			t.Errorf("line %d found %d times", l, got[l])
		}
	}
	for l := range got {
		if !want[l] {
			t.Errorf("unexpected finding at line %d", l)
		}
	}
}

func TestRedacted(t *testing.T) {
	f := scan.Finding{Secret: ghToken(), Public: 4}
	if f.Redacted() != "ghp_*****" {
		t.Errorf("Redacted = %q", f.Redacted())
	}
	if (scan.Finding{Secret: "short", Public: 4}).Redacted() != "*****" {
		t.Error("short secret shows its prefix")
	}
}

func ghToken() string {
	body := "q8Vd2LmZ0xR7tNw4Kp9sq8Vd2LmZ0x"
	return "ghp_" + body + rules.Base62CRC32(body)
}
