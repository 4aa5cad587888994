package main

import (
	"fmt"
	"io"
)

type report struct {
	Command string            `json:"command"`
	Date    string            `json:"date"`
	Machine machineInfo       `json:"machine"`
	Tools   map[string]string `json:"tools"`
	Seal    sealReport        `json:"seal"`
	Scan    scanReport        `json:"scan"`
	// ExternalSecrets compares with the External Secrets Operator.
	ExternalSecrets esReport `json:"external_secrets"`
	// Unseal compares with Bitnami's controller.
	Unseal      unsealReport `json:"unseal"`
	Targets     []target     `json:"targets"`
	NotMeasured []string     `json:"not_measured"`
}

// target is one of the targets against this run's figure.
type target struct {
	Section string  `json:"section"`
	Name    string  `json:"name"`
	Want    string  `json:"want"`
	Got     float64 `json:"got"`
	Unit    string  `json:"unit"`
	Met     bool    `json:"met"`
}

func targets(r report) []target {
	ts := []target{
		{Section: "seal", Name: "seal one Secret: no slower than kubeseal", Want: ">= 1", Unit: "× kubeseal's speed",
			Got: r.Seal.One.Speedup, Met: r.Seal.One.Speedup >= 1},
		{Section: "seal", Name: "seal one Secret: no bigger than kubeseal", Want: "<= 1", Unit: "× kubeseal's peak RSS",
			Got: r.Seal.One.MemoryRatio, Met: r.Seal.One.MemoryRatio <= 1},
		{Section: "seal", Name: fmt.Sprintf("seal a stream of %d Secrets: at least 3× faster", r.Seal.StreamLen), Want: ">= 3",
			Unit: "× kubeseal's speed", Got: r.Seal.Stream.Speedup, Met: r.Seal.Stream.Speedup >= 3},
		{Section: "scan", Name: "scan: at least 20× gitleaks' MB per CPU-second", Want: ">= 20", Unit: "× gitleaks'",
			Got: r.Scan.Ratio, Met: r.Scan.Ratio >= 20},
		{Section: "externalsecrets", Name: "ExternalSecrets: at least 6× ESO's speed", Want: ">= 6", Unit: "× ESO's speed",
			Got: r.ExternalSecrets.Speedup, Met: r.ExternalSecrets.Speedup >= 6},
		{Section: "externalsecrets", Name: "ExternalSecrets: at most 1/10 of ESO's Vault reads", Want: "<= 0.1", Unit: "× ESO's reads",
			Got: r.ExternalSecrets.ReadsRatio, Met: r.ExternalSecrets.ReadsRatio <= 0.1},
		{Section: "scan", Name: "scan history: at least 20× gitleaks' MB per CPU-second", Want: ">= 20", Unit: "× gitleaks'",
			Got: r.Scan.History.Ratio, Met: r.Scan.History.Ratio >= 20},
	}
	for _, a := range r.Scan.Accuracy {
		ts = append(ts, target{Section: "scan", Name: fmt.Sprintf("scan recall on the %s corpus: no lower than gitleaks'", a.Set),
			Want: fmt.Sprintf(">= %.3f", a.Gitleaks.Recall), Unit: "recall", Got: a.Keyward.Recall, Met: a.Keyward.Recall >= a.Gitleaks.Recall})
		for _, m := range []struct {
			name string
			got  float64
		}{{"precision", a.Keyward.Precision}, {"recall", a.Keyward.Recall}} {
			ts = append(ts, target{Section: "scan", Name: fmt.Sprintf("scan %s on the %s corpus", m.name, a.Set),
				Want: ">= 0.97", Unit: m.name, Got: m.got, Met: m.got >= 0.97})
		}
	}
	return append(ts, unsealTargets(&r.Unseal)...)
}

func printReport(w io.Writer, r report) {
	fmt.Fprintf(w, "bench-peers %s on %d CPUs (%s), %s/%s\n", r.Date, r.Machine.CPUs, r.Machine.CPU, r.Machine.OS, r.Machine.Arch)
	for _, t := range []string{"keyward", "kubeseal", "gitleaks", "eso", "bitnami"} {
		fmt.Fprintf(w, "  %-9s %s\n", t, r.Tools[t])
	}

	if r.Seal.One.Runs > 0 {
		printSealSection(w, r)
	}
	if r.Scan.Compare.Runs > 0 {
		printScanSection(w, r)
	}
	if r.ExternalSecrets.ExternalSecrets > 0 {
		printExternalSecrets(w, r.ExternalSecrets)
	}
	if len(r.Unseal.Runs) > 0 {
		printUnseal(w, &r.Unseal)
	}

	fmt.Fprintln(w, "\ntargets")
	for _, t := range r.Targets {
		verdict := "MISS"
		if t.Met {
			verdict = "PASS"
		}
		fmt.Fprintf(w, "  %s  %-52s %.3f %s (want %s)\n", verdict, t.Name, t.Got, t.Unit, t.Want)
	}
	if len(r.NotMeasured) > 0 {
		fmt.Fprintln(w, "\nnot measured")
		for _, m := range r.NotMeasured {
			fmt.Fprintf(w, "  - %s\n", m)
		}
	}
}

func printSealSection(w io.Writer, r report) {
	fmt.Fprintf(w, "\nseal (%s certificate, -o yaml, medians of %d paired runs)\n", r.Seal.Certificate, r.Seal.One.Runs)
	fmt.Fprintf(w, "  %-36s %12s %12s %10s\n", "", "keyward", "kubeseal", "ratio")
	printSeal(w, "one Secret", r.Seal.One, false)
	printSeal(w, fmt.Sprintf("stream of %d Secrets", r.Seal.StreamLen), r.Seal.Stream, true)
}

func printScanSection(w io.Writer, r report) {
	s := r.Scan
	fmt.Fprintf(w, "\nscan of %s (%.1f MB, JSON report to a file, medians of %d paired runs)\n", s.Tree, s.MB, s.Compare.Runs)
	fmt.Fprintf(w, "  %-36s %12s %12s %10s\n", "", "keyward", "gitleaks", "ratio")
	fmt.Fprintf(w, "  %-36s %12.1f %12.2f %9.1f×\n", "MB per CPU-second", s.KeywardMBPerCPUSecond, s.PeerMBPerCPUSecond, s.Ratio)
	fmt.Fprintf(w, "  %-36s %12.2f %12.2f %9.1f×\n", "CPU seconds", s.Compare.Keyward.CPUSeconds, s.Compare.Peer.CPUSeconds, s.Compare.CPURatio)
	fmt.Fprintf(w, "  %-36s %12.2f %12.2f %9.1f×\n", "wall seconds", s.Compare.Keyward.WallSeconds, s.Compare.Peer.WallSeconds, s.Compare.Speedup)
	fmt.Fprintf(w, "  %-36s %12.1f %12.1f %9.2f×\n", "peak RSS MiB", s.Compare.Keyward.PeakRSSMiB, s.Compare.Peer.PeakRSSMiB, s.Compare.MemoryRatio)
	fmt.Fprintln(w, "  (time ratios: the peer's over Keyward's, above 1 is Keyward faster; RSS ratio: Keyward's over the peer's, below 1 is Keyward smaller)")
	h := s.History
	fmt.Fprintf(w, "\nscan of a git history: %d commits, %.1f MB of added lines (keyward scan --git vs gitleaks git, medians of %d paired runs)\n",
		h.Commits, h.MB, h.Compare.Runs)
	fmt.Fprintf(w, "  repository %s\n", h.Made)
	fmt.Fprintf(w, "  %-36s %12s %12s %10s\n", "", "keyward", "gitleaks", "ratio")
	fmt.Fprintf(w, "  %-36s %12.1f %12.2f %9.1f×\n", "MB per CPU-second", h.KeywardMBPerCPUSecond, h.PeerMBPerCPUSecond, h.Ratio)
	fmt.Fprintf(w, "  %-36s %12.2f %12.2f %9.1f×\n", "CPU seconds", h.Compare.Keyward.CPUSeconds, h.Compare.Peer.CPUSeconds, h.Compare.CPURatio)
	fmt.Fprintf(w, "  %-36s %12.2f %12.2f %9.1f×\n", "wall seconds", h.Compare.Keyward.WallSeconds, h.Compare.Peer.WallSeconds, h.Compare.Speedup)
	fmt.Fprintf(w, "  %-36s %12.1f %12.1f %9.2f×\n", "peak RSS MiB", h.Compare.Keyward.PeakRSSMiB, h.Compare.Peer.PeakRSSMiB, h.Compare.MemoryRatio)
	fmt.Fprintln(w, "  (peak RSS is the largest process of each tool's process tree; in history mode that may be its git)")

	fmt.Fprintln(w, "\nscan accuracy on the labelled corpora of internal/scan/testdata (keyward must name the labelled rule; gitleaks any rule at the line)")
	fmt.Fprintf(w, "  %-36s %12s %12s %12s %12s\n", "", "keyward P", "keyward R", "gitleaks P", "gitleaks R")
	for _, a := range s.Accuracy {
		fmt.Fprintf(w, "  %-36s %12.3f %12.3f %12.3f %12.3f\n", fmt.Sprintf("%s: %d credentials, %d hard neg.", a.Set, a.Credentials, a.HardNegatives),
			a.Keyward.Precision, a.Keyward.Recall, a.Gitleaks.Precision, a.Gitleaks.Recall)
		fmt.Fprintf(w, "  %-36s %25s %25s\n", "", fmt.Sprintf("%d missed, %d wrong, %d false", a.Keyward.Missed, a.Keyward.WrongRule, a.Keyward.FalsePositives),
			fmt.Sprintf("%d missed, %d false", a.Gitleaks.Missed, a.Gitleaks.FalsePositives))
	}
}

func printSeal(w io.Writer, name string, c comparison, cpu bool) {
	fmt.Fprintf(w, "  %-36s %12.1f %12.1f %9.2f×\n", name+": wall ms", c.Keyward.WallSeconds*1000, c.Peer.WallSeconds*1000, c.Speedup)
	if cpu {
		fmt.Fprintf(w, "  %-36s %12.3f %12.3f %9.2f×\n", name+": CPU s", c.Keyward.CPUSeconds, c.Peer.CPUSeconds, c.CPURatio)
	}
	fmt.Fprintf(w, "  %-36s %12.1f %12.1f %9.2f×\n", name+": peak RSS MiB", c.Keyward.PeakRSSMiB, c.Peer.PeakRSSMiB, c.MemoryRatio)
}

func printExternalSecrets(w io.Writer, r esReport) {
	fmt.Fprintf(w, "\nExternalSecrets: %d over %d Vault keys, from the apply to all Ready (%s)\n", r.ExternalSecrets, r.VaultKeys, r.Setup)
	fmt.Fprintf(w, "  %-36s %12s %12s %10s\n", "", "keyward", "eso", "ratio")
	e, k := r.ESO, r.Keyward
	fmt.Fprintf(w, "  %-36s %12.1f %12.1f %9.1f×\n", "seconds to all Ready", k.SecondsAllReady, e.SecondsAllReady, r.Speedup)
	fmt.Fprintf(w, "  %-36s %12d %12d %9.3f×\n", "Vault reads (audit log)", k.VaultReads, e.VaultReads, r.ReadsRatio)
	fmt.Fprintf(w, "  %-36s %12d %12d\n", "Vault logins (after the store was Ready)", k.VaultLogins, e.VaultLogins)
	fmt.Fprintf(w, "  %-36s %12.1f %12.1f\n", "controller CPU seconds (whole run)", k.CPUSeconds, e.CPUSeconds)
	fmt.Fprintf(w, "  %-36s %12.1f %12.1f\n", "controller peak RSS MiB", k.PeakRSSMiB, e.PeakRSSMiB)
	fmt.Fprintln(w, "  (time ratio: ESO's over Keyward's; reads ratio: Keyward's over ESO's)")
}
