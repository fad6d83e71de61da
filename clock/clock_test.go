package clock_test

import (
	"context"
	"testing"
	"time"

	"estatecrm/clock"
)

func TestNowReadsTheClockOfTheContext(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
	ctx := clock.NewContext(context.Background(), func() time.Time { return at })
	if got := clock.Now(ctx); !got.Equal(at) || got.Location() != time.UTC {
		t.Fatalf("Now = %v, want %v in UTC", got, at)
	}
	before := time.Now()
	if got := clock.Now(context.Background()); got.Before(before) || got.Location() != time.UTC {
		t.Fatalf("without a clock Now = %v, want the system's time in UTC", got)
	}
	if got := clock.Now(clock.NewContext(context.Background(), nil)); got.Before(before) {
		t.Fatalf("with a nil clock Now = %v, want the system's time", got)
	}
}

func TestSourceIsTheClockOfTheContext(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	now := clock.Source(clock.NewContext(context.Background(), func() time.Time { return at }))
	if now == nil || !now().Equal(at) {
		t.Fatal("Source of a context with a clock is not that clock")
	}
	if clock.Source(context.Background()) != nil {
		t.Fatal("Source of a context without a clock is not nil")
	}
}
