package proc

import (
	"os/exec"
	"runtime"
	"testing"
	"time"
)

// A child started by Start outlives a thread that some other goroutine
// locks and ends, which is what killed children forked from ordinary
// goroutines.
func TestStartSurvivesEndedThreads(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	exited, err := Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); <-exited }()
	// End many threads, as goroutines that lock their thread and return do.
	for i := 0; i < 50; i++ {
		done := make(chan struct{})
		go func() { runtime.LockOSThread(); close(done) }()
		<-done
	}
	select {
	case err := <-exited:
		t.Fatalf("child ended when other threads did: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
}
