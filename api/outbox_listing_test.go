package api_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"estatecrm/api/apitest"
	"estatecrm/ent/unit"
	"estatecrm/ent/webhookdelivery"
	"estatecrm/listing"
	"estatecrm/money"
	"estatecrm/outbox"
	"estatecrm/webhook"
)

// outboxRow is a row of outbox_events as a test reads it.
type outboxRow struct {
	id, seq            int64
	topic, kind, event string
}

// outboxRows numbers the outbox and returns its rows written after id
// after, in insertion order.
func outboxRows(t *testing.T, env *apitest.Env, after int64) []outboxRow {
	t.Helper()
	if _, err := outbox.Sequence(apitest.System(), env.Client); err != nil {
		t.Fatal(err)
	}
	rows, err := env.DB.SQL.Query("SELECT id, COALESCE(seq, 0), topic, kind, payload FROM outbox_events WHERE id > " +
		strconv.FormatInt(after, 10) + " ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []outboxRow
	for rows.Next() {
		var r outboxRow
		if err := rows.Scan(&r.id, &r.seq, &r.topic, &r.kind, &r.event); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// A hold writes its listing change and its live event to the one outbox,
// in its transaction: both rows are there, numbered by the one sequencer,
// and listingChanges reads the line at the outbox's number. A change rolled
// back writes neither. (Before, the line was a row of a table of its own,
// numbered by a sequencer of its own.)
func TestListingLineAndUnitEventShareTheOutbox(t *testing.T) {
	env := apitest.New(t)
	p := env.Project(t, "滨江·云玺", 1, 1, 2)
	viewers, customers := agentsWithCustomers(t, env, p, 1)
	agent := env.As(t, viewers[0])
	units := unitsOf(env, p)
	c := portal(t, env)
	start, _ := changesAfter(t, c, "", 0)
	var last int64
	if rows := outboxRows(t, env, 0); len(rows) > 0 {
		last = rows[len(rows)-1].id
	}

	agent.Query(t, holdMutation, map[string]any{"u": units[0].ID, "c": customers[0].ID}).Decode(t, &struct{}{})
	rows := outboxRows(t, env, last)
	var line, event *outboxRow
	for i, r := range rows {
		switch {
		case r.topic == outbox.ListingsPrefix+string(p.ID) && r.kind == "UPSERT" && strings.Contains(r.event, string(units[0].ID)):
			if line != nil {
				t.Fatalf("two lines for one hold: %+v", rows)
			}
			line = &rows[i]
		case r.topic == string(p.ID) && r.kind == "unit" && strings.Contains(r.event, string(units[0].ID)):
			if event != nil {
				t.Fatalf("two unit events for one hold: %+v", rows)
			}
			event = &rows[i]
		}
	}
	if line == nil || event == nil || line.seq == 0 || event.seq == 0 || line.seq == event.seq {
		t.Fatalf("after a hold the outbox has %+v: want its listing line and its unit event, each numbered", rows)
	}
	page, res := changesAfter(t, c, start.ListingChanges.Head, 10)
	if len(res.Errors) > 0 || len(page.ListingChanges.Edges) != 1 ||
		page.ListingChanges.Edges[0].Node.Sequence != strconv.FormatInt(line.seq, 10) ||
		page.ListingChanges.Edges[0].Node.ListingID != string(units[0].ID) {
		t.Fatalf("listingChanges after the hold answered %s; want the line numbered %d", res.Body, line.seq)
	}

	// Rolled back: a hold and a publication in a transaction that does not
	// commit leave no row.
	last = rows[len(rows)-1].id
	tx, err := env.Client.Tx(apitest.System())
	if err != nil {
		t.Fatal(err)
	}
	n, err := tx.Client().Unit.Update().Where(unit.ID(units[1].ID), unit.StatusEQ(unit.StatusAVAILABLE)).
		SetStatus(unit.StatusHELD).SetHoldExpiresAt(time.Now().Add(time.Hour)).Save(apitest.System())
	if err != nil || n != 1 {
		t.Fatalf("hold in a transaction: %d %v", n, err)
	}
	tx.Client().Unit.UpdateOneID(units[1].ID).AddListPrice(money.Yuan(1)).ExecX(apitest.System())
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if rows := outboxRows(t, env, last); len(rows) != 0 {
		t.Fatalf("a rolled-back change left %+v in the outbox", rows)
	}
}

// Two processes fill one endpoint's deliveries from the outbox at once,
// while both take writes: each listing change committed after the endpoint
// was made gets exactly one delivery, at its outbox number, in order, and
// the receiver gets each once.
func TestMultiprocWebhookFilledFromOutbox(t *testing.T) {
	onPostgres(t)
	a := apitest.New(t)
	b := a.Second(t)
	p := a.Project(t, "江南·里", 1, 4, 5) // 20 units
	us := unitsOf(a, p)
	rcv := newReceiver(t, 0)
	epID, _ := newEndpoint(t, a, rcv.srv.URL, nil)
	from := a.Client.WebhookEndpoint.GetX(apitest.System(), epID).Cursor
	workers := []*webhook.Worker{{Client: a.Client}, {Client: b.Client}}

	stop := make(chan struct{})
	var fills sync.WaitGroup
	fillErrs := make([]error, len(workers))
	for i, w := range workers {
		fills.Add(1)
		go func() {
			defer fills.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := w.Fill(context.Background()); err != nil {
					fillErrs[i] = err
					return
				}
			}
		}()
	}
	var writes sync.WaitGroup
	for j, env := range []*apitest.Env{a, b} {
		writes.Add(1)
		go func() {
			defer writes.Done()
			for round := range 3 {
				for i, u := range us {
					if i%2 == j {
						env.Client.Unit.UpdateOneID(u.ID).AddListPrice(money.Yuan(int64(round + 1))).ExecX(apitest.System())
					}
				}
			}
		}()
	}
	writes.Wait()
	close(stop)
	fills.Wait()
	for i, err := range fillErrs {
		if err != nil {
			t.Fatalf("worker %d: fill: %v", i, err)
		}
	}
	for _, w := range workers { // what committed after the last loop's read
		if _, err := w.Fill(context.Background()); err != nil {
			t.Fatal(err)
		}
	}

	var lines []int64
	for _, l := range loggedLines(t, a) {
		if l.Seq > from {
			lines = append(lines, l.Seq)
		}
	}
	ds := a.Client.WebhookDelivery.Query().Where(webhookdelivery.EndpointID(epID)).
		Order(webhookdelivery.BySeq()).AllX(apitest.System())
	var got []int64
	for _, d := range ds {
		got = append(got, d.Seq)
	}
	if len(lines) != 3*len(us) || !slices.Equal(got, lines) {
		t.Fatalf("deliveries at %v; want one for each of the %d lines %v", got, 3*len(us), lines)
	}

	// Sent by both at once: each once, in order.
	var sends sync.WaitGroup
	for _, w := range workers {
		sends.Add(1)
		go func() {
			defer sends.Done()
			for end := time.Now().Add(20 * time.Second); time.Now().Before(end) && len(rcv.requests()) < len(lines); {
				if _, err := w.Send(context.Background()); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	sends.Wait()
	time.Sleep(100 * time.Millisecond)
	var sent []int64
	for _, h := range rcv.requests() {
		sent = append(sent, h.Payload.Data.Sequence)
	}
	if !slices.Equal(sent, lines) {
		t.Fatalf("the receiver got %v; want %v once each, in order", sent, lines)
	}
}

// The outbox's classes are pruned apart: pruning the live events (a day)
// keeps the listing change log (a month) and tells a live subscriber from
// before to resync; pruning the log then tells a portal from before the
// same, while the live events kept are untouched.
func TestOutboxClassesArePrunedApart(t *testing.T) {
	env := apitest.New(t)
	p := env.Project(t, "滨江·云玺", 1, 1, 2)
	viewers, customers := agentsWithCustomers(t, env, p, 1)
	agent := env.As(t, viewers[0])
	units := unitsOf(env, p)
	c := portal(t, env)
	start, _ := changesAfter(t, c, "", 0)
	from := start0(t, start.ListingChanges.Head)
	agent.Query(t, holdMutation, map[string]any{"u": units[0].ID, "c": customers[0].ID}).Decode(t, &struct{}{})
	agent.Query(t, holdMutation, map[string]any{"u": units[1].ID, "c": customers[0].ID}).Decode(t, &struct{}{})
	sys := apitest.System()
	var liveFrom int64
	for _, r := range outboxRows(t, env, 0) {
		if r.kind == "unit" && liveFrom == 0 {
			liveFrom = r.seq // the first hold's event: the second's follows it
		}
	}
	if err := outbox.Check(sys, env.Client, liveFrom); err != nil {
		t.Fatalf("before pruning, resuming after the first hold's event: %v", err)
	}

	if _, err := outbox.Prune(sys, env.Client, time.Now().Add(49*time.Hour), outbox.DefaultRetention); err != nil {
		t.Fatal(err)
	}
	if err := outbox.Check(sys, env.Client, liveFrom); err != outbox.ErrResync {
		t.Fatalf("after the live events were pruned, resuming after one answered %v, want ErrResync", err)
	}
	if got, _ := lines(t, env, c, start.ListingChanges.Head); len(got) != 2 {
		t.Fatalf("after the live events were pruned the log reads %v; want both holds' lines", got)
	}
	kept := len(outboxRows(t, env, 0))

	if n, err := listing.Prune(sys, env.Client, time.Now().Add(40*24*time.Hour)); err != nil || n == 0 {
		t.Fatalf("pruning the log removed %d (%v)", n, err)
	}
	_, res := changesAfter(t, c, listing.EncodeCursor(from), 10)
	if len(res.Errors) != 1 || res.Errors[0].Extensions["reason"] != "RESYNC_REQUIRED" {
		t.Fatalf("a cursor from before the pruned lines answered %s; want RESYNC_REQUIRED", res.Body)
	}
	left := outboxRows(t, env, 0)
	for _, r := range left[:len(left)-1] { // the newest of all stays: the next numbers follow it
		if strings.HasPrefix(r.topic, outbox.ListingsPrefix) {
			t.Fatalf("a line older than the log keeps is still there: %+v", r)
		}
	}
	if len(left) >= kept {
		t.Fatalf("%d rows before pruning the log, %d after", kept, len(left))
	}
}
