package aftersales

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"estatecrm/ent"
	"estatecrm/ent/complaint"
)

// Window is how long a complaint of one severity may wait for a first
// response, and for its resolution, from filing (or the latest reopen).
type Window struct {
	Response   time.Duration
	Resolution time.Duration
}

// Policy holds the SLA window of each severity (SPEC.md §3.3).
type Policy map[complaint.Severity]Window

// DefaultPolicy is the seed handbooks' bar: respond within 24 h and resolve
// within 48 h, faster for urgent problems, slower for minor ones.
func DefaultPolicy() Policy {
	return Policy{
		complaint.SeverityURGENT: {Response: 2 * time.Hour, Resolution: 24 * time.Hour},
		complaint.SeverityNORMAL: {Response: 24 * time.Hour, Resolution: 48 * time.Hour},
		complaint.SeverityLOW:    {Response: 48 * time.Hour, Resolution: 7 * 24 * time.Hour},
	}
}

// Window returns the window of a severity (the default's where unset).
func (p Policy) Window(s complaint.Severity) Window {
	if w, ok := p[s]; ok {
		return w
	}
	return DefaultPolicy()[s]
}

// ParsePolicy reads overrides like "URGENT=1h/12h,LOW=72h/240h" on top of
// the default policy; an empty string is the default.
func ParsePolicy(s string) (Policy, error) {
	p := DefaultPolicy()
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		sev, windows, ok := strings.Cut(item, "=")
		respond, resolve, ok2 := strings.Cut(windows, "/")
		if !ok || !ok2 {
			return nil, fmt.Errorf("complaint SLA %q: want SEVERITY=response/resolution", item)
		}
		severity := complaint.Severity(strings.ToUpper(strings.TrimSpace(sev)))
		if complaint.SeverityValidator(severity) != nil {
			return nil, fmt.Errorf("complaint SLA %q: unknown severity", item)
		}
		r1, err1 := time.ParseDuration(strings.TrimSpace(respond))
		r2, err2 := time.ParseDuration(strings.TrimSpace(resolve))
		if err1 != nil || err2 != nil || r1 <= 0 || r2 < r1 {
			return nil, fmt.Errorf("complaint SLA %q: want positive durations, resolution no shorter than response", item)
		}
		p[severity] = Window{Response: r1, Resolution: r2}
	}
	return p, nil
}

// SLAState is where a clock stands.
type SLAState string

// The states of a clock. A clock that is met stays MET, or BREACHED if it
// was met late.
const (
	OnTrack  SLAState = "ON_TRACK"
	AtRisk   SLAState = "AT_RISK"
	Breached SLAState = "BREACHED"
	Met      SLAState = "MET"
)

// riskShare is the part of a window left at which a clock turns at risk.
const riskShare = 5 // less than 1/5 = 20% left

// RiskAt is when a clock running from start to due turns at risk. The work
// queue sorts on it in SQL, so it is stored with the deadline.
func RiskAt(start, due time.Time) time.Time { return due.Add(-due.Sub(start) / riskShare) }

// Clock is one SLA clock of a complaint.
type Clock struct {
	StartedAt time.Time
	DueAt     time.Time
	// MetAt is when the clock stopped (first response, or resolution).
	MetAt *time.Time
	State SLAState
}

// TakenSeconds is how long it took to meet the clock, once met.
func (c Clock) TakenSeconds() *int {
	if c.MetAt == nil {
		return nil
	}
	s := int(c.MetAt.Sub(c.StartedAt) / time.Second)
	return &s
}

// RemainingSeconds is the time left before the deadline of a running clock
// (negative once breached).
func (c Clock) RemainingSeconds(now time.Time) *int {
	if c.MetAt != nil {
		return nil
	}
	s := int(c.DueAt.Sub(now) / time.Second)
	return &s
}

// clock works out a clock's state at now: at the deadline itself a clock is
// still at risk, not breached ("within 24 hours" includes the 24th).
func clock(start, due time.Time, met *time.Time, now time.Time) Clock {
	c := Clock{StartedAt: start, DueAt: due, MetAt: met}
	switch {
	case met != nil && met.After(due):
		c.State = Breached
	case met != nil:
		c.State = Met
	case now.After(due):
		c.State = Breached
	case now.After(RiskAt(start, due)):
		c.State = AtRisk
	default:
		c.State = OnTrack
	}
	return c
}

// ResponseClock runs from filing to the first response (acknowledgement).
func ResponseClock(c *ent.Complaint, now time.Time) Clock {
	return clock(c.CreatedAt, c.ResponseDueAt, c.AcknowledgedAt, now)
}

// ResolutionClock runs from filing, or the latest reopen, to resolution.
func ResolutionClock(c *ent.Complaint, now time.Time) Clock {
	return clock(c.ResolutionStartedAt, c.ResolutionDueAt, c.ResolvedAt, now)
}

// MarshalGQL writes the state as its GraphQL enum value.
func (s SLAState) MarshalGQL(w io.Writer) { _, _ = io.WriteString(w, strconv.Quote(string(s))) }

// UnmarshalGQL reads a GraphQL enum value.
func (s *SLAState) UnmarshalGQL(v any) error {
	str, ok := v.(string)
	if !ok {
		return fmt.Errorf("an SLA state is a string")
	}
	switch st := SLAState(str); st {
	case OnTrack, AtRisk, Breached, Met:
		*s = st
		return nil
	}
	return fmt.Errorf("%q is not an SLA state", str)
}
