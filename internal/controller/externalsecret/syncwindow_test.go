package externalsecret

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
)

func TestSyncWindows(t *testing.T) {
	weekdays := &esv1.SyncWindows{Kind: "allow", Windows: []esv1.SyncWindow{{Schedule: "0 9 * * 1-5", Duration: metav1.Duration{Duration: 8 * time.Hour}}}}
	nights := &esv1.SyncWindows{Kind: "deny", Windows: []esv1.SyncWindow{{Schedule: "@daily", Duration: metav1.Duration{Duration: 6 * time.Hour}}}}
	broken := &esv1.SyncWindows{Kind: "allow", Windows: []esv1.SyncWindow{{Schedule: "not a cron", Duration: metav1.Duration{Duration: time.Hour}}}}
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	tests := []struct {
		w    *esv1.SyncWindows
		t    string
		want bool
	}{
		{nil, "2026-11-02T03:00:00Z", true},
		{weekdays, "2026-11-02T09:00:00Z", true},  // Monday 09:00
		{weekdays, "2026-11-02T16:59:00Z", true},  // Monday 16:59
		{weekdays, "2026-11-02T17:00:00Z", false}, // window closed
		{weekdays, "2026-11-01T10:00:00Z", false}, // Sunday
		{weekdays, "2026-11-02T08:59:00Z", false},
		{nights, "2026-11-02T03:00:00Z", false},
		{nights, "2026-11-02T07:00:00Z", true},
		{broken, "2026-11-02T07:00:00Z", false}, // allow-list with no usable window
	}
	for _, tt := range tests {
		if got := windowsAllow(tt.w, at(tt.t)); got != tt.want {
			t.Errorf("%v at %s = %v, want %v", tt.w, tt.t, got, tt.want)
		}
	}
	for _, bad := range []string{"* * *", "61 * * * *", "*/0 * * * *", "@every 10s"} {
		if _, err := parseSchedule(bad); err == nil {
			t.Errorf("parseSchedule(%q) accepted", bad)
		}
	}
}
