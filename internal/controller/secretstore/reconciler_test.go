package secretstore

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestRevalidateInterval(t *testing.T) {
	tests := []struct {
		in    *intstr.IntOrString
		want  time.Duration
		fails bool
	}{
		{nil, DefaultRevalidateInterval, false},
		{&intstr.IntOrString{Type: intstr.Int, IntVal: 300}, 5 * time.Minute, false},
		{&intstr.IntOrString{Type: intstr.Int, IntVal: 0}, DefaultRevalidateInterval, false},
		{&intstr.IntOrString{Type: intstr.String, StrVal: "90"}, 90 * time.Second, false},
		{&intstr.IntOrString{Type: intstr.String, StrVal: "10m"}, 10 * time.Minute, false},
		{&intstr.IntOrString{Type: intstr.String, StrVal: "soon"}, 0, true},
	}
	for _, tt := range tests {
		got, err := revalidateInterval(tt.in)
		if (err != nil) != tt.fails || got != tt.want {
			t.Errorf("revalidateInterval(%v) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}
