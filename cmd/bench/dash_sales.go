package main

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"estatecrm/internal/loadgen"
)

// The sales dashboards (issue 13) over a project-month: the last 30 days of
// the project of scale.manager001 (the first project of the scale data;
// with -scale 0, the grid project's manager and its project), as its
// manager sees them (one project in scope, no projectId needed).
const (
	qDashFunnel = `query($from: String!, $to: String!) { salesFunnel(period: {from: $from, to: $to}, groupBy: WEEK) {
		total { leads firstVisits revisits holds reservations contracts cancellations firstVisitRate
		  medianDaysLeadToFirstVisit medianDaysVisitToReservation medianDaysReservationToContract }
		groups { group { key } figures { leads firstVisits reservations contracts } } } }`
	qDashChannels = `query($from: String!, $to: String!) { channelMix(period: {from: $from, to: $to}) {
		channels { channel customers contracts contractValue conversion spend costPerContract } total { customers contracts } } }`
	qDashAgents = `query($from: String!, $to: String!) { agentBoard(period: {from: $from, to: $to}) { agents {
		agent { key label } customersOwned visits followUpsOnTime followUpsOverdue reservations contracts contractValue
		conversion poolClaims poolLosses } } }`
	qDashValue = `query($from: String!, $to: String!) { customerValue(period: {from: $from, to: $to}, first: 20) {
		grades { grade count } totalCount customers { customer { id name } score recency frequency monetary } } }`
)

// dashManager logs in the manager the dashboards are read as, once per
// server (the timed one and the one whose statements are counted).
type dashManager struct {
	mu      sync.Mutex
	clients map[string]*loadgen.Client
}

func (d *dashManager) client(f *fixtures) (*loadgen.Client, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if c := d.clients[f.manager.URL]; c != nil {
		return c, nil
	}
	c, err := login(f.manager.URL, f.manager.HTTP, "scale.manager001")
	if err != nil {
		c = f.manager // no scale data: the grid project's manager
	}
	d.clients[f.manager.URL] = c
	return c, nil
}

// dashRequests are the dashboards' requests (the after-sales ones' queries
// are in dash_service.go).
func dashRequests(f *fixtures, o options) []*request {
	d := &dashManager{clients: map[string]*loadgen.Client{}}
	zone := time.FixedZone("Asia/Shanghai", 8*60*60)
	today := time.Now().In(zone)
	vars := map[string]any{"from": today.AddDate(0, 0, -29).Format(time.DateOnly), "to": today.Format(time.DateOnly)}
	period := map[string]any{"p": map[string]any{"from": vars["from"], "to": vars["to"]}}
	dash := func(name, query string, vars map[string]any) *request {
		return &request{name: fmt.Sprintf("%s (project-month)", name), clients: o.clients,
			steps: []step{{name, func(int) (json.RawMessage, error) {
				c, err := d.client(f)
				if err != nil {
					return nil, err
				}
				return c.Raw(query, vars)
			}}}}
	}
	return []*request{
		dash("salesFunnel", qDashFunnel, vars),
		dash("channelMix", qDashChannels, vars),
		dash("agentBoard", qDashAgents, vars),
		dash("customerValue", qDashValue, vars),
		dash("serviceBoard", qServiceBoard, period), // dash_service.go
		dash("satisfaction", qSatisfaction, period),
	}
}
