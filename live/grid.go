package live

import (
	"context"
	"sync"
	"sync/atomic"

	"estatecrm/ent"
	"estatecrm/ent/hook"
	"estatecrm/ent/schema/pulid"
)

// GridEvent says that something a project's sales grid shows changed other
// than a unit's status (which a UnitEvent says): a price, a publish flag, a
// building's or the project's name, a unit added or removed. An empty
// ProjectID means any project may have changed (a bulk update, or an update
// of one row whose project the hook would have to read to name).
type GridEvent struct {
	ProjectID pulid.ID `json:"p,omitempty"`
}

// versions numbers the states of each project's grid, so that a cache of
// grid answers (package api) can tell whether an answer is still current
// without asking the database: an answer built at version v of its project
// is current while GridVersion still says v.
//
// One sequence numbers every change; a project's version is the number of
// its last change, or of the last change of everything, whichever is later.
// Every grid request reads it: atomics, not a lock, so that 50 requests on
// two busy cores do not queue behind a reader the scheduler put aside.
type versions struct {
	seq      atomic.Uint64
	all      atomic.Uint64
	projects sync.Map // pulid.ID → *atomic.Uint64
	// deaf is set while the hub may be missing another process's change
	// (its listener is down, or it cannot read the outbox): no version can
	// be trusted.
	deaf atomic.Bool
	// clients are those the hub's hooks are installed on (copied on
	// write): a change through any other client is not seen.
	mu      sync.Mutex
	clients atomic.Pointer[map[*ent.Client]bool]
}

// GridVersion returns the version of a project's grid in this process, and
// false when no version can be trusted: the hub's listener is down, or
// client is not one the hub watches (see Install).
func (h *Hub) GridVersion(client *ent.Client, projectID pulid.ID) (uint64, bool) {
	v := &h.grid
	if c := v.clients.Load(); v.deaf.Load() || c == nil || !(*c)[client] {
		return 0, false
	}
	n := v.all.Load()
	if p, ok := v.projects.Load(projectID); ok {
		n = max(n, p.(*atomic.Uint64).Load())
	}
	return n, true
}

// gridChanged moves the version of a project's grid ("" means every
// project's) past every version handed out so far.
func (h *Hub) gridChanged(projectID pulid.ID) {
	v := &h.grid
	n := v.seq.Add(1)
	if projectID == "" {
		raise(&v.all, n)
		return
	}
	p, ok := v.projects.Load(projectID)
	if !ok {
		p, _ = v.projects.LoadOrStore(projectID, new(atomic.Uint64))
	}
	raise(p.(*atomic.Uint64), n)
}

// raise sets x to n unless it already holds more (two changes storing their
// numbers in the other order must not take a version back).
func raise(x *atomic.Uint64, n uint64) {
	for {
		old := x.Load()
		if old >= n || x.CompareAndSwap(old, n) {
			return
		}
	}
}

// setDeaf records whether the hub may be missing other processes' changes
// (its listener is down, or its reads of the outbox fail); either way every
// version moves on, so that nothing built before a possible gap is trusted
// after it.
func (h *Hub) setDeaf() {
	deaf := h.listenerDown.Load() || h.readFailing.Load()
	if deaf {
		h.grid.deaf.Store(true)
		h.gridChanged("")
		return
	}
	h.gridChanged("")
	h.grid.deaf.Store(false)
}

// watch records that the hub's hooks are installed on client.
func (h *Hub) watch(client *ent.Client) {
	v := &h.grid
	v.mu.Lock()
	defer v.mu.Unlock()
	clients := map[*ent.Client]bool{client: true}
	if old := v.clients.Load(); old != nil {
		for c := range *old {
			clients[c] = true
		}
	}
	v.clients.Store(&clients)
}

// installGrid makes every write through client that may change what a
// sales grid shows move the grid's version: in this process when the write
// commits (before the writer's response is sent: the agent who just changed
// a unit reads the change), in the others when they hear of it. Status
// changes of units are announced by the status hook (Install) and move the
// version when delivered; this covers the rest. Hooks rather than a list of
// resolvers, so that any future write path (a price change, the seed, the
// CLI) is covered by being a write.
func (h *Hub) installGrid(client *ent.Client) {
	client.Unit.Use(func(next ent.Mutator) ent.Mutator {
		return hook.UnitFunc(func(ctx context.Context, m *ent.UnitMutation) (ent.Value, error) {
			var projectID pulid.ID
			switch c, ok := ctx.Value(changingKey{}).(changing); {
			case m.Op().Is(ent.OpCreate):
				projectID, _ = m.ProjectID()
			case m.Op().Is(ent.OpUpdate|ent.OpUpdateOne) && onlyHoldFields(m):
				// A status change (a hold, a release, a sale): the status
				// hook announces each changed unit with its project, and
				// the announcement moves the version; a second one would
				// cost the write a statement (NOTIFY) for nothing.
				return next.Mutate(ctx, m)
			case ok:
				projectID = c.projectID
			}
			return h.changeGrid(ctx, next, m, projectID)
		})
	})
	client.Building.Use(func(next ent.Mutator) ent.Mutator {
		return hook.BuildingFunc(func(ctx context.Context, m *ent.BuildingMutation) (ent.Value, error) {
			projectID, _ := m.ProjectID() // set on create only (immutable)
			return h.changeGrid(ctx, next, m, projectID)
		})
	})
	client.Project.Use(func(next ent.Mutator) ent.Mutator {
		return hook.ProjectFunc(func(ctx context.Context, m *ent.ProjectMutation) (ent.Value, error) {
			var projectID pulid.ID
			if m.Op().Is(ent.OpUpdateOne | ent.OpDeleteOne) {
				projectID, _ = m.ID()
			} else if m.Op().Is(ent.OpCreate) {
				// A new project had no grid: nothing to move.
				return next.Mutate(ctx, m)
			}
			return h.changeGrid(ctx, next, m, projectID)
		})
	})
	// Deleting a user or a customer clears units' held_by_id or held_for_id
	// in the database itself (ON DELETE SET NULL), with no unit hook.
	client.User.Use(hook.On(func(next ent.Mutator) ent.Mutator {
		return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
			return h.changeGrid(ctx, next, m, "")
		})
	}, ent.OpDelete|ent.OpDeleteOne))
	client.Customer.Use(hook.On(func(next ent.Mutator) ent.Mutator {
		return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
			return h.changeGrid(ctx, next, m, "")
		})
	}, ent.OpDelete|ent.OpDeleteOne))
	h.watch(client)
}

// holdFields are the unit fields a hold, a release, a reservation or a
// delivery writes besides the status.
var holdFields = []string{"status", "hold_expires_at", "held_by_id", "held_for_id", "updated_at"}

// onlyHoldFields reports whether m sets the status and nothing but it and
// the hold fields: a change the status hook announces.
func onlyHoldFields(m *ent.UnitMutation) bool {
	if _, ok := m.Status(); !ok || len(m.AddedFields()) > 0 {
		return false
	}
	for _, f := range append(m.Fields(), m.ClearedFields()...) {
		if !contains(holdFields, f) {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// txMutation is what changeGrid needs of a mutation: its client, and its
// transaction if it runs in one.
type txMutation interface {
	ent.Mutation
	Client() *ent.Client
	Tx() (*ent.Tx, error)
}

// changeGrid runs the mutation and then announces that the grid of
// projectID ("" for any project) changed.
func (h *Hub) changeGrid(ctx context.Context, next ent.Mutator, m ent.Mutation, projectID pulid.ID) (ent.Value, error) {
	v, err := next.Mutate(ctx, m)
	if err != nil {
		return v, err // nothing changed, or the transaction will not commit
	}
	tm, ok := m.(txMutation)
	if !ok { // every generated mutation is one; a stranger moves everything
		h.gridChanged("")
		return v, nil
	}
	return v, h.announceTx(ctx, tm, message{Grid: &GridEvent{ProjectID: projectID}})
}

// announceTx is announce for a mutation: its own transaction, if any,
// decides when the change is delivered, whether or not the request's
// context carries it.
func (h *Hub) announceTx(ctx context.Context, m txMutation, e message) error {
	tx, err := m.Tx()
	if err != nil {
		tx = nil
	}
	return h.send(ctx, m.Client(), tx, e)
}
