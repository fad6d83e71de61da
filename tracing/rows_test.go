package tracing_test

import (
	"context"
	stdsql "database/sql"
	"testing"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"estatecrm/tracing"
)

// countingRows counts the calls of ColumnTypes, which database/sql answers
// by building the whole list anew.
type countingRows struct {
	entsql.ColumnScanner
	n int
}

func (r *countingRows) ColumnTypes() ([]*stdsql.ColumnType, error) {
	r.n++
	return []*stdsql.ColumnType{}, nil
}

type rowsDriver struct {
	nopDriver
	rows *countingRows
}

func (d rowsDriver) Query(_ context.Context, _ string, _, v any) error {
	v.(*entsql.Rows).ColumnScanner = d.rows
	return nil
}

// TestColumnTypesReadOncePerResult: ent asks a result for its column types
// once per row when it reads a column it has no field for; the driver asks
// database/sql once per result.
func TestColumnTypesReadOncePerResult(t *testing.T) {
	under := &countingRows{}
	drv := tracing.Driver(rowsDriver{rows: under})
	var rows entsql.Rows
	if err := drv.Query(context.Background(), "SELECT 1", []any{}, &rows); err != nil {
		t.Fatal(err)
	}
	for range 21 { // a page of 20 and one more
		if _, err := rows.ColumnTypes(); err != nil {
			t.Fatal(err)
		}
	}
	if under.n != 1 {
		t.Fatalf("the result's column types were built %d times for 21 rows, want once", under.n)
	}
}

var _ dialect.Driver = rowsDriver{}
