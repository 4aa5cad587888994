package corpus

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestLoad(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       Labels
		err        bool
	}{
		{"labels and negatives", "# header\n\na/b.env:3 aws-access-key-id  # note\na/b.env:4 -\n",
			Labels{Want: map[Loc]string{{"a/b.env", 3}: "aws-access-key-id"}, Negative: map[Loc]bool{{"a/b.env", 4}: true}}, false},
		{"twice", "a:1 x\na:1 -\n", Labels{}, true},
		{"no rule", "a:1\n", Labels{}, true},
		{"bad line", "a:0 x\n", Labels{}, true},
		{"no line", "a x\n", Labels{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "labels.txt")
			if err := os.WriteFile(p, []byte(tc.text), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := Load(p)
			if (err != nil) != tc.err {
				t.Fatalf("err = %v, want error %v", err, tc.err)
			}
			if !tc.err && !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestScore(t *testing.T) {
	l := Labels{
		Want:     map[Loc]string{{"f", 1}: "a", {"f", 2}: "b", {"f", 3}: "c", {"g", 1}: "d"},
		Negative: map[Loc]bool{{"f", 9}: true},
	}
	fs := []Finding{
		{Loc{"f", 1}, "a"}, {Loc{"f", 1}, "a"}, // found, reported twice
		{Loc{"f", 2}, "x"},                     // wrong rule
		{Loc{"f", 3}, "c"}, {Loc{"f", 3}, "y"}, // found, plus another rule
		{Loc{"f", 9}, "z"}, // hard negative
		{Loc{"h", 5}, "z"}, // elsewhere
	}
	for _, tc := range []struct {
		name      string
		matchRule bool
		found     int
		wrong     int
		falses    int
		missed    []Loc
		precision float64
	}{
		{"rules matched", true, 2, 2, 2, []Loc{{"f", 2}, {"g", 1}}, 2.0 / 6},
		{"any rule", false, 3, 0, 2, []Loc{{"g", 1}}, 3.0 / 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Score(l, fs, tc.matchRule)
			if r.Found != tc.found || len(r.Wrong) != tc.wrong || len(r.False) != tc.falses || r.FalseHard != 1 {
				t.Errorf("found %d wrong %d false %d (hard %d), want %d %d %d (1)", r.Found, len(r.Wrong), len(r.False), r.FalseHard, tc.found, tc.wrong, tc.falses)
			}
			if !reflect.DeepEqual(r.Missed, tc.missed) {
				t.Errorf("missed %v, want %v", r.Missed, tc.missed)
			}
			if r.Precision() != tc.precision || r.Recall() != float64(tc.found)/4 {
				t.Errorf("precision %v recall %v, want %v %v", r.Precision(), r.Recall(), tc.precision, float64(tc.found)/4)
			}
		})
	}
}

func TestRelative(t *testing.T) {
	if got, ok := Relative("/c/root", "/c/root/a/b.yaml"); !ok || got != "a/b.yaml" {
		t.Errorf("got %q %v", got, ok)
	}
	if _, ok := Relative("/c/root", "/c/other/x"); ok {
		t.Error("a path outside the root was accepted")
	}
}
