package seed_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"estatecrm/auth"
	"estatecrm/database/dbtest"
	"estatecrm/ent"
	"estatecrm/seed"
)

// seededCatalogueDigest is the digest of what the seed made of projects,
// buildings and units at a fixed now, every field but the ids. Entering
// them through package catalogue (issue 11) changed none of it (it was
// 57a8fc20…); the sales history through the operations changed it on
// purpose: units are published, held and sold at the times of their
// steps (updated_at), the first tower's unsold upper floors were repriced
// +1.5% 45 days before now, a deal costs what sales.ReserveUnit charges
// (the list price of its day less the discount, in fen, no longer rounded
// to the yuan), and the project is published on launch day.
const seededCatalogueDigest = "371b47f677110837975faf2f40a9564b90512f417831a778b292941e60aca8f6"

// TestSeedCatalogueIsUnchanged: the demo's projects, buildings and units are
// field for field what they were when the digest was taken, on SQLite and
// PostgreSQL alike.
func TestSeedCatalogueIsUnchanged(t *testing.T) {
	ctx := auth.SystemContext(context.Background())
	now := time.Date(2026, 3, 14, 6, 30, 0, 0, time.UTC)
	client := dbtest.Open(t).Client()
	if _, err := seed.Run(ctx, client, now); err != nil {
		t.Fatalf("Run: %v", err)
	}
	lines := catalogueLines(t, ctx, client)
	sum := fmt.Sprintf("%x", sha256.Sum256([]byte(strings.Join(lines, "\n"))))
	t.Logf("%d rows; first %q", len(lines), lines[0])
	if sum != seededCatalogueDigest {
		t.Fatalf("the seed's catalogue changed: digest %s, want %s", sum, seededCatalogueDigest)
	}
}

func catalogueLines(t *testing.T, ctx context.Context, client *ent.Client) []string {
	t.Helper()
	ts := func(x *time.Time) string {
		if x == nil {
			return "-"
		}
		return x.UTC().Format(time.RFC3339Nano)
	}
	var out []string
	projects := map[string]string{}
	for _, p := range client.Project.Query().AllX(ctx) {
		projects[string(p.ID)] = p.Name
		out = append(out, fmt.Sprintln("P ", p.Name, p.City, p.District, p.Address, *p.Latitude, *p.Longitude, p.Status,
			p.PresalePermit, ts(p.LaunchDate), ts(p.DeliveryDate), p.Amenities, p.Published,
			*p.ProtectionDays, *p.HoldMinutes, *p.AgentDiscountCapBp, ts(&p.CreatedAt), ts(&p.UpdatedAt)))
	}
	buildings := map[string]string{}
	for _, b := range client.Building.Query().AllX(ctx) {
		buildings[string(b.ID)] = projects[string(b.ProjectID)] + "/" + b.Name
		out = append(out, fmt.Sprintln("B ", buildings[string(b.ID)], b.Floors, b.UnitsPerFloor, ts(&b.CreatedAt), ts(&b.UpdatedAt)))
	}
	users := map[string]string{}
	for _, u := range client.User.Query().AllX(ctx) {
		users[string(u.ID)] = u.Login
	}
	customers := map[string]string{}
	for _, c := range client.Customer.Query().AllX(ctx) {
		customers[string(c.ID)] = c.Phone
	}
	units := map[string]string{}
	for _, u := range client.Unit.Query().AllX(ctx) {
		by, forC := "-", "-"
		if u.HeldByID != nil {
			by = users[string(*u.HeldByID)]
		}
		if u.HeldForID != nil {
			forC = customers[string(*u.HeldForID)]
		}
		units[string(u.ID)] = buildings[string(u.BuildingID)] + "/" + u.Number
		out = append(out, fmt.Sprintln("U ", units[string(u.ID)], projects[string(u.ProjectID)], u.Floor, u.Bedrooms,
			u.LivingRooms, u.Bathrooms, u.GrossArea, u.NetArea, u.Orientation, u.Decoration, u.ListPrice, u.Status,
			u.Published, ts(u.HoldExpiresAt), by, forC, ts(&u.CreatedAt), ts(&u.UpdatedAt)))
	}
	// What points at units: deals, visits' units shown, complaints.
	for _, d := range client.Deal.Query().AllX(ctx) {
		out = append(out, fmt.Sprintln("D ", units[string(d.UnitID)], customers[string(d.CustomerID)], d.Stage, d.Price))
	}
	for _, v := range client.Visit.Query().WithUnitsShown().AllX(ctx) {
		var shown []string
		for _, u := range v.Edges.UnitsShown {
			shown = append(shown, units[string(u.ID)])
		}
		sort.Strings(shown)
		out = append(out, fmt.Sprintln("V ", customers[string(v.CustomerID)], ts(&v.OccurredAt), shown))
	}
	for _, c := range client.Complaint.Query().AllX(ctx) {
		out = append(out, fmt.Sprintln("C ", units[string(c.UnitID)], customers[string(c.CustomerID)], c.Title, ts(&c.CreatedAt)))
	}
	sort.Strings(out)
	return out
}
