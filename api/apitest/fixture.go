package apitest

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"testing"

	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/unit"
	"estatecrm/ent/user"
	"estatecrm/money"
)

// Project creates a project with the given buildings, each with floors ×
// perFloor units priced by floor, all available.
func (e *Env) Project(t testing.TB, name string, buildings, floors, perFloor int) *ent.Project {
	t.Helper()
	ctx := System()
	p, err := e.Client.Project.Create().SetName(name).SetCity("杭州").SetPublished(true).Save(ctx)
	if err != nil {
		t.Fatalf("create project: %v", err)
	}
	for b := 1; b <= buildings; b++ {
		bd, err := e.Client.Building.Create().SetProjectID(p.ID).SetName(fmt.Sprintf("%d栋", b)).
			SetFloors(floors).SetUnitsPerFloor(perFloor).Save(ctx)
		if err != nil {
			t.Fatalf("create building: %v", err)
		}
		var units []*ent.UnitCreate
		for f := 1; f <= floors; f++ {
			for n := 1; n <= perFloor; n++ {
				units = append(units, e.Client.Unit.Create().
					SetProjectID(p.ID).SetBuildingID(bd.ID).SetFloor(f).
					SetNumber(fmt.Sprintf("%d%02d", f, n)).
					SetBedrooms(3).SetLivingRooms(2).SetBathrooms(2).
					SetGrossArea(100).SetNetArea(80).
					SetOrientation(unit.OrientationSOUTH).
					SetListPrice(money.Yuan(int64(3_000_000+f*10_000+n))).
					SetPublished(true))
			}
		}
		if err := e.Client.Unit.CreateBulk(units...).Exec(ctx); err != nil {
			t.Fatalf("create units: %v", err)
		}
	}
	return p
}

// Password is the password of users made by Env.User.
const Password = "correct-horse-battery"

// User creates a login with Password and returns it with the viewer it is.
func (e *Env) User(t testing.TB, role user.Role, login string, projects ...*ent.Project) (*ent.User, *auth.Viewer) {
	t.Helper()
	hash, err := auth.HashPassword(Password)
	if err != nil {
		t.Fatal(err)
	}
	c := e.Client.User.Create().SetName(login).SetLogin(login).SetPasswordHash(hash).SetRole(role)
	for _, p := range projects {
		c.AddProjectIDs(p.ID)
	}
	u, err := c.Save(System())
	if err != nil {
		t.Fatalf("create user: %v", err)
	}
	u.Edges.Projects = projects
	return u, auth.ViewerOf(u)
}

// PhotoBytes is a small PNG whose pixels depend on label, so photos made
// from different labels differ.
func PhotoBytes(label string) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for i := range img.Pix {
		img.Pix[i] = label[i%len(label)]
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err)
	}
	return b.Bytes()
}
