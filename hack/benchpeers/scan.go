package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

type scanReport struct {
	Tree    string     `json:"tree"`
	MB      float64    `json:"mb"`
	Compare comparison `json:"comparison"`
	// MB per CPU-second of each tool's median CPU time, and Keyward's over
	// gitleaks'.
	KeywardMBPerCPUSecond float64 `json:"keyward_mb_per_cpu_second"`
	PeerMBPerCPUSecond    float64 `json:"gitleaks_mb_per_cpu_second"`
	Ratio                 float64 `json:"mb_per_cpu_second_ratio"`
	// History is the same comparison over a git history of the tree.
	History historyReport `json:"history"`
	// Accuracy is both tools' precision and recall on the labelled corpora,
	// so speed is never bought with recall.
	Accuracy []accuracy `json:"accuracy"`
}

// benchScan scans the same tree with both tools, each writing its JSON
// report to a file in work; findings do not fail a run, errors do. Never
// /dev/null: gitleaks replaces the file at --report-path, and would leave
// a regular file where the device was.
func benchScan(o options, keyward, gitleaks, work string) (scanReport, error) {
	tree := o.scanTree
	if tree == "" {
		var err error
		if tree, err = kubernetesSource(); err != nil {
			return scanReport{}, err
		}
	}
	progress("scan: reading %s once to size it", tree)
	n, err := treeBytes(tree)
	if err != nil {
		return scanReport{}, fmt.Errorf("sizing %s: %w", tree, err)
	}
	rep := scanReport{Tree: tree, MB: float64(n) / 1e6}
	kw := func() (sample, error) {
		// keyward scan exits 1 when it finds something; 2 is an error.
		return o.launch.run([]string{keyward, "scan", "--format", "json", "--output", filepath.Join(work, "keyward-scan.json"), tree}, "", "", 1)
	}
	gl := func() (sample, error) {
		return o.launch.run([]string{gitleaks, "dir", tree, "--no-banner", "--report-format", "json",
			"--report-path", filepath.Join(work, "gitleaks.json"), "--exit-code", "0"}, "", "")
	}
	kws, gls, err := paired(o.scanRuns, func(i int) {
		progress("scan: %.0f MB, pair %d/%d", rep.MB, i, o.scanRuns)
	}, kw, gl)
	if err != nil {
		return rep, err
	}
	rep.Compare = compare(o.scanRuns, kws, gls)
	// The median of MB per CPU-second is MB over the median CPU time.
	rep.KeywardMBPerCPUSecond = rep.MB / rep.Compare.Keyward.CPUSeconds
	rep.PeerMBPerCPUSecond = rep.MB / rep.Compare.Peer.CPUSeconds
	rep.Ratio = rep.KeywardMBPerCPUSecond / rep.PeerMBPerCPUSecond
	if rep.History, err = benchHistory(o, keyward, gitleaks, tree, work); err != nil {
		return rep, fmt.Errorf("history: %w", err)
	}
	if rep.Accuracy, err = benchAccuracy(o, keyward, gitleaks, work); err != nil {
		return rep, fmt.Errorf("accuracy: %w", err)
	}
	return rep, nil
}

// kubernetesSource is the k8s.io/kubernetes module source at the version
// hack/kubetools pins, downloaded into the module cache if it is not there.
func kubernetesSource() (string, error) {
	progress("scan: locating k8s.io/kubernetes in the module cache (hack/kubetools)")
	cmd := exec.Command("go", "mod", "download", "-json", "k8s.io/kubernetes")
	cmd.Dir = filepath.Join("hack", "kubetools")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download k8s.io/kubernetes in hack/kubetools: %w", err)
	}
	var m struct{ Dir, Error string }
	if err := json.Unmarshal(out, &m); err != nil {
		return "", fmt.Errorf("reading go mod download's answer: %w", err)
	}
	if m.Dir == "" {
		return "", fmt.Errorf("go mod download k8s.io/kubernetes: %s", m.Error)
	}
	return m.Dir, nil
}
