package api_test

// Listing.media (issue 12): a listing carries the published media of its
// project, its building and its layout, in order, read for the whole page
// at once; none once the project is unpublished; never another layout's.

import (
	"strings"
	"testing"

	"estatecrm/api/apitest"
	"estatecrm/ent"
	entmedia "estatecrm/ent/media"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/unit"
)

type listingMediaPage struct {
	Listings struct {
		Edges []struct {
			Node struct {
				ID     pulid.ID
				Number string
				Media  []struct {
					ID      pulid.ID
					Caption string
					Kind    string
					URL     string
				}
			}
		}
	}
}

const listingMediaQuery = `query($p: [ID!]) { listings(where: {projectIds: $p}, first: 100) {
  edges { node { id number media { id caption kind url } } } } }`

// listingMedia reads, as c, the captions of each listing of project p, by number.
func listingMedia(t *testing.T, c *apitest.Caller, p pulid.ID) map[string]string {
	t.Helper()
	res := c.Query(t, listingMediaQuery, map[string]any{"p": []pulid.ID{p}})
	if len(res.Errors) > 0 {
		t.Fatalf("listings: %s", res.Body)
	}
	var out listingMediaPage
	res.Decode(t, &out)
	got := map[string]string{}
	for _, e := range out.Listings.Edges {
		var cs []string
		for _, m := range e.Node.Media {
			if !strings.HasPrefix(m.URL, "/media/"+string(m.ID)+"/") {
				t.Errorf("listing %s, item %s: url %q", e.Node.Number, m.Caption, m.URL)
			}
			cs = append(cs, m.Caption)
		}
		got[e.Node.Number] = strings.Join(cs, " ")
	}
	return got
}

func TestListingMedia(t *testing.T) {
	env := apitest.New(t)
	w := env.World(t)
	sys := apitest.System()
	pA, bA := w.ID("pA"), w.ID("bA")
	l322, l211 := "3-2-2", "2-1-1"
	// 202 (uFree) is a 2-1-1; the other listed units of pA are 3-2-2.
	env.Client.Unit.UpdateOneID(w.ID("uFree")).SetBedrooms(2).SetLivingRooms(1).SetBathrooms(1).ExecX(sys)
	at := func(m *ent.Media, position int) {
		env.Client.Media.UpdateOne(m).SetPosition(position).ExecX(sys)
	}
	// Created out of order: the positions, not the creation, order them.
	at(addMediaItem(t, env, pA, nil, &l322, entmedia.KindFLOOR_PLAN, "plan322"), 0)
	at(addMediaItem(t, env, pA, &bA, nil, entmedia.KindPHOTO, "buildingPhoto"), 0)
	at(addMediaItem(t, env, pA, nil, nil, entmedia.KindPHOTO, "projectPhoto2"), 1)
	at(addMediaItem(t, env, pA, nil, nil, entmedia.KindFLOOR_PLAN, "sitePlan"), 0)
	at(addMediaItem(t, env, pA, nil, nil, entmedia.KindPHOTO, "projectPhoto1"), 0)
	at(addMediaItem(t, env, pA, nil, &l322, entmedia.KindPHOTO, "photo322"), 0)
	at(addMediaItem(t, env, pA, nil, &l211, entmedia.KindFLOOR_PLAN, "plan211"), 0)
	addMediaItem(t, env, w.ID("pB"), nil, &l322, entmedia.KindFLOOR_PLAN, "pBplan322") // another project's

	common := "projectPhoto1 projectPhoto2 sitePlan buildingPhoto"
	want := map[string]string{}
	for _, u := range env.Client.Unit.Query().Where(unit.ProjectID(pA), unit.Published(true), unit.StatusNEQ(unit.StatusWITHDRAWN)).AllX(sys) {
		want[u.Number] = common + " photo322 plan322"
	}
	want["202"] = common + " plan211"
	portal := w.Caller(t, "portal")
	got := listingMedia(t, portal, pA)
	if len(got) != len(want) || len(got) < 2 {
		t.Fatalf("listings of pA: %v, want %v", got, want)
	}
	for n, s := range want {
		if got[n] != s {
			t.Errorf("listing %s: media %q, want %q", n, got[n], s)
		}
	}

	// Unpublished: the portal sees neither the listings nor their media.
	env.Client.Project.UpdateOneID(pA).SetPublished(false).ExecX(sys)
	if got := listingMedia(t, portal, pA); len(got) != 0 {
		t.Errorf("pA unpublished: the portal sees %v", got)
	}
	res := portal.Query(t, `{ listings(first: 100) { edges { node { number media { caption } } } } }`, nil)
	if len(res.Errors) > 0 {
		t.Fatal(string(res.Body))
	}
	for _, c := range []string{"projectPhoto1", "plan322", "buildingPhoto", "plan211"} {
		if strings.Contains(string(res.Body), c) {
			t.Errorf("pA unpublished: %s in the portal's listings: %s", c, res.Body)
		}
	}
	// Published again: they are back (unpublishing hid, not removed, them).
	env.Client.Project.UpdateOneID(pA).SetPublished(true).ExecX(sys)
	if got := listingMedia(t, portal, pA); got["202"] != want["202"] {
		t.Errorf("pA published again: 202 has %q", got["202"])
	}
}
