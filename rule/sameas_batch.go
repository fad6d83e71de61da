package rule

// Customer.sameAs for a page of customers in one statement (SPEC.md §6:
// statements per request independent of result size): the customers a
// request reads are noted as they are read, and the first sameAs asked
// about one of them answers for all of them at once (SameAsEach).

import (
	"context"
	"sync"

	"estatecrm/ent"
	"estatecrm/ent/privacy"
	"estatecrm/ent/schema/pulid"
)

// maxSameAsBatch bounds the ids of one statement, well under the bind
// parameter limits of SQLite and PostgreSQL.
const maxSameAsBatch = 500

// sameAsBatch is a request's: the customers it read, and the sameAs
// answered so far for each selection (a selection's records are read with
// its fields and edges, so two selections share no answers).
type sameAsBatch struct {
	load sync.Mutex // one batch at a time; the others wait for its answers
	mu   sync.Mutex // guards what follows; never held across a statement
	read []pulid.ID
	seen map[pulid.ID]bool
	done map[any]map[pulid.ID][]*ent.Customer
}

type sameAsBatchKey struct{}

// WithSameAsBatch returns ctx with a batch of its own for SameAsBatched:
// one per request, so that nothing is shared between viewers or outlives
// the request's reads.
func WithSameAsBatch(ctx context.Context) context.Context {
	return context.WithValue(ctx, sameAsBatchKey{}, &sameAsBatch{seen: map[pulid.ID]bool{}, done: map[any]map[pulid.ID][]*ent.Customer{}})
}

// NoteCustomers notes the customers a query returns in the batch of its
// context, if it has one, as those a sameAs may be asked about next. Reads
// that lift the privacy rules (the named questions of this package) are
// not the request's own and are not noted.
func NoteCustomers() ent.Interceptor {
	return ent.InterceptFunc(func(next ent.Querier) ent.Querier {
		return ent.QuerierFunc(func(ctx context.Context, q ent.Query) (ent.Value, error) {
			v, err := next.Query(ctx, q)
			b, _ := ctx.Value(sameAsBatchKey{}).(*sameAsBatch)
			cs, ok := v.([]*ent.Customer)
			if err != nil || b == nil || !ok || len(cs) == 0 {
				return v, err
			}
			if d, ok := privacy.DecisionFromContext(ctx); ok && d == privacy.Allow {
				return v, err
			}
			b.mu.Lock()
			for _, c := range cs {
				if !b.seen[c.ID] {
					b.seen[c.ID] = true
					b.read = append(b.read, c.ID)
				}
			}
			b.mu.Unlock()
			return v, err
		})
	})
}

// SameAsBatched answers SameAs for customer id: with a batch in ctx, out
// of the answers for every customer the request has read and selection
// has not answered yet, got in one statement with SameAsEach (query makes
// a query shaped by selection); without one, for id alone. selection
// tells apart the places of the request that ask (what they read of the
// records differs).
func SameAsBatched(ctx context.Context, selection any, id pulid.ID, query func() (*ent.CustomerQuery, error)) ([]*ent.Customer, error) {
	b, _ := ctx.Value(sameAsBatchKey{}).(*sameAsBatch)
	if b == nil {
		return sameAsOne(ctx, id, query)
	}
	b.load.Lock()
	defer b.load.Unlock()
	b.mu.Lock()
	done := b.done[selection]
	if done == nil {
		done = map[pulid.ID][]*ent.Customer{}
		b.done[selection] = done
	}
	if same, ok := done[id]; ok {
		b.mu.Unlock()
		return same, nil
	}
	ids := []pulid.ID{id}
	for _, c := range b.read {
		if len(ids) == maxSameAsBatch {
			break // the others in a statement of their own, when asked about
		}
		if _, ok := done[c]; !ok && c != id {
			ids = append(ids, c)
		}
	}
	b.mu.Unlock()
	q, err := query()
	if err != nil {
		return nil, err
	}
	got, err := SameAsEach(ctx, q, ids)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range ids {
		done[c] = answer(got, c)
	}
	return done[id], nil
}

// sameAsOne answers SameAs for id alone, in a statement of its own.
func sameAsOne(ctx context.Context, id pulid.ID, query func() (*ent.CustomerQuery, error)) ([]*ent.Customer, error) {
	q, err := query()
	if err != nil {
		return nil, err
	}
	got, err := SameAsEach(ctx, q, []pulid.ID{id})
	if err != nil {
		return nil, err
	}
	return answer(got, id), nil
}

// answer returns the records of customer id out of what SameAsEach
// answered, never nil (none if the viewer may not ask about id).
func answer(got map[pulid.ID][]*ent.Customer, id pulid.ID) []*ent.Customer {
	if same := got[id]; same != nil {
		return same
	}
	return []*ent.Customer{}
}
