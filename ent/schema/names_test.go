package schema_test

import (
	"testing"

	"estatecrm/ent"
	"estatecrm/ent/customer"
)

// A name or title made only of white space (a space, a full-width space
// typed on a Chinese keyboard, a zero-width space pasted from a chat) or
// holding a control character is refused at the data layer, so every
// entry point refuses it; a name with spaces inside is a name.
func TestBlankNamesAreRefused(t *testing.T) {
	ctx, client, p, b := setup(t)
	writes := map[string]func(name string) error{
		"customer name": func(n string) error {
			return client.Customer.Create().SetProjectID(p.ID).SetName(n).SetPhone("13800138000").
				SetSource(customer.SourceWALK_IN).Exec(ctx)
		},
		"user name": func(n string) error {
			return client.User.Create().SetName(n).SetLogin("u.blank").SetRole("AGENT").Exec(ctx)
		},
		"project name": func(n string) error {
			return client.Project.Create().SetName(n).SetCity("杭州").Exec(ctx)
		},
		"project renamed": func(n string) error { return client.Project.UpdateOne(p).SetName(n).Exec(ctx) },
		"building name": func(n string) error {
			return client.Building.Create().SetProjectID(p.ID).SetName(n).SetFloors(3).Exec(ctx)
		},
		"building renamed": func(n string) error { return client.Building.UpdateOne(b).SetName(n).Exec(ctx) },
		"API key name": func(n string) error {
			return client.APIKey.Create().SetName(n).SetKeyPrefix("ek_blank").SetSecretHash("x").Exec(ctx)
		},
	}
	for what, write := range writes {
		for _, blank := range []string{" ", "   ", "\t\n", "\u3000\u3000", "\u200b", " \u00a0 ", "王\x00伟", "王\n伟"} {
			err := write(blank)
			if !ent.IsValidationError(err) {
				t.Fatalf("%s %q: want a validation error, got %v", what, blank, err)
			}
		}
	}
	if err := writes["building name"]("2 栋"); err != nil {
		t.Fatalf("a name with a space inside was refused: %v", err)
	}
	if n := client.Project.Query().CountX(ctx); n != 1 {
		t.Fatalf("%d projects after the refused writes, want 1", n)
	}
	if got := client.Project.GetX(ctx, p.ID).Name; got != p.Name {
		t.Fatalf("a refused rename renamed the project to %q", got)
	}
}
