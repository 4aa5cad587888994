package externalsecret

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	esv1 "github.com/keyward/keyward/api/externalsecrets/v1"
)

// schedule is a parsed 5-field cron expression (minute hour day-of-month
// month day-of-week, UTC) or an @every interval.
type schedule struct {
	fields [5]map[int]bool // nil = any
	every  time.Duration
}

var cronBounds = [5][2]int{{0, 59}, {0, 23}, {1, 31}, {1, 12}, {0, 6}}

var cronMacros = map[string]string{
	"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
	"@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}

func parseSchedule(expr string) (schedule, error) {
	expr = strings.TrimSpace(expr)
	if d, ok := strings.CutPrefix(expr, "@every "); ok {
		every, err := time.ParseDuration(strings.TrimSpace(d))
		if err != nil || every < time.Minute {
			return schedule{}, fmt.Errorf("schedule %q: @every needs a duration of at least 1m", expr)
		}
		return schedule{every: every}, nil
	}
	if m, ok := cronMacros[expr]; ok {
		expr = m
	}
	parts := strings.Fields(expr)
	if len(parts) != 5 {
		return schedule{}, fmt.Errorf("schedule %q: want 5 fields (minute hour day month weekday)", expr)
	}
	var s schedule
	for i, p := range parts {
		set, err := parseCronField(p, cronBounds[i][0], cronBounds[i][1])
		if err != nil {
			return schedule{}, fmt.Errorf("schedule %q: field %d: %w", expr, i+1, err)
		}
		s.fields[i] = set
	}
	return s, nil
}

func parseCronField(f string, lo, hi int) (map[int]bool, error) {
	if f == "*" {
		return nil, nil
	}
	set := map[int]bool{}
	for _, part := range strings.Split(f, ",") {
		rng, stepText, hasStep := strings.Cut(part, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepText)
			if err != nil || n < 1 {
				return nil, fmt.Errorf("bad step %q", stepText)
			}
			step = n
		}
		from, to := lo, hi
		if rng != "*" {
			a, b, isRange := strings.Cut(rng, "-")
			var err error
			if from, err = strconv.Atoi(a); err != nil {
				return nil, fmt.Errorf("bad value %q", a)
			}
			to = from
			if isRange {
				if to, err = strconv.Atoi(b); err != nil {
					return nil, fmt.Errorf("bad value %q", b)
				}
			} else if hasStep {
				to = hi
			}
		}
		if hi == 6 && to == 7 { // Sunday as 7
			to = 6
			set[0] = true
		}
		if from < lo || to > hi || from > to {
			return nil, fmt.Errorf("%q is outside %d-%d", part, lo, hi)
		}
		for v := from; v <= to; v += step {
			set[v] = true
		}
	}
	return set, nil
}

// fires reports whether the schedule ticks at minute t.
func (s schedule) fires(t time.Time) bool {
	if s.every > 0 {
		return t.Unix()%int64(s.every/time.Second) < 60
	}
	vals := [5]int{t.Minute(), t.Hour(), t.Day(), int(t.Month()), int(t.Weekday())}
	for i, set := range s.fields {
		if set != nil && !set[vals[i]] {
			return false
		}
	}
	return true
}

// active reports whether a window of length d opened by s covers t.
func (s schedule) active(t time.Time, d time.Duration) bool {
	t = t.UTC().Truncate(time.Minute)
	for back := time.Duration(0); back < d; back += time.Minute {
		if s.fires(t.Add(-back)) {
			return true
		}
	}
	return false
}

// windowsAllow reports whether periodic refreshes may run at t. Windows
// that do not parse are ignored, as ESO does.
func windowsAllow(w *esv1.SyncWindows, t time.Time) bool {
	if w == nil || len(w.Windows) == 0 {
		return true
	}
	inAny := false
	for _, win := range w.Windows {
		s, err := parseSchedule(win.Schedule)
		if err != nil {
			continue
		}
		if s.active(t, win.Duration.Duration) {
			inAny = true
			break
		}
	}
	if w.Kind == "deny" {
		return !inAny
	}
	return inAny
}
