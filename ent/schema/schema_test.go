package schema_test

import (
	"context"
	"testing"

	"estatecrm/apperr"
	"estatecrm/auth"
	"estatecrm/database/dbtest"
	"estatecrm/ent"
	"estatecrm/ent/customer"
	"estatecrm/ent/unit"
	"estatecrm/money"
)

func setup(t *testing.T) (context.Context, *ent.Client, *ent.Project, *ent.Building) {
	t.Helper()
	ctx := auth.SystemContext(context.Background())
	client := dbtest.Open(t).Client()
	p := client.Project.Create().SetName("滨江·云玺").SetCity("杭州").SaveX(ctx)
	b := client.Building.Create().SetProjectID(p.ID).SetName("1栋").SetFloors(18).SaveX(ctx)
	return ctx, client, p, b
}

func TestCustomerPhoneIsNormalisedAndUnique(t *testing.T) {
	ctx, client, p, _ := setup(t)
	newCustomer := func(phone string) (*ent.Customer, error) {
		return client.Customer.Create().SetProjectID(p.ID).SetName("王伟").SetPhone(phone).
			SetSource(customer.SourceWALK_IN).Save(ctx)
	}
	c, err := newCustomer("138 0013 8000")
	if err != nil {
		t.Fatal(err)
	}
	if c.Phone != "+8613800138000" || c.PhoneLast4 != "8000" {
		t.Fatalf("stored phone %q, last4 %q", c.Phone, c.PhoneLast4)
	}
	if _, err := newCustomer("+86-138-0013-8000"); !ent.IsConstraintError(err) {
		t.Fatalf("the same phone written differently made a second customer: %v", err)
	}
	_, err = newCustomer("12345")
	if e, ok := apperr.As(err); !ok || e.Code != apperr.BadUserInput || e.Field != "phone" {
		t.Fatalf("a malformed phone: want BAD_USER_INPUT on phone, got %v", err)
	}
	if n := client.Customer.Query().CountX(ctx); n != 1 {
		t.Fatalf("%d customers after the refused writes, want 1", n)
	}
	c = client.Customer.UpdateOne(c).SetPhone("13900139000").SaveX(ctx)
	if c.Phone != "+8613900139000" || c.PhoneLast4 != "9000" {
		t.Fatalf("an updated phone is not normalised: %q %q", c.Phone, c.PhoneLast4)
	}
	_, err = client.Customer.Create().SetProjectID(p.ID).SetName("李娜").SetPhone("13700137000").
		SetSource(customer.SourceREFERRAL).SetBudgetMin(money.Yuan(5_000_000)).SetBudgetMax(money.Yuan(3_000_000)).Save(ctx)
	if e, ok := apperr.As(err); !ok || e.Field != "budgetMax" {
		t.Fatalf("a budget range upside down: want an error on budgetMax, got %v", err)
	}
}

func TestLoginIsCaseInsensitive(t *testing.T) {
	ctx, client, _, _ := setup(t)
	u := client.User.Create().SetName("张敏").SetLogin("  Agent.HZ1 ").SetRole("AGENT").SaveX(ctx)
	if u.Login != "agent.hz1" {
		t.Fatalf("login stored as %q", u.Login)
	}
	if _, err := client.User.Create().SetName("x").SetLogin("AGENT.hz1").SetRole("AGENT").Save(ctx); !ent.IsConstraintError(err) {
		t.Fatalf("a login differing only in case was accepted: %v", err)
	}
}

func TestUnitStaysInsideItsBuilding(t *testing.T) {
	ctx, client, p, b := setup(t)
	other := client.Project.Create().SetName("前海·天汇").SetCity("深圳").SaveX(ctx)
	newUnit := func(projectID any, floor int, price money.Fen) (*ent.Unit, error) {
		q := client.Unit.Create().SetProjectID(p.ID).SetBuildingID(b.ID).SetFloor(floor).
			SetNumber("1801").SetBedrooms(3).SetLivingRooms(2).SetBathrooms(2).
			SetGrossArea(120).SetNetArea(95).SetOrientation(unit.OrientationSOUTH).SetListPrice(price)
		if projectID != nil {
			q.SetProjectID(other.ID)
		}
		return q.Save(ctx)
	}
	for _, tc := range []struct {
		name    string
		project any
		floor   int
		price   money.Fen
		field   string
	}{
		{"above the top floor", nil, 19, money.Yuan(1), "floor"},
		{"a building of another project", other.ID, 5, money.Yuan(1), "buildingId"},
	} {
		_, err := newUnit(tc.project, tc.floor, tc.price)
		if e, ok := apperr.As(err); !ok || e.Field != tc.field {
			t.Fatalf("%s: want an error on %s, got %v", tc.name, tc.field, err)
		}
	}
	if _, err := newUnit(nil, 18, -1); !ent.IsValidationError(err) {
		t.Fatalf("a negative price: want a validation error, got %v", err)
	}
	u, err := newUnit(nil, 18, money.Yuan(4_200_000))
	if err != nil {
		t.Fatalf("a unit on the top floor was refused: %v", err)
	}
	if _, err := client.Unit.UpdateOne(u).SetFloor(30).Save(ctx); err == nil {
		t.Fatal("moving a unit above the top floor was accepted")
	}
	if n := client.Unit.Query().CountX(ctx); n != 1 {
		t.Fatalf("%d units, want 1", n)
	}
}
