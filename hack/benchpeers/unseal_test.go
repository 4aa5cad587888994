package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

func TestSelectRuns(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{in: "keyward", want: []string{runKeyward}},
		// Always in the order that shows the short runs first.
		{in: "bitnami-defaults,keyward", want: []string{runKeyward, runBitnamiDefaults}},
		{in: "bitnami-defaults, bitnami-no-limiter,keyward,keyward", want: unsealRunOrder},
		{in: "kubeseal", wantErr: true},
		{in: "", wantErr: true},
	} {
		got, err := selectRuns(tc.in)
		if (err != nil) != tc.wantErr || !slices.Equal(got, tc.want) {
			t.Errorf("selectRuns(%q) = %v, %v; want %v (error: %v)", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestUnsealRatiosAndTargets(t *testing.T) {
	for _, tc := range []struct {
		name  string
		runs  []unsealRun
		met   map[string]bool
		ratio float64 // RSSRatio
	}{
		{
			name: "all three, every target met",
			runs: []unsealRun{
				{Name: runKeyward, Seconds: 20, PeakRSSMiB: 50, PeakAnonMiB: 30, PeakWorkingSetMiB: 31, CPUPerDecryption: 1.1},
				{Name: runBitnamiNoLimit, Seconds: 60, PeakRSSMiB: 500, PeakAnonMiB: 450, PeakWorkingSetMiB: 460},
				{Name: runBitnamiDefaults, Seconds: 1200, PeakRSSMiB: 560, PeakAnonMiB: 480, PeakWorkingSetMiB: 470},
			},
			met: map[string]bool{"50× Bitnami": true, "2.5× Bitnami": true, "CPU per SealedSecret": true,
				"peak RSS (no page release)": true, "1/9 of Bitnami's": true, "anonymous": true},
			ratio: 0.1, // over the smaller of Bitnami's peaks
		},
		{
			name: "Keyward too slow and too big",
			runs: []unsealRun{
				{Name: runKeyward, Seconds: 30, PeakRSSMiB: 80, PeakAnonMiB: 40, PeakWorkingSetMiB: -1, CPUPerDecryption: 1.5},
				{Name: runBitnamiNoLimit, Seconds: 60, PeakRSSMiB: 400, PeakAnonMiB: 380, PeakWorkingSetMiB: -1},
			},
			met: map[string]bool{"2.5× Bitnami": false, "CPU per SealedSecret": false,
				"peak RSS (no page release)": false, "1/9 of Bitnami's": false, "anonymous": false},
			ratio: 0.2,
		},
		{
			name: "Bitnami alone: no ratio, no target",
			runs: []unsealRun{{Name: runBitnamiDefaults, Seconds: 1200, PeakRSSMiB: 560}},
			met:  map[string]bool{},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := &unsealReport{SealedSecrets: 2000, Runs: tc.runs}
			u.ratios()
			if d := u.RSSRatio - tc.ratio; d > 1e-9 || d < -1e-9 {
				t.Errorf("RSS ratio %v, want %v", u.RSSRatio, tc.ratio)
			}
			ts := unsealTargets(u)
			if len(ts) != len(tc.met) {
				t.Errorf("%d targets, want %d: %+v", len(ts), len(tc.met), ts)
			}
			for part, want := range tc.met {
				found := false
				for _, tg := range ts {
					if strings.Contains(tg.Name, part) {
						found = true
						if tg.Met != want {
							t.Errorf("target %q met=%v (got %v), want %v", tg.Name, tg.Met, tg.Got, want)
						}
					}
				}
				if !found {
					t.Errorf("no target naming %q in %+v", part, ts)
				}
			}
			var out bytes.Buffer
			printUnseal(&out, u)
			if !strings.Contains(out.String(), "peak RSS MiB") {
				t.Errorf("printed section lacks the peak RSS row:\n%s", out.String())
			}
		})
	}
}

func TestMakeFloor(t *testing.T) {
	f := makeFloor([]float64{9, 5, 6, 7, 30}, 2000)
	if f.DecryptionMs != 7 || f.Samples != 5 {
		t.Fatalf("floor %+v: want the median, 7 ms, of 5 samples", f)
	}
	if want := 7.0 / 1000 * 2000 / float64(f.CPUs); f.Seconds != want {
		t.Errorf("floor %.3f s, want %.3f (one decryption × 2000 ÷ %d CPUs)", f.Seconds, want, f.CPUs)
	}
}
