package schema

import (
	"context"
	"strings"

	"estatecrm/apperr"
	gen "estatecrm/ent"
	"estatecrm/ent/hook"
	"estatecrm/phone"
)

// normalizePhone stores a customer's phone in E.164 with its last four digits
// beside it, whatever entry point wrote it, so that one person is one customer.
func normalizePhone(next gen.Mutator) gen.Mutator {
	return hook.CustomerFunc(func(ctx context.Context, m *gen.CustomerMutation) (gen.Value, error) {
		if raw, ok := m.Phone(); ok {
			p, err := phone.Normalize(raw)
			if err != nil {
				return nil, apperr.Input("phone", "%s", err.Error())
			}
			m.SetPhone(p)
			m.SetPhoneLast4(phone.Last4(p))
		}
		return next.Mutate(ctx, m)
	})
}

// checkBudget refuses a budget range whose minimum is above its maximum.
func checkBudget(next gen.Mutator) gen.Mutator {
	return hook.CustomerFunc(func(ctx context.Context, m *gen.CustomerMutation) (gen.Value, error) {
		lo, okLo := m.BudgetMin()
		hi, okHi := m.BudgetMax()
		if okLo && okHi && lo > hi {
			return nil, apperr.Input("budgetMax", "the budget maximum is below the minimum")
		}
		return next.Mutate(ctx, m)
	})
}

// lowerLogin makes logins case-insensitive by storing them lower-cased.
func lowerLogin(next gen.Mutator) gen.Mutator {
	return hook.UserFunc(func(ctx context.Context, m *gen.UserMutation) (gen.Value, error) {
		if l, ok := m.Login(); ok {
			m.SetLogin(strings.ToLower(strings.TrimSpace(l)))
		}
		return next.Mutate(ctx, m)
	})
}

// checkUnitPlace keeps a unit inside its building: the building belongs to
// the unit's project and the floor lies within the building's floors.
func checkUnitPlace(next gen.Mutator) gen.Mutator {
	return hook.UnitFunc(func(ctx context.Context, m *gen.UnitMutation) (gen.Value, error) {
		floor, floorSet := m.Floor()
		if !floorSet && !m.Op().Is(gen.OpCreate) {
			return next.Mutate(ctx, m)
		}
		buildingID, ok := m.BuildingID()
		if !ok { // an update of the floor: the building is the stored one
			id, err := m.OldBuildingID(ctx)
			if err != nil {
				return nil, err
			}
			buildingID = id
		}
		b, err := m.Client().Building.Get(ctx, buildingID)
		if err != nil {
			if gen.IsNotFound(err) {
				return nil, apperr.Input("buildingId", "no such building")
			}
			return nil, err
		}
		if projectID, ok := m.ProjectID(); ok && projectID != b.ProjectID {
			return nil, apperr.Input("buildingId", "the building belongs to another project")
		}
		if floorSet && floor > b.Floors {
			return nil, apperr.Input("floor", "floor %d is above the top floor (%d) of building %s", floor, b.Floors, b.Name)
		}
		return next.Mutate(ctx, m)
	})
}
