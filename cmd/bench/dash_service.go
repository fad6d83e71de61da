package main

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"estatecrm/internal/loadgen"
)

// The after-sales dashboards (issue 13) for a project-month: the demo
// project's manager (manager.hz, the project of agentLogin) over the last
// 30 days in Shanghai, with every breakdown.
const (
	qServiceBoard = `query($p: ReportPeriod!) { serviceBoard(period: $p) {
  total { opened respondedInSla responseSlaRate resolvedInSla resolutionSlaRate medianResponseHours medianResolutionHours reopenRate openBreaches }
  byCategory { key figures { opened responseSlaRate resolutionSlaRate } } bySeverity { key figures { opened responseSlaRate resolutionSlaRate } }
  byDepartment { key figures { opened responseSlaRate resolutionSlaRate } } } }`
	qSatisfaction = `query($p: ReportPeriod!) { satisfaction(period: $p, groupBy: AGENT) {
  total { sent answered csat nps } groups { group { key label } figures { answered csat nps } } byKind { kind figures { answered csat nps } } } }`
	dashManager = "manager.hz"
)

// dashService is the request of one after-sales dashboard (name: its root
// field), sent by the demo project's manager, real server only.
func dashService(realURL string, hc *http.Client, o options, name, query string) *request {
	var (
		once sync.Once
		m    *loadgen.Client
		err  error
	)
	sh := time.FixedZone("Asia/Shanghai", 8*3600)
	to := time.Now().In(sh)
	vars := map[string]any{"p": map[string]any{"from": to.AddDate(0, 0, -29).Format(time.DateOnly), "to": to.Format(time.DateOnly)}}
	return &request{name: name + " (project-month)", clients: o.clients,
		steps: []step{{name, func(int) (json.RawMessage, error) {
			once.Do(func() { m, err = login(realURL, hc, dashManager) })
			if err != nil {
				return nil, err
			}
			return m.Raw(query, vars)
		}}}}
}
