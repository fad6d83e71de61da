package aftersales_test

import (
	"testing"
	"time"

	"estatecrm/aftersales"
	"estatecrm/ent/complaint"
)

func TestParsePolicy(t *testing.T) {
	p, err := aftersales.ParsePolicy("urgent=1h/12h, LOW=72h/240h")
	if err != nil {
		t.Fatal(err)
	}
	for sev, want := range map[complaint.Severity]aftersales.Window{
		complaint.SeverityURGENT: {Response: time.Hour, Resolution: 12 * time.Hour},
		complaint.SeverityNORMAL: {Response: 24 * time.Hour, Resolution: 48 * time.Hour}, // not given: the default
		complaint.SeverityLOW:    {Response: 72 * time.Hour, Resolution: 240 * time.Hour},
	} {
		if got := p.Window(sev); got != want {
			t.Errorf("%s: %+v, want %+v", sev, got, want)
		}
	}
	for _, bad := range []string{"URGENT=1h", "SEVERE=1h/2h", "NORMAL=2h/1h", "LOW=-1h/2h", "LOW=x/2h"} {
		if _, err := aftersales.ParsePolicy(bad); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
	if p, err := aftersales.ParsePolicy(""); err != nil || p.Window(complaint.SeverityURGENT).Response != 2*time.Hour {
		t.Errorf("the empty policy is not the default: %v %v", p, err)
	}
}
