package statement_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"estatecrm/statement"
)

func TestLogsRecordWhatIsSentAndDryOnesStopIt(t *testing.T) {
	ctx := context.Background()
	if err := statement.Sent(ctx, "SELECT 1", []any{1}); err != nil || statement.IsDry(ctx) {
		t.Fatalf("without a log: %v, dry %v", err, statement.IsDry(ctx))
	}
	args := []any{"a", 2}
	rec, log := statement.Record(ctx)
	if err := statement.Sent(rec, "SELECT $1, $2", args); err != nil || statement.IsDry(rec) {
		t.Fatalf("recorded: %v, dry %v", err, statement.IsDry(rec))
	}
	args[0] = "changed after"
	dry, dryLog := statement.Dry(rec)
	if err := statement.Sent(dry, "SELECT 3", nil); !errors.Is(err, statement.ErrDry) || !statement.IsDry(dry) {
		t.Fatalf("dry: %v, dry %v", err, statement.IsDry(dry))
	}
	if got, want := log.Statements(), []statement.Statement{{Text: "SELECT $1, $2", Args: []any{"a", 2}}}; !reflect.DeepEqual(got, want) {
		t.Errorf("recorded %+v, want %+v", got, want)
	}
	if got := dryLog.Statements(); len(got) != 1 || got[0].Text != "SELECT 3" {
		t.Errorf("dry log %+v", got)
	}
}
