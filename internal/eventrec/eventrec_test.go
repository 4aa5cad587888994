package eventrec

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"
)

func TestRecorderKeepsTypeReasonAndNote(t *testing.T) {
	obj := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "db"}}
	for _, tt := range []struct {
		name, note string
		args       []any
		want       string
	}{
		{"formatted", "Created Secret %s", []any{"db"}, "Normal Created Created Secret db"},
		// A note without arguments is taken as is: a % in it is not a verb.
		{"literal", "100% of keys opened", nil, "Normal Created 100% of keys opened"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fake := record.NewFakeRecorder(1)
			Recorder{fake}.Eventf(obj, nil, corev1.EventTypeNormal, "Created", "Sync", tt.note, tt.args...)
			if got := <-fake.Events; got != tt.want {
				t.Errorf("event %q, want %q", got, tt.want)
			}
		})
	}
}
