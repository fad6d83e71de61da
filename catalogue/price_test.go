package catalogue_test

import (
	"testing"

	"estatecrm/catalogue"
	"estatecrm/money"
)

// TestPriceAdjustedRoundsToTheYuan: a percentage change lands on a whole
// yuan, halves up, the same on every run.
func TestPriceAdjustedRoundsToTheYuan(t *testing.T) {
	for _, c := range []struct {
		old  money.Fen
		bp   int
		want money.Fen
	}{
		{money.Yuan(3_100_001), 250, money.Yuan(3_177_501)},   // 3,177,501.025
		{money.Yuan(3_100_020), 250, money.Yuan(3_177_521)},   // 3,177,520.5: half up
		{money.Yuan(3_100_019), 250, money.Yuan(3_177_519)},   // 3,177,519.475
		{money.Yuan(3_177_501), -100, money.Yuan(3_145_726)},  // 3,145,725.99
		{money.Yuan(2_000_000), -5000, money.Yuan(1_000_000)}, // −50%
		{money.Fen(12_345), 10000, money.Yuan(247)},           // 246.90 doubled
		{money.Fen(49), 1, money.Fen(0)},                      // 0.49 yuan rounds down
	} {
		if got := catalogue.PriceAdjusted(c.old, c.bp); got != c.want {
			t.Errorf("%s %+d bp: %s, want %s", c.old, c.bp, got, c.want)
		}
	}
}
