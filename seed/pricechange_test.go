package seed_test

import (
	"context"
	"testing"
	"time"

	"estatecrm/auth"
	"estatecrm/database/dbtest"
	"estatecrm/seed"
)

// At this instant the first tower's price change fell between a unit's
// hold and its reservation (the unit was held, so repriced), and the seed
// planned the old price: "reserve 1栋2201: price 9328611.25, planned
// 9190750.00".
func TestRunWhenThePriceChangeFallsInAHold(t *testing.T) {
	ctx := auth.SystemContext(context.Background())
	now := time.Date(2026, 11, 30, 1, 45, 0, 0, time.UTC)
	if _, err := seed.Run(ctx, dbtest.Open(t).Client(), now); err != nil {
		t.Fatal(err)
	}
}
