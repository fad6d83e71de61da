package main

// The after-sales dashboards (issue 13), asked for a project-month with
// every breakdown (dashRequests in dash_sales.go sends them).
const (
	qServiceBoard = `query($p: ReportPeriod!) { serviceBoard(period: $p) {
  total { opened respondedInSla responseSlaRate resolvedInSla resolutionSlaRate medianResponseHours medianResolutionHours reopenRate openBreaches }
  byCategory { key figures { opened responseSlaRate resolutionSlaRate } } bySeverity { key figures { opened responseSlaRate resolutionSlaRate } }
  byDepartment { key figures { opened responseSlaRate resolutionSlaRate } } } }`
	qSatisfaction = `query($p: ReportPeriod!) { satisfaction(period: $p, groupBy: AGENT) {
  total { sent answered csat nps } groups { group { key label } figures { answered csat nps } } byKind { kind figures { answered csat nps } } } }`
)
