package main

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

type sealReport struct {
	Certificate string     `json:"certificate"`
	One         comparison `json:"one_secret"`
	Stream      comparison `json:"stream"`
	StreamLen   int        `json:"stream_secrets"`
}

// comparison is one figure for both tools. Speedup is the peer's median
// wall time over Keyward's (above 1: Keyward is faster); MemoryRatio is
// Keyward's median peak RSS over the peer's (below 1: Keyward is smaller).
type comparison struct {
	Runs        int     `json:"paired_runs"`
	Keyward     summary `json:"keyward"`
	Peer        summary `json:"peer"`
	Speedup     float64 `json:"speedup"`
	CPURatio    float64 `json:"cpu_speedup"`
	MemoryRatio float64 `json:"memory_ratio"`
}

func compare(runs int, kw, peer []sample) comparison {
	c := comparison{Runs: runs, Keyward: summarize(kw), Peer: summarize(peer)}
	c.Speedup = c.Peer.WallSeconds / c.Keyward.WallSeconds
	c.CPURatio = c.Peer.CPUSeconds / c.Keyward.CPUSeconds
	c.MemoryRatio = c.Keyward.PeakRSSMiB / c.Peer.PeakRSSMiB
	return c
}

// benchSeal seals with both tools from the same certificate file (an
// RSA-4096 one made by keyward keygen), one Secret and then a stream.
func benchSeal(o options, keyward, kubeseal, work string) (sealReport, error) {
	rep := sealReport{Certificate: "RSA-4096, keyward keygen", StreamLen: o.streamLen}
	cert := filepath.Join(work, "cert.pem")
	progress("seal: generating an RSA-4096 certificate with keyward keygen")
	if _, err := o.launch.run([]string{keyward, "keygen", "--cert-out", cert, "-w", filepath.Join(work, "key.yaml")}, "", ""); err != nil {
		return rep, err
	}
	one := filepath.Join(work, "one.yaml")
	stream := filepath.Join(work, "stream.yaml")
	if err := os.WriteFile(one, []byte(secrets(1)), 0o600); err != nil {
		return rep, err
	}
	if err := os.WriteFile(stream, []byte(secrets(o.streamLen)), 0o600); err != nil {
		return rep, err
	}

	measure := func(name string, in string, n int) (comparison, error) {
		seal := func(argv []string, out string) func() (sample, error) {
			return func() (sample, error) {
				s, err := o.launch.run(argv, in, out)
				if err != nil {
					return s, err
				}
				return s, countOutput(out, "kind: SealedSecret", n)
			}
		}
		kw := seal([]string{keyward, "seal", "--cert", cert, "-o", "yaml"}, filepath.Join(work, "keyward.out"))
		ks := seal([]string{kubeseal, "--cert", cert, "-o", "yaml"}, filepath.Join(work, "kubeseal.out"))
		kws, kss, err := paired(o.sealRuns, func(i int) {
			progress("seal: %s, pair %d/%d", name, i, o.sealRuns)
		}, kw, ks)
		if err != nil {
			return comparison{}, err
		}
		return compare(o.sealRuns, kws, kss), nil
	}
	var err error
	if rep.One, err = measure("one Secret", one, 1); err != nil {
		return rep, err
	}
	if rep.Stream, err = measure(fmt.Sprintf("a stream of %d Secrets", o.streamLen), stream, o.streamLen); err != nil {
		return rep, err
	}
	return rep, nil
}

// secrets is a YAML stream of n Opaque Secrets with two items each, as
// kubectl create secret --dry-run=client -o yaml writes them.
func secrets(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `---
apiVersion: v1
kind: Secret
metadata:
  name: app-%04d
  namespace: bench
type: Opaque
data:
  username: YXBwLXVzZXI=
  password: %s
`, i, base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("correct-horse-battery-staple-%04d", i))))
	}
	return b.String()
}
