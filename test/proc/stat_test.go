package proc

import (
	"os"
	"testing"
	"time"
)

func TestStatOfThisProcess(t *testing.T) {
	pid := os.Getpid()
	for _, field := range []string{"VmHWM", "RssAnon"} {
		v, err := Status(pid, field)
		if err != nil || v <= 0 {
			t.Errorf("Status(%s) = %d, %v; want a positive size", field, v, err)
		}
	}
	if _, err := Status(pid, "NoSuchField"); err == nil {
		t.Error("Status of a missing field: no error")
	}
	before, err := CPU(pid)
	if err != nil {
		t.Fatal(err)
	}
	// Spin until the kernel has accounted at least two ticks more.
	deadline := time.Now().Add(10 * time.Second)
	for {
		now, err := CPU(pid)
		if err != nil {
			t.Fatal(err)
		}
		if now-before >= 20*time.Millisecond {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("CPU stayed at %s after 10 s of spinning", now)
		}
	}
}

func TestSampleMaxKeepsTheLargest(t *testing.T) {
	vals := []int64{3, 9, 4}
	i := 0
	stop := SampleMax(time.Millisecond, func() (int64, error) {
		v := vals[i%len(vals)]
		i++
		return v, nil
	})
	time.Sleep(20 * time.Millisecond)
	if got := stop(); got != 9 {
		t.Fatalf("SampleMax = %d, want 9", got)
	}
}
