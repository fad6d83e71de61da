package main

import (
	"context"
	"fmt"
	"math"

	"estatecrm/auth"
	"estatecrm/database"
	"estatecrm/ent"
	"estatecrm/ent/project"
	"estatecrm/ent/unit"
	"estatecrm/ent/user"
	"estatecrm/money"
)

// addGridProject adds to the seeded data a published project of n units
// (towers of 30 floors, 4 flats a floor) in which the agent works, for the
// sales grid: the demo projects have about 300 units each. It goes through
// the ent client with its hooks, as the seed does; the layout and prices
// follow from n alone.
func addGridProject(ctx context.Context, dbURL, agentLogin string, n int) (string, error) {
	db, err := database.Open(ctx, dbURL, database.Pool{MaxOpen: 2, MaxIdle: 2})
	if err != nil {
		return "", err
	}
	defer db.Close()
	sys := auth.SystemContext(ctx)
	tx, err := db.Client().Tx(sys)
	if err != nil {
		return "", err
	}
	defer func() { _ = tx.Rollback() }()
	c := tx.Client()
	const floors, perFloor = 30, 4
	p, err := c.Project.Create().SetName(fmt.Sprintf("基准·%d套", n)).SetCity("杭州").SetDistrict("滨江区").
		SetStatus(project.StatusSELLING).SetPublished(true).Save(sys)
	if err != nil {
		return "", fmt.Errorf("grid project: %w", err)
	}
	orient := []unit.Orientation{unit.OrientationSOUTH, unit.OrientationSOUTH, unit.OrientationEAST, unit.OrientationWEST}
	gross := []float64{89, 118, 128, 143}
	beds := []int{2, 3, 3, 4}
	for b := 0; b*floors*perFloor < n; b++ {
		bd, err := c.Building.Create().SetProjectID(p.ID).SetName(fmt.Sprintf("%d幢", b+1)).
			SetFloors(floors).SetUnitsPerFloor(perFloor).Save(sys)
		if err != nil {
			return "", fmt.Errorf("grid building: %w", err)
		}
		var us []*ent.UnitCreate
		for f := 1; f <= floors && b*floors*perFloor+len(us) < n; f++ {
			for k := 0; k < perFloor && b*floors*perFloor+len(us) < n; k++ {
				price := money.Yuan(int64(math.Round((30000+200*float64(f)+500*float64(k))*gross[k]/100)) * 100)
				us = append(us, c.Unit.Create().SetProjectID(p.ID).SetBuildingID(bd.ID).
					SetFloor(f).SetNumber(fmt.Sprintf("%d%02d", f, k+1)).
					SetBedrooms(beds[k]).SetLivingRooms(2).SetBathrooms(1+beds[k]/3).
					SetGrossArea(gross[k]).SetNetArea(math.Round(gross[k]*78)/100).
					SetOrientation(orient[k]).SetListPrice(price).SetPublished(f <= floors-2))
			}
		}
		if err := c.Unit.CreateBulk(us...).Exec(sys); err != nil {
			return "", fmt.Errorf("grid units: %w", err)
		}
	}
	if err := c.User.Update().Where(user.Login(agentLogin)).AddProjectIDs(p.ID).Exec(sys); err != nil {
		return "", fmt.Errorf("grid project staff: %w", err)
	}
	return string(p.ID), tx.Commit()
}
