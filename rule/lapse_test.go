package rule_test

import (
	"testing"
	"time"

	"estatecrm/rule"
)

// NextHoldLapse answers each viewer the first lapse among the units it
// sees: staff of the project the live hold's (the lapsed one is past), a
// portal only once the project and the unit are published, a homeowner and
// an agent of another project nothing.
func TestNextHoldLapse(t *testing.T) {
	w := newWorld(t)
	live := w.now.Add(20 * time.Minute).Format(time.RFC3339)
	ask := func(at time.Time) func(string) string {
		return func(role string) string {
			got, err := rule.NextHoldLapse(w.at(role, at), w.client, w.ids["P"])
			switch {
			case err != nil:
				return outcome(err)
			case got.IsZero():
				return "none"
			}
			return got.Format(time.RFC3339)
		}
	}
	staff := map[string]string{"admin": live, "M": live, "A": live, "B": live, "anonymous": "UNAUTHENTICATED"}
	check(t, "unpublished", every("none", staff), ask(w.now))

	w.client.Project.UpdateOneID(w.ids["P"]).SetPublished(true).ExecX(w.sys())
	w.client.Unit.UpdateOneID(w.ids["uLive"]).SetPublished(true).ExecX(w.sys())
	withPortal := map[string]string{"portal": live}
	for k, v := range staff {
		withPortal[k] = v
	}
	check(t, "published", every("none", withPortal), ask(w.now))

	check(t, "after the hold lapsed", every("none", map[string]string{"anonymous": "UNAUTHENTICATED"}),
		ask(w.now.Add(21*time.Minute)))
}
