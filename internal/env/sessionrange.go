package env

import (
	"fmt"
	"time"
)

// dateLayout is how session dates are written (Session.Date) and how first_session and
// last_session name them.
const dateLayout = "2006-01-02"

// SessionRange returns, in order, the indices of the sessions dated from first to last,
// both included (exchange dates, YYYY-MM-DD); "" leaves that end open. The dates need not
// be sessions of the data: a range that holds none gives an empty slice.
func (d *Dataset) SessionRange(first, last string) []int {
	out := make([]int, 0, len(d.Sessions))
	for i, s := range d.Sessions {
		// YYYY-MM-DD strings order as the dates do.
		if (first == "" || s.Date >= first) && (last == "" || s.Date <= last) {
			out = append(out, i)
		}
	}
	return out
}

// Split returns the sessions a run configured by cfg uses, split chronologically: those of
// its range (cfg.FirstSession to cfg.LastSession, SessionRange) cut by cfg.TrainFraction
// under SplitSessions' rules. Without a range it is SplitSessions(cfg.TrainFraction).
func (d *Dataset) Split(cfg Config) (train, validation []int) {
	sessions := d.SessionRange(cfg.FirstSession, cfg.LastSession)
	k := splitPoint(len(sessions), cfg.TrainFraction)
	return sessions[:k:k], sessions[k:]
}

// checkSessionDate checks a first_session or last_session value: empty, or a date.
func checkSessionDate(key, v string) error {
	if v == "" {
		return nil
	}
	if _, err := time.Parse(dateLayout, v); err != nil {
		return fmt.Errorf("env: %s must be a date YYYY-MM-DD (or empty), got %q", key, v)
	}
	return nil
}
