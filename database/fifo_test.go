package database

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"
)

// waitFor polls cond until it holds (or fails the test after 10 s).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

// The transactions that wait for a connection get one in the order they
// asked: what database/sql's pool, which picks a waiter at random, does not.
func TestTransactionsBeginInTheOrderTheyAsked(t *testing.T) {
	// One ticket: each transaction ends before the next begins, so the
	// order they record is the order they were let in.
	drv := &fakeDriver{}
	d := fifo(drv, 1, false).(*fifoDriver)
	ctx := context.Background()
	held, err := d.Tx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	var (
		mu    sync.Mutex
		order []int
		wg    sync.WaitGroup
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tx, err := d.Tx(ctx)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			_ = tx.Commit()
		}()
		// The next asks only once this one waits in line.
		waitFor(t, "transaction "+strconv.Itoa(i)+" waits", func() bool { return d.tickets.waiting() == i+1 })
	}
	if got := drv.opened(); got != 1 {
		t.Fatalf("%d transactions began with the one ticket out", got)
	}
	_ = held.Commit()
	wg.Wait()
	for i, got := range order {
		if got != i {
			t.Fatalf("transactions began in the order %v, want 0…%d", order, n-1)
		}
	}
	if drv.opened() != n+1 || d.tickets.free != 1 {
		t.Fatalf("opened %d, %d tickets free at the end; want %d and 1", drv.opened(), d.tickets.free, n+1)
	}
}

// A transaction that gives up waiting (its request timed out) leaves the
// line without taking a ticket from those behind it.
func TestAWaiterWhoseContextEndsLeavesTheLine(t *testing.T) {
	d := fifo(&fakeDriver{}, 1, false).(*fifoDriver)
	first, err := d.Tx(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan error)
	go func() {
		_, err := d.Tx(ctx)
		gaveUp <- err
	}()
	waitFor(t, "the second transaction waits", func() bool { return d.tickets.waiting() == 1 })
	next := make(chan error)
	go func() {
		tx, err := d.Tx(context.Background())
		if err == nil {
			err = tx.Commit()
		}
		next <- err
	}()
	waitFor(t, "the third transaction waits", func() bool { return d.tickets.waiting() == 2 })
	cancel()
	if err := <-gaveUp; !errors.Is(err, context.Canceled) {
		t.Fatalf("the waiter whose context ended got %v, want context.Canceled", err)
	}
	if err := first.Commit(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-next:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the transaction behind the one that gave up never began")
	}
	if d.tickets.free != 1 || d.tickets.waiting() != 0 {
		t.Fatalf("%d tickets free, %d waiting at the end; want 1 and 0", d.tickets.free, d.tickets.waiting())
	}
}

// database/sql rolls a transaction back when its context ends, whether or
// not Rollback is called: its ticket comes back then too, and a Rollback
// after that gives back nothing more.
func TestAnAbandonedTransactionGivesItsTicketBack(t *testing.T) {
	d := fifo(&fakeDriver{}, 1, false).(*fifoDriver)
	ctx, cancel := context.WithCancel(context.Background())
	tx, err := d.Tx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	waitFor(t, "the ticket comes back", func() bool {
		d.tickets.mu.Lock()
		defer d.tickets.mu.Unlock()
		return d.tickets.free == 1
	})
	_ = tx.Rollback()
	if d.tickets.free != 1 {
		t.Fatalf("%d tickets free after a second release, want 1", d.tickets.free)
	}
}

// A transaction that cannot begin (the database is gone) gives its ticket
// back at once.
func TestAFailedBeginGivesItsTicketBack(t *testing.T) {
	d := fifo(&fakeDriver{fail: errors.New("connection refused")}, 1, false).(*fifoDriver)
	for range 3 {
		if _, err := d.Tx(context.Background()); err == nil {
			t.Fatal("a transaction began on a driver that refuses them")
		}
	}
	if d.tickets.free != 1 {
		t.Fatalf("%d tickets free, want 1", d.tickets.free)
	}
}

// Open puts the line in front of every pool it bounds: the server's, the
// tests', whatever the database.
func TestOpenOrdersTheTransactionsOfABoundedPool(t *testing.T) {
	db, err := Open(context.Background(), "file:fifo_open?mode=memory&cache=shared&_pragma=foreign_keys(1)", Pool{MaxOpen: 3, MaxIdle: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	d, ok := db.Driver.(*fifoDriver)
	if !ok {
		t.Fatalf("the driver of a pool of 3 is %T, not in line", db.Driver)
	}
	tx, err := d.Tx(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d.tickets.free != 2 {
		t.Fatalf("%d tickets free with one transaction open in a pool of 3, want 2", d.tickets.free)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if d.tickets.free != 3 {
		t.Fatalf("%d tickets free after the commit, want 3", d.tickets.free)
	}
}

// A statement outside a transaction waits in the same line: a read keeps
// its ticket until its rows are closed (until then they keep their
// connection), a write until it is done, and a transaction behind them
// begins after both, in the order they asked.
func TestStatementsOutsideATransactionWaitInLine(t *testing.T) {
	db, err := Open(context.Background(), "file:fifo_statements?mode=memory&cache=shared&_pragma=foreign_keys(1)", Pool{MaxOpen: 1, MaxIdle: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	d := db.Driver.(*fifoDriver)
	ctx := context.Background()
	var rows sql.Rows
	if err := d.Query(ctx, "SELECT 1", []any{}, &rows); err != nil {
		t.Fatal(err)
	}
	if d.tickets.free != 0 {
		t.Fatalf("%d tickets free while a read's rows are open, want 0", d.tickets.free)
	}
	done := make(chan error, 2)
	go func() {
		done <- d.Exec(ctx, "CREATE TABLE t (x int)", []any{}, nil)
	}()
	waitFor(t, "the write waits", func() bool { return d.tickets.waiting() == 1 })
	go func() {
		tx, err := d.Tx(ctx)
		if err != nil {
			done <- err
			return
		}
		// The write ran before: its table is there. (Noting each one's
		// turn after it returned raced: the write's ticket is free before
		// its Exec returns.)
		var rows sql.Rows
		if err := tx.Query(ctx, "SELECT count(*) FROM t", []any{}, &rows); err != nil {
			_ = tx.Rollback()
			done <- fmt.Errorf("the transaction began before the write: %w", err)
			return
		}
		if err := rows.Close(); err != nil {
			done <- err
			return
		}
		done <- tx.Commit()
	}()
	waitFor(t, "the transaction waits", func() bool { return d.tickets.waiting() == 2 })
	for range 2 { // closed twice, the rows give their ticket back once
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if d.tickets.free != 1 {
		t.Fatalf("%d tickets free at the end, want 1", d.tickets.free)
	}
}

// fakeDriver opens transactions that do nothing, counting them.
type fakeDriver struct {
	dialect.Driver
	fail error
	mu   sync.Mutex
	n    int
}

func (f *fakeDriver) Tx(context.Context) (dialect.Tx, error) {
	if f.fail != nil {
		return nil, f.fail
	}
	f.mu.Lock()
	f.n++
	f.mu.Unlock()
	return dialect.NopTx(f), nil
}

func (f *fakeDriver) opened() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}
