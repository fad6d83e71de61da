package rule_test

import (
	"fmt"
	"testing"

	"estatecrm/ent"
	"estatecrm/ent/pricechange"
	"estatecrm/ent/unit"
	"estatecrm/money"
)

// TestOnlyAManagerPricesPublishesOrWithdraws: on the ent client itself, a
// unit's list price, its published flag and its withdrawal are written by a
// manager of its project or an admin; an agent of the project, who writes
// units for holds, is refused; anyone else does not find the unit.
func TestOnlyAManagerPricesPublishesOrWithdraws(t *testing.T) {
	w := newWorld(t)
	write := func(label string, f func(*ent.UnitUpdateOne) *ent.UnitUpdateOne) func(role string) string {
		return func(role string) string {
			return w.inTx(t, func(c *ent.Client) error {
				return f(c.Unit.UpdateOneID(w.ids[label])).Exec(w.as(role))
			})
		}
	}
	// (An agent is refused before its projects are looked at: C, of Q,
	// learns nothing of P's unit from it.)
	cells := every("FORBIDDEN", map[string]string{"admin": "ok", "M": "ok", "anonymous": "UNAUTHENTICATED"})
	check(t, "reprice uFree", cells, write("uFree", func(u *ent.UnitUpdateOne) *ent.UnitUpdateOne {
		return u.SetListPrice(money.Yuan(1))
	}))
	check(t, "add to uFree's price", cells, write("uFree", func(u *ent.UnitUpdateOne) *ent.UnitUpdateOne {
		return u.AddListPrice(money.Yuan(1))
	}))
	check(t, "publish uFree", cells, write("uFree", func(u *ent.UnitUpdateOne) *ent.UnitUpdateOne {
		return u.SetPublished(true)
	}))
	check(t, "withdraw uFree", cells, write("uFree", func(u *ent.UnitUpdateOne) *ent.UnitUpdateOne {
		return u.SetStatus(unit.StatusWITHDRAWN)
	}))
	// An agent still writes a unit's status for a hold.
	check(t, "hold uFree", every("FORBIDDEN", map[string]string{
		"admin": "ok", "M": "ok", "A": "ok", "anonymous": "UNAUTHENTICATED",
	}), write("uFree", func(u *ent.UnitUpdateOne) *ent.UnitUpdateOne {
		return u.SetStatus(unit.StatusHELD).SetHeldByID(w.ids["A"]).SetHeldForID(w.ids["cA"]).SetHoldExpiresAt(w.now.Add(10 * 60e9))
	}))

	// A project's publication: its manager (nothing else of it), an admin.
	publish := func(project string, rename bool) func(role string) string {
		return func(role string) string {
			return w.inTx(t, func(c *ent.Client) error {
				u := c.Project.UpdateOneID(w.ids[project]).SetPublished(true)
				if rename {
					u.SetName("renamed")
				}
				return u.Exec(w.as(role))
			})
		}
	}
	check(t, "publish P", every("FORBIDDEN", map[string]string{"admin": "ok", "M": "ok", "anonymous": "UNAUTHENTICATED"}), publish("P", false))
	check(t, "publish Q", every("FORBIDDEN", map[string]string{"admin": "ok", "M": "NOT_FOUND", "anonymous": "UNAUTHENTICATED"}), publish("Q", false))
	// A manager also updates their own project's description
	// (AllowManagerProjectUpdates, updateProject): publishing and renaming
	// at once is theirs too, and still nobody else's but the admin's.
	check(t, "publish and rename P", every("FORBIDDEN", map[string]string{"admin": "ok", "M": "ok", "anonymous": "UNAUTHENTICATED"}), publish("P", true))
	check(t, "publish and rename Q", every("FORBIDDEN", map[string]string{"admin": "ok", "M": "NOT_FOUND", "anonymous": "UNAUTHENTICATED"}), publish("Q", true))
}

// TestPriceHistoryIsTheStaffs: price changes are recorded by a manager of
// the unit's project under their own name (or an admin), never changed
// afterwards but by an admin, and read by the project's staff only.
func TestPriceHistoryIsTheStaffs(t *testing.T) {
	w := newWorld(t)
	record := func(project, unitLabel, by string) func(role string) string {
		return func(role string) string {
			return w.inTx(t, func(c *ent.Client) error {
				return c.PriceChange.Create().SetUnitID(w.ids[unitLabel]).SetProjectID(w.ids[project]).
					SetOldPrice(money.Yuan(3_000_000)).SetNewPrice(money.Yuan(3_100_000)).
					SetChangedByID(w.ids[by]).SetReason("调价").Exec(w.as(role))
			})
		}
	}
	check(t, "record a change of uFree by M", every("FORBIDDEN", map[string]string{"admin": "ok", "M": "ok", "anonymous": "UNAUTHENTICATED"}),
		record("P", "uFree", "M"))
	check(t, "record a change of uFree by A", every("FORBIDDEN", map[string]string{"admin": "ok", "anonymous": "UNAUTHENTICATED"}),
		record("P", "uFree", "A"))
	check(t, "record a change of uQ by M", every("FORBIDDEN", map[string]string{"admin": "ok", "anonymous": "UNAUTHENTICATED"}),
		record("Q", "uQ", "M"))

	pc := w.client.PriceChange.Create().SetUnitID(w.ids["uFree"]).SetProjectID(w.ids["P"]).
		SetOldPrice(money.Yuan(3_000_000)).SetNewPrice(money.Yuan(3_100_000)).
		SetChangedByID(w.ids["M"]).SetReason("调价").SaveX(w.sys())
	w.client.PriceChange.Create().SetUnitID(w.ids["uQ"]).SetProjectID(w.ids["Q"]).
		SetOldPrice(money.Yuan(3_000_000)).SetNewPrice(money.Yuan(3_100_000)).SetReason("调价").ExecX(w.sys())
	check(t, "read price changes", every("0", map[string]string{
		"admin": "2", "M": "1", "A": "1", "B": "1", "C": "1", "anonymous": "UNAUTHENTICATED",
	}), func(role string) string {
		n, err := w.client.PriceChange.Query().Count(w.as(role))
		if err != nil {
			return outcome(err)
		}
		return fmt.Sprint(n)
	})
	check(t, "read uFree's change through the unit", every("NOT_FOUND", map[string]string{
		"admin": "1", "M": "1", "A": "1", "B": "1", "portal": "NOT_FOUND", "anonymous": "UNAUTHENTICATED",
	}), func(role string) string {
		u, err := w.client.Unit.Get(w.as(role), w.ids["uFree"])
		if err != nil {
			return outcome(err)
		}
		return fmt.Sprint(u.QueryPriceHistory().CountX(w.as(role)))
	})
	check(t, "rewrite a change", every("FORBIDDEN", map[string]string{"admin": "ok", "anonymous": "UNAUTHENTICATED"}),
		func(role string) string {
			return w.inTx(t, func(c *ent.Client) error {
				_, err := c.PriceChange.Delete().Where(pricechange.ID(pc.ID)).Exec(w.as(role))
				return err
			})
		})
}
