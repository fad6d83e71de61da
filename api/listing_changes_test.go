package api_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"estatecrm/api/apitest"
	"estatecrm/catalogue"
	"estatecrm/clock"
	"estatecrm/ent"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/unit"
	"estatecrm/listing"
	"estatecrm/money"
	"estatecrm/outbox"
)

const changesQuery = `query($after: String, $first: Int) {
  listingChanges(after: $after, first: $first) {
    head pageInfo { hasNextPage endCursor }
    edges { cursor node { sequence listingId kind at } }
  }
}`

type changePage struct {
	ListingChanges struct {
		Head     string
		PageInfo struct {
			HasNextPage bool
			EndCursor   string
		}
		Edges []struct {
			Cursor string
			Node   struct {
				Sequence  string
				ListingID string
				Kind      string
				At        string
			}
		}
	}
}

// changesAfter reads one page of the change log.
func changesAfter(t testing.TB, c *apitest.Caller, after string, first int) (changePage, *apitest.Response) {
	t.Helper()
	vars := map[string]any{"first": first}
	if after != "" {
		vars["after"] = after
	}
	res := c.Query(t, changesQuery, vars)
	var p changePage
	if len(res.Errors) == 0 {
		res.Decode(t, &p)
	}
	return p, res
}

// lines reads the change log after cursor as "kind number" lines, and the
// cursor after them.
func lines(t *testing.T, env *apitest.Env, c *apitest.Caller, after string) ([]string, string) {
	t.Helper()
	numbers := map[string]string{}
	for _, u := range env.Client.Unit.Query().AllX(apitest.System()) {
		numbers[string(u.ID)] = u.Number
	}
	var out []string
	for {
		p, res := changesAfter(t, c, after, 100)
		if len(res.Errors) > 0 {
			t.Fatalf("listingChanges: %s %s", res.Body, env.Log.String())
		}
		for _, e := range p.ListingChanges.Edges {
			out = append(out, e.Node.Kind+" "+numbers[e.Node.ListingID])
		}
		after = p.ListingChanges.PageInfo.EndCursor
		if !p.ListingChanges.PageInfo.HasNextPage {
			return out, after
		}
	}
}

// TestListingChangesKinds: what each kind of change writes to the log, as
// a portal reads it, and what a key limited to a project reads.
func TestListingChangesKinds(t *testing.T) {
	env := apitest.New(t)
	ctx := apitest.System()
	p := env.Project(t, "江南·里", 1, 2, 2) // 101 102 201 202, published
	q := env.Project(t, "北岸·城", 1, 1, 1) // 101
	c, limited := portal(t, env), portal(t, env, q.ID)
	unitOf := func(pid pulid.ID, number string) *ent.Unit {
		return env.Client.Unit.Query().Where(unit.ProjectID(pid), unit.Number(number)).OnlyX(ctx)
	}
	start, _ := changesAfter(t, c, "", 0)
	head := start.ListingChanges.Head
	now := time.Now().UTC()
	step := func(name string, do func() error, want ...string) {
		t.Helper()
		if err := do(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, next := lines(t, env, c, head)
		sort.Strings(got)
		sort.Strings(want)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s: the log has %v, want %v", name, got, want)
		}
		head = next
	}
	u101, u102 := unitOf(p.ID, "101"), unitOf(p.ID, "102")
	step("unpublish a unit", func() error {
		_, err := catalogue.PublishUnits(ctx, env.Client, []pulid.ID{u101.ID}, false, now)
		return err
	}, "REMOVE 101")
	step("reprice an unpublished unit", func() error {
		_, err := catalogue.SetUnitPrices(ctx, env.Client, catalogue.PriceInput{Reason: "r",
			Prices: []catalogue.PriceUnit{{UnitID: u101.ID, ListPrice: money.Yuan(2_000_000)}}}, now)
		return err
	})
	step("publish it again", func() error {
		_, err := catalogue.PublishUnits(ctx, env.Client, []pulid.ID{u101.ID}, true, now)
		return err
	}, "UPSERT 101")
	step("reprice a listed unit", func() error {
		_, err := catalogue.SetUnitPrices(ctx, env.Client, catalogue.PriceInput{Reason: "r",
			Prices: []catalogue.PriceUnit{{UnitID: u102.ID, ListPrice: money.Yuan(2_100_000)}}}, now)
		return err
	}, "UPSERT 102")
	step("withdraw a unit", func() error {
		_, err := catalogue.WithdrawUnit(ctx, env.Client, u102.ID, "", now)
		return err
	}, "REMOVE 102")
	step("rename the building", func() error {
		return env.Client.Building.Update().Where().SetName("一号楼").Exec(ctx) // both projects' buildings
	}, "UPSERT 101", "UPSERT 101", "UPSERT 201", "UPSERT 202")
	step("unpublish the project", func() error {
		_, err := catalogue.PublishProject(ctx, env.Client, p.ID, false, false, now)
		return err
	}, "REMOVE 101", "REMOVE 201", "REMOVE 202")
	step("change a unit of an unpublished project", func() error {
		return env.Client.Unit.UpdateOne(u101).SetBedrooms(4).Exec(ctx)
	})
	step("publish the project", func() error {
		_, err := catalogue.PublishProject(ctx, env.Client, p.ID, true, false, now)
		return err
	}, "UPSERT 101", "UPSERT 201", "UPSERT 202")
	step("change the project's rules only (its listings' modifiedAt moves)", func() error {
		return env.Client.Project.UpdateOne(p).SetHoldMinutes(45).Exec(ctx)
	}, "UPSERT 101", "UPSERT 201", "UPSERT 202")
	step("hold a unit", func() error {
		return env.Client.Unit.UpdateOne(unitOf(p.ID, "201")).SetStatus(unit.StatusHELD).SetHoldExpiresAt(now.Add(time.Hour)).Exec(ctx)
	}, "UPSERT 201")

	// The key limited to q reads q's lines only: the rename's.
	got, _ := lines(t, env, limited, start.ListingChanges.Head)
	if fmt.Sprint(got) != "[UPSERT 101]" {
		t.Fatalf("a key limited to q reads %v, want q's rename only", got)
	}
	// Cursors are checked.
	if _, res := changesAfter(t, c, "bm9wZQ", 10); len(res.Errors) == 0 || res.Errors[0].Code() != "BAD_USER_INPUT" {
		t.Fatalf("a made-up cursor answered %s", res.Body)
	}
	if _, res := changesAfter(t, c, listing.EncodeCursor(1_000_000), 10); len(res.Errors) == 0 || res.Errors[0].Code() != "BAD_USER_INPUT" {
		t.Fatalf("a cursor past the head answered %s", res.Body)
	}
}

// TestListingChangesRetention: Prune drops the changes older than 30 days
// and a day (on the clock given); a cursor older than the oldest kept is
// RESYNC_REQUIRED, the head and later cursors keep working.
func TestListingChangesRetention(t *testing.T) {
	env := apitest.New(t)
	p := env.Project(t, "旧盘", 1, 1, 3)
	c := portal(t, env)
	now := time.Now().UTC()
	long := now.Add(-40 * 24 * time.Hour)
	old := clock.NewContext(apitest.System(), func() time.Time { return long })
	start, _ := changesAfter(t, c, "", 0)
	for i, u := range env.Client.Unit.Query().Where(unit.ProjectID(p.ID)).Order(ent.Asc(unit.FieldNumber)).AllX(old) {
		env.Client.Unit.UpdateOne(u).SetListPrice(money.Yuan(int64(1_000_000 + i))).ExecX(old)
	}
	mid, _ := changesAfter(t, c, "", 0) // numbers the old lines
	recent := env.Client.Unit.Query().Where(unit.ProjectID(p.ID)).FirstX(apitest.System())
	env.Client.Unit.UpdateOne(recent).SetBedrooms(1).ExecX(apitest.System())
	changesAfter(t, c, "", 0) // numbers it

	// Nothing is pruned at 30 days.
	if n, err := listing.Prune(apitest.System(), env.Client, long.Add(30*24*time.Hour)); err != nil || n != 0 {
		t.Fatalf("prune at 30 days removed %d (%v), want none", n, err)
	}
	if n, err := listing.Prune(apitest.System(), env.Client, now); err != nil || n == 0 {
		t.Fatalf("prune at 40 days removed %d (%v), want the old lines", n, err)
	}
	_, res := changesAfter(t, c, start.ListingChanges.Head, 10)
	if len(res.Errors) != 1 || res.Errors[0].Code() != "BAD_USER_INPUT" || res.Errors[0].Extensions["field"] != "after" ||
		res.Errors[0].Extensions["reason"] != "RESYNC_REQUIRED" {
		t.Fatalf("a cursor before the pruned lines answered %s; want BAD_USER_INPUT on after, reason RESYNC_REQUIRED", res.Body)
	}
	got, _ := lines(t, env, c, mid.ListingChanges.Head)
	if len(got) != 1 {
		t.Fatalf("after the head taken before the recent change: %v, want that change", got)
	}
	if got, _ := lines(t, env, c, ""); len(got) != 1 {
		t.Fatalf("from the start of what is kept: %v, want the recent change", got)
	}
}

// loggedLines numbers the outbox and returns every line of the change log
// it keeps (events of the outbox, package listing), in order.
func loggedLines(t testing.TB, env *apitest.Env) []listing.Line {
	t.Helper()
	if _, err := outbox.Sequence(apitest.System(), env.Client); err != nil {
		t.Fatal(err)
	}
	ls, err := listing.Lines(apitest.System(), env.Client, 0, nil, true, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	return ls
}

// poller follows the change log as a portal does: UPSERT re-reads the
// listing (deleting it when it is gone), REMOVE deletes it. It checks that
// every sequence follows the one before, and keeps them (an unlimited key
// sees them all: the log's lines, among the outbox's other events).
type poller struct {
	t      *testing.T
	c      *apitest.Caller
	cursor string
	last   int64
	copy   map[string]listingNode
	seen   int
	seqs   []int64
}

func (p *poller) poll() (int, error) {
	page, res := changesAfter(p.t, p.c, p.cursor, 100)
	if len(res.Errors) > 0 {
		return 0, fmt.Errorf("listingChanges: %s", res.Body)
	}
	var upserts []string
	for _, e := range page.ListingChanges.Edges {
		seq, _ := strconv.ParseInt(e.Node.Sequence, 10, 64)
		if seq <= p.last {
			return 0, fmt.Errorf("sequence %d after %d: a change seen twice or out of order", seq, p.last)
		}
		p.last = seq
		p.seen++
		p.seqs = append(p.seqs, seq)
		if e.Node.Kind != "REMOVE" {
			upserts = append(upserts, e.Node.ListingID)
			continue
		}
		// The page's UPSERTs before the REMOVE first: in order.
		if err := p.reread(upserts); err != nil {
			return 0, err
		}
		upserts = nil
		delete(p.copy, e.Node.ListingID)
	}
	if err := p.reread(upserts); err != nil {
		return 0, err
	}
	p.cursor = page.ListingChanges.PageInfo.EndCursor
	return len(page.ListingChanges.Edges), nil
}

func (p *poller) reread(ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	res := p.c.Query(p.t, listingsQuery, map[string]any{"where": map[string]any{"ids": ids}, "first": 100})
	if len(res.Errors) > 0 {
		return fmt.Errorf("listings: %s", res.Body)
	}
	var page listingPage
	res.Decode(p.t, &page)
	for _, id := range ids {
		delete(p.copy, id)
	}
	for _, e := range page.Listings.Edges {
		p.copy[e.Node.ID] = e.Node
	}
	return nil
}

// TestListingChangesExactlyOnce: writers change, reprice, publish,
// unpublish and withdraw units, hold and release them, rename buildings and
// publish and unpublish a project, concurrently (one at a time on SQLite),
// each in a transaction that waits a little before it commits, so that
// transactions commit out of the order they wrote in; two portals (one
// limited to a project) follow the change log meanwhile. At the end each
// portal's copy equals its listings exactly, and the unlimited one saw
// every line of the log once, in order (their numbers are the outbox's,
// shared with other events: not gapless).
func TestListingChangesExactlyOnce(t *testing.T) {
	env := apitest.New(t)
	ctx := apitest.System()
	p1 := env.Project(t, "一期", 2, 5, 4)
	p2 := env.Project(t, "二期", 1, 5, 4)
	units := env.Client.Unit.Query().IDsX(ctx)
	buildings := env.Client.Building.Query().IDsX(ctx)
	all, limited := portal(t, env), portal(t, env, p1.ID)
	start, _ := changesAfter(t, all, "", 0)
	pollers := []*poller{
		{t: t, c: all, cursor: start.ListingChanges.Head, copy: map[string]listingNode{}},
		{t: t, c: limited, cursor: start.ListingChanges.Head, copy: map[string]listingNode{}},
	}
	// The copies start from listings, read after the head was taken.
	for _, p := range pollers {
		for _, l := range listAll(t, p.c, nil, nil, 100) {
			p.copy[l.ID] = l
		}
	}
	// Their first number, from which the unlimited one counts.
	if s := start.ListingChanges.Head; s != "" {
		n, err := listing.DecodeCursor(s)
		if err != nil {
			t.Fatal(err)
		}
		pollers[0].last = n
	}

	writers, rounds := 4, 60
	pg := env.DB.Dialect == dialect.Postgres
	if !pg {
		writers = 1 // SQLite has one writer
	}
	var committed, refused atomic.Int64
	stop := make(chan struct{})
	var pollErr error
	var pollWG sync.WaitGroup
	pollWG.Add(1)
	go func() {
		defer pollWG.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			for _, p := range pollers {
				if _, err := p.poll(); err != nil {
					pollErr = err
					return
				}
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()

	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 12))
			for i := range rounds {
				tx, err := env.Client.Tx(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				if err := write(ctx, tx.Client(), r, units, buildings, p2.ID, i); err != nil {
					_ = tx.Rollback()
					refused.Add(1)
					continue
				}
				time.Sleep(time.Duration(r.IntN(20)) * time.Millisecond) // commit late, out of order
				if err := tx.Commit(); err != nil {
					refused.Add(1)
					continue
				}
				committed.Add(1)
			}
		}()
	}
	wg.Wait()
	close(stop)
	pollWG.Wait()
	if pollErr != nil {
		t.Fatal(pollErr)
	}
	// Catch up: until every line is numbered and read. (Another test's
	// transaction elsewhere on the server may hold numbering back a while.)
	for i := 0; ; i++ {
		n := 0
		for _, p := range pollers {
			got, err := p.poll()
			if err != nil {
				t.Fatal(err)
			}
			n += got
		}
		var pending int
		if err := env.DB.SQL.QueryRow("SELECT COUNT(*) FROM outbox_events WHERE seq IS NULL AND " + outbox.Listings.Where()).Scan(&pending); err != nil {
			t.Fatal(err)
		}
		if n == 0 && pending == 0 {
			break
		}
		if i > 3000 {
			t.Fatalf("%d lines still unnumbered", pending)
		}
		time.Sleep(10 * time.Millisecond)
	}
	var loggedSeqs []int64
	for _, l := range loggedLines(t, env) {
		if l.Seq > start0(t, start.ListingChanges.Head) {
			loggedSeqs = append(loggedSeqs, l.Seq)
		}
	}
	logged := len(loggedSeqs)
	t.Logf("%d transactions committed, %d refused; %d changes logged, the portal saw %d, the limited one %d",
		committed.Load(), refused.Load(), logged, pollers[0].seen, pollers[1].seen)
	if committed.Load() < int64(writers*rounds/3) {
		t.Fatalf("only %d of %d transactions committed", committed.Load(), writers*rounds)
	}
	if pollers[0].seen != logged || !slices.Equal(pollers[0].seqs, loggedSeqs) {
		t.Fatalf("the portal saw %d changes of %d, or not those: %v, want %v", pollers[0].seen, logged, pollers[0].seqs, loggedSeqs)
	}
	for i, p := range pollers {
		want := map[string]listingNode{}
		for _, l := range listAll(t, p.c, nil, nil, 100) {
			want[l.ID] = l
		}
		if !reflect.DeepEqual(p.copy, want) {
			for id, l := range want {
				if got, ok := p.copy[id]; !ok || got != l {
					t.Errorf("poller %d: listing %s is %+v in the copy, %+v in listings", i, id, got, l)
				}
			}
			for id := range p.copy {
				if _, ok := want[id]; !ok {
					t.Errorf("poller %d: listing %s is in the copy, not in listings", i, id)
				}
			}
			t.Fatalf("poller %d: the copy (%d listings) differs from listings (%d)", i, len(p.copy), len(want))
		}
	}
}

func start0(t *testing.T, head string) int64 {
	n, err := listing.DecodeCursor(head)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// write makes one random change in the transaction of client.
func write(ctx context.Context, client *ent.Client, r *rand.Rand, units, buildings []pulid.ID, p2 pulid.ID, i int) error {
	now := time.Now().UTC()
	u := units[r.IntN(len(units))]
	switch k := r.IntN(21); {
	case k < 4:
		_, err := catalogue.PublishUnits(ctx, client, []pulid.ID{u}, r.IntN(2) == 0, now)
		return err
	case k < 8:
		_, err := catalogue.SetUnitPrices(ctx, client, catalogue.PriceInput{Reason: "调价",
			Prices: []catalogue.PriceUnit{{UnitID: u, ListPrice: money.Yuan(int64(2_000_000 + r.IntN(1_000_000)))}}}, now)
		return err
	case k < 11: // hold (a bulk update, conditional)
		n, err := client.Unit.Update().Where(unit.ID(u), unit.StatusEQ(unit.StatusAVAILABLE)).
			SetStatus(unit.StatusHELD).SetHoldExpiresAt(now.Add(time.Hour)).Save(ctx)
		if err == nil && n == 0 {
			err = fmt.Errorf("not available")
		}
		return err
	case k < 14: // release (one unit)
		return client.Unit.UpdateOneID(u).Where(unit.StatusEQ(unit.StatusHELD)).
			SetStatus(unit.StatusAVAILABLE).ClearHoldExpiresAt().Exec(ctx)
	case k < 15:
		_, err := catalogue.WithdrawUnit(ctx, client, u, "", now)
		return err
	case k < 17:
		return client.Building.UpdateOneID(buildings[r.IntN(len(buildings))]).SetName(fmt.Sprintf("%d栋-%d", i, r.IntN(1000))).Exec(ctx)
	case k < 18:
		return client.Unit.UpdateOneID(u).SetBedrooms(r.IntN(5)).Exec(ctx)
	case k < 19:
		_, err := catalogue.PublishProject(ctx, client, p2, r.IntN(3) > 0, false, now)
		return err
	case k < 20:
		return client.Project.UpdateOneID(p2).SetName(fmt.Sprintf("二期-%d", r.IntN(1000))).Exec(ctx)
	default: // a rule of the project: no listed field, but modifiedAt
		return client.Project.UpdateOneID(p2).SetHoldMinutes(10 + r.IntN(50)).Exec(ctx)
	}
}

// TestListingChangesProjectAndUnitPublishedTogether: a unit published
// while its project is being published, in two transactions that overlap,
// the project's first. The project's transaction logs its units on the
// portals, which the unit is not yet; the unit's logs the unit if its
// project is published, which it is not yet either, unless its line waits
// for the project's transaction (UnitHook's FOR SHARE on the project row)
// and then reads it published. The unit's UPSERT must be in the log.
func TestListingChangesProjectAndUnitPublishedTogether(t *testing.T) {
	env := apitest.New(t)
	ctx := apitest.System()
	p := env.Project(t, "三期", 1, 1, 2)
	now := time.Now().UTC()
	if _, err := catalogue.PublishProject(ctx, env.Client, p.ID, false, false, now); err != nil {
		t.Fatal(err)
	}
	u := env.Client.Unit.Query().Where(unit.ProjectID(p.ID)).FirstX(ctx)
	if _, err := catalogue.PublishUnits(ctx, env.Client, []pulid.ID{u.ID}, false, now); err != nil {
		t.Fatal(err)
	}
	c := portal(t, env)
	start, _ := changesAfter(t, c, "", 0)

	projectTx, err := env.Client.Tx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := catalogue.PublishProject(ctx, projectTx.Client(), p.ID, true, false, now); err != nil {
		t.Fatal(err)
	}
	unitDone := make(chan error, 1)
	go func() {
		tx, err := env.Client.Tx(ctx)
		if err == nil {
			_, err = catalogue.PublishUnits(ctx, tx.Client(), []pulid.ID{u.ID}, true, now)
			if err == nil {
				err = tx.Commit()
			} else {
				_ = tx.Rollback()
			}
		}
		unitDone <- err
	}()
	select {
	case err := <-unitDone: // SQLite: the unit's transaction waited for the writer lock, or failed
		_ = projectTx.Commit()
		if err != nil && env.DB.Dialect == dialect.Postgres {
			t.Fatal(err)
		}
		if err != nil {
			if _, err := catalogue.PublishUnits(ctx, env.Client, []pulid.ID{u.ID}, true, now); err != nil {
				t.Fatal(err)
			}
		}
	case <-time.After(300 * time.Millisecond): // the unit's line waits for the project's transaction
		if err := projectTx.Commit(); err != nil {
			t.Fatal(err)
		}
		if err := <-unitDone; err != nil {
			t.Fatal(err)
		}
	}
	got, _ := lines(t, env, c, start.ListingChanges.Head)
	if !slices.Contains(got, "UPSERT "+u.Number) {
		t.Fatalf("the log after both has %v: no UPSERT of unit %s, which listings shows", got, u.Number)
	}
}
