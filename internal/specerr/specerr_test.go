package specerr

import (
	"errors"
	"fmt"
	"testing"
)

func TestIs(t *testing.T) {
	e := New("spec.data[%d]: bad", 1)
	if e.Error() != "spec.data[1]: bad" {
		t.Errorf("text = %q", e)
	}
	if !Is(e) || !Is(fmt.Errorf("wrapped: %w", e)) || !Is(Mark(errors.New("x"))) {
		t.Error("a marked error is not recognised")
	}
	if Is(errors.New("plain")) || Is(nil) {
		t.Error("an unmarked error is recognised")
	}
}
