package graph

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"estatecrm/ent"
	"estatecrm/ent/customer"
	"estatecrm/ent/predicate"
	"estatecrm/ent/schema/pulid"
	"estatecrm/money"
	"estatecrm/statement"
)

func TestPageStatementIsLearnedOnlyWhenEveryArgumentIsAccountedFor(t *testing.T) {
	c := newPageCache()
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	values := []any{"0298", customer.StageVISITED}
	standIns := []any{c.marker + "0", customer.Stage(c.marker + "1")}
	const text = `SELECT * FROM "customers" WHERE "phone_last4" = $1 AND "stage" = $2 AND "owner_id" = $3 AND "protected_until" <= $4`
	one := func(text string, args ...any) []statement.Statement {
		return []statement.Statement{{Text: text, Args: args}}
	}
	real := one(text, "0298", customer.StageVISITED, pulid.ID("US1"), now)
	standIn := one(text, standIns[0], standIns[1], pulid.ID("US1"), c.standInNow)

	p := c.learn(real, standIn, values, standIns, now)
	if p == nil {
		t.Fatal("not learned")
	}
	later := now.Add(time.Hour)
	got := p.argsFor([]any{"0777", customer.StageLOST}, later)
	if want := []any{"0777", customer.StageLOST, pulid.ID("US1"), later}; !reflect.DeepEqual(got, want) {
		t.Errorf("args %v, want %v", got, want)
	}

	for name, c2 := range map[string]struct{ real, standIn []statement.Statement }{
		"texts differ": {real, one(text+" LIMIT 11", standIns[0], standIns[1], pulid.ID("US1"), c.standInNow)},
		"a value wrapped": {
			one(text, "%0298%", customer.StageVISITED, pulid.ID("US1"), now),
			one(text, "%"+c.marker+"0%", standIns[1], pulid.ID("US1"), c.standInNow)},
		"a time derived from now": {
			one(text, "0298", customer.StageVISITED, pulid.ID("US1"), now.Add(-time.Hour)),
			one(text, standIns[0], standIns[1], pulid.ID("US1"), c.standInNow.Add(-time.Hour))},
		"a constant that changed": {real, one(text, standIns[0], standIns[1], pulid.ID("US2"), c.standInNow)},
		"a value that is not the page's": {
			one(text, "0299", customer.StageVISITED, pulid.ID("US1"), now), standIn},
		"a value of another type": {
			one(text, "0298", "VISITED", pulid.ID("US1"), now), standIn},
		"a stand-in in the text": {one(text+" -- "+c.marker, "0298", customer.StageVISITED, pulid.ID("US1"), now),
			one(text+" -- "+c.marker, standIns[0], standIns[1], pulid.ID("US1"), c.standInNow)},
		"two statements": {append(real, real...), append(standIn, standIn...)},
		"none":           {nil, nil},
	} {
		if p := c.learn(c2.real, c2.standIn, values, standIns, now); p != nil {
			t.Errorf("%s: learned %+v", name, p)
		}
	}
}

func TestWhereShapeKeepsWhatTheStatementDependsOn(t *testing.T) {
	c := newPageCache()
	shape := func(w *ent.CustomerWhereInput) (string, []any, bool) {
		var b strings.Builder
		values, ok := whereShape(&b, reflect.ValueOf(w).Elem())
		return b.String(), values, ok
	}
	s := func(v string) *string { return &v }
	five, six := money.Fen(5), money.Fen(6)
	a, av, _ := shape(&ent.CustomerWhereInput{PhoneLast4: s("0001")})
	b, bv, _ := shape(&ent.CustomerWhereInput{PhoneLast4: s("0002")})
	if a != b || !reflect.DeepEqual(av, []any{"0001"}) || !reflect.DeepEqual(bv, []any{"0002"}) {
		t.Errorf("one suffix: shapes %q %q, values %v %v", a, b, av, bv)
	}
	for name, w := range map[string]*ent.CustomerWhereInput{
		"another field":            {Name: s("0001")},
		"a list of two":            {PhoneLast4In: []string{"0001", "0002"}},
		"a list of one":            {PhoneLast4In: []string{"0001"}},
		"a flag":                   {PhoneLast4: s("0001"), BudgetMinIsNil: true},
		"a number":                 {PhoneLast4: s("0001"), BudgetMinGTE: &five},
		"a number of another size": {PhoneLast4: s("0001"), BudgetMinGTE: &six},
	} {
		if got, _, ok := shape(w); !ok || got == a {
			t.Errorf("%s: shape %q (ok %v), the same as one suffix's", name, got, ok)
		}
	}
	if x, _, _ := shape(&ent.CustomerWhereInput{BudgetMinGTE: &five}); x == func() string { y, _, _ := shape(&ent.CustomerWhereInput{BudgetMinGTE: &six}); return y }() {
		t.Errorf("two numbers, one shape %q", x)
	}
	stage := customer.StageLEAD
	for name, w := range map[string]*ent.CustomerWhereInput{
		"not":       {Not: &ent.CustomerWhereInput{PhoneLast4: s("0001")}},
		"or":        {Or: []*ent.CustomerWhereInput{{PhoneLast4: s("0001")}}},
		"an edge":   {HasProjectWith: []*ent.ProjectWhereInput{{}}},
		"predicate": {Predicates: []predicate.Customer{customer.PhoneLast4("0001")}},
	} {
		if _, _, ok := shape(w); ok {
			t.Errorf("%s: a shape", name)
		}
		if _, _, ok := c.standIn(w); ok {
			t.Errorf("%s: a stand-in", name)
		}
	}

	w := &ent.CustomerWhereInput{PhoneLast4: s("0001"), PhoneLast4In: []string{"a", "b"}, Stage: &stage}
	in, standIns, ok := c.standIn(w)
	if !ok || *in.PhoneLast4 != c.marker+"0" || !reflect.DeepEqual(in.PhoneLast4In, []string{c.marker + "1", c.marker + "2"}) || *in.Stage != customer.Stage(c.marker+"3") {
		t.Fatalf("stand-in %+v (ok %v)", in, ok)
	}
	if *w.PhoneLast4 != "0001" || w.PhoneLast4In[0] != "a" || *w.Stage != stage {
		t.Errorf("the page's filter changed: %+v", w)
	}
	_, values, _ := shape(w)
	if len(values) != len(standIns) || standIns[3] != customer.Stage(c.marker+"3") || values[3] != stage {
		t.Errorf("values %v and stand-ins %v do not pair up", values, standIns)
	}
}

// whereField.set reads a field's first word or byte: it must say what
// reflect's IsZero says of every field of a where input, set or not.
func TestWhereFieldSetIsReflectsIsZero(t *testing.T) {
	for _, w := range []any{&ent.CustomerWhereInput{}, &ent.UnitWhereInput{}} {
		v := reflect.ValueOf(w).Elem()
		fields := whereFields(v.Type())
		check := func(state string) {
			base := v.Addr().UnsafePointer()
			for i, f := range fields {
				if got, want := f.set(v, base, i), !v.Field(i).IsZero(); got != want {
					t.Errorf("%s %s.%s: set %v, want %v", state, v.Type().Name(), v.Type().Field(i).Name, got, want)
				}
			}
		}
		check("unset")
		for i := range fields {
			f := v.Field(i)
			switch f.Kind() {
			case reflect.Pointer:
				f.Set(reflect.New(f.Type().Elem()))
			case reflect.Slice:
				f.Set(reflect.MakeSlice(f.Type(), 0, 0)) // empty, not nil: set
			case reflect.Bool:
				f.SetBool(true)
			}
		}
		check("set")
	}
}

func TestKeptPageBindsEachConstantStringOnce(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	me, pa := pulid.ID("US1"), pulid.ID("PJ1")
	p := &pageStatement{
		text: `SELECT "id" FROM "customers" WHERE "v"."agent_id" = $1 OR "owner_id" = $2 AND "phone_last4" = $3 AND "project_id" IN ($4, $5) AND "protected_until" <= $6 AND "b" = $7 AND "a" <= $8 AND "filed_by_id" = $9 AND "c" = $10`,
		args: []pageArg{{kind: argConstant, constant: me}, {kind: argConstant, constant: me}, {kind: argValue, value: 0},
			{kind: argConstant, constant: pa}, {kind: argConstant, constant: me}, {kind: argNow},
			{kind: argConstant, constant: 5}, {kind: argConstant, constant: now}, {kind: argConstant, constant: me},
			{kind: argConstant, constant: 5}},
	}
	once := p.bindOnce()
	if once == nil {
		t.Fatal("not bound once")
	}
	const want = `SELECT "id" FROM "customers" WHERE "v"."agent_id" = $1 OR "owner_id" = $1 AND "phone_last4" = $2 AND "project_id" IN ($3, $1) AND "protected_until" <= $4 AND "b" = $5 AND "a" <= $6 AND "filed_by_id" = $1 AND "c" = $7`
	if once.text != want {
		t.Errorf("text\n%s\nwant\n%s", once.text, want)
	}
	later := now.Add(time.Hour)
	// Equal numbers (and times) stay apart: they may stand for different types.
	if got, want := once.argsFor([]any{"0777"}, later), []any{me, "0777", pa, later, 5, now, 5}; !reflect.DeepEqual(got, want) {
		t.Errorf("args %v, want %v", got, want)
	}
	if once.whole != p {
		t.Error("the statement as rendered is not kept for a refusal")
	}

	for name, text := range map[string]string{
		"a literal":            `SELECT 'a$1' FROM "customers" WHERE "a" = $1 AND "b" = $2`,
		"a dollar quote":       `SELECT $$x$$ FROM "customers" WHERE "a" = $1 AND "b" = $2`,
		"a parameter unused":   `SELECT "id" FROM "customers" WHERE "a" = $1`,
		"a parameter too many": `SELECT "id" FROM "customers" WHERE "a" = $1 AND "b" = $2 AND "c" = $3`,
		"SQLite's":             `SELECT "id" FROM "customers" WHERE "a" = ? AND "b" = ?`,
	} {
		q := &pageStatement{text: text, args: []pageArg{{kind: argConstant, constant: me}, {kind: argConstant, constant: me}}}
		if once := q.bindOnce(); once != nil {
			t.Errorf("%s: bound once: %+v", name, once)
		}
	}
	// A $ in a quoted identifier is not a parameter.
	q := &pageStatement{text: `SELECT "x$1" FROM "customers" WHERE "a" = $1 AND "b" = $2`, args: []pageArg{{kind: argConstant, constant: me}, {kind: argConstant, constant: me}}}
	if once := q.bindOnce(); once == nil || once.text != `SELECT "x$1" FROM "customers" WHERE "a" = $1 AND "b" = $1` {
		t.Errorf("identifier: %+v", once)
	}
	if once := (&pageStatement{text: `SELECT $1, $2`, args: []pageArg{{kind: argConstant, constant: me}, {kind: argValue}}}).bindOnce(); once != nil {
		t.Errorf("nothing repeated, bound once: %+v", once)
	}
	if (*pageStatement)(nil).bindOnce() != nil {
		t.Error("a page going ent's way bound once")
	}
}

type sqlStateError string

func (e sqlStateError) Error() string    { return "sqlstate " + string(e) }
func (e sqlStateError) SQLState() string { return string(e) }

func TestOnlyWhatTheTextMeetsIsARefusal(t *testing.T) {
	for code, want := range map[string]bool{"42P08": true, "42804": true, "40001": false, "57014": false, "08006": false} {
		if got := refused(fmt.Errorf("ent: %w", sqlStateError(code))); got != want {
			t.Errorf("%s: refused %v, want %v", code, got, want)
		}
	}
	if refused(errors.New("no state")) {
		t.Error("an error without a state refused")
	}
}

// A text that binds constants once and that PostgreSQL refuses gives way,
// for this page and the next, to the statement as ent rendered it; any
// other error is the page's.
func TestKeptPageRefusedBoundOnceRunsAsRendered(t *testing.T) {
	c := newPageCache()
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	whole := &pageStatement{text: `SELECT $1, $2, $3`, args: []pageArg{{kind: argConstant, constant: pulid.ID("US1")}, {kind: argValue}, {kind: argConstant, constant: pulid.ID("US1")}}}
	once := whole.bindOnce()
	key := pageKey{shape: "k"}
	c.put(key, once)
	var ran []string
	query := func(fail error) func(string, []any) ([]*ent.Customer, error) {
		return func(text string, args []any) ([]*ent.Customer, error) {
			ran = append(ran, fmt.Sprint(text, " ", args))
			if text == once.text && fail != nil {
				return nil, fail
			}
			return []*ent.Customer{{Name: text}}, nil
		}
	}
	if nodes, err := c.run(key, once, []any{"0001"}, now, query(fmt.Errorf("timeout: %w", sqlStateError("57014")))); err == nil || nodes != nil {
		t.Fatalf("a fault of the moment: %v %v", nodes, err)
	}
	if s, _ := c.get(key); s != once || len(ran) != 1 {
		t.Fatalf("a fault of the moment changed the kept statement (%v) or ran again: %q", s == once, ran)
	}
	ran = nil
	nodes, err := c.run(key, once, []any{"0001"}, now, query(sqlStateError("42P08")))
	if err != nil || len(nodes) != 1 || nodes[0].Name != whole.text {
		t.Fatalf("refused: %v %v", nodes, err)
	}
	if want := []string{"SELECT $1, $2, $1 [US1 0001]", "SELECT $1, $2, $3 [US1 0001 US1]"}; !slices.Equal(ran, want) {
		t.Errorf("ran %q, want %q", ran, want)
	}
	if s, _ := c.get(key); s != whole {
		t.Errorf("kept %+v, want the statement as rendered", s)
	}
}
