package rule_test

import (
	"context"
	"sort"
	"strings"
	"testing"

	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/media"
	"estatecrm/ent/schema/pulid"
	"estatecrm/rule"
)

// TestMediaRules: the Media policy on the ent client, per role. P is
// published, Q is not; mP and mQ are their items.
func TestMediaRules(t *testing.T) {
	w := newWorld(t)
	sys := w.sys()
	w.client.Project.UpdateOneID(w.ids["P"]).SetPublished(true).ExecX(sys)
	item := func(ctx context.Context, project string, caption string) (*ent.Media, error) {
		return w.client.Media.Create().SetProjectID(w.ids[project]).SetKind(media.KindPHOTO).SetCaption(caption).
			SetStorageKey("media/00/" + caption).SetContentType("image/png").SetSizeBytes(1).SetSha256("00").
			SetWidth(1).SetHeight(1).Save(ctx)
	}
	for _, p := range []string{"P", "Q"} {
		m, err := item(sys, p, "m"+p)
		if err != nil {
			t.Fatal(err)
		}
		w.ids["m"+p] = m.ID
	}
	seen := func(ctx context.Context) string {
		ms, err := w.client.Media.Query().Where(media.CaptionHasPrefix("m")).All(ctx)
		if err != nil {
			return outcome(err)
		}
		var out []string
		for _, m := range ms {
			out = append(out, m.Caption)
		}
		sort.Strings(out)
		return "[" + strings.Join(out, " ") + "]"
	}
	check(t, "media read, P published", every("[mP]", map[string]string{
		"admin": "[mP mQ]", "C": "[mP mQ]", "anonymous": "UNAUTHENTICATED",
	}), func(role string) string { return seen(w.as(role)) })
	// The file server's reader without credentials: published items only;
	// a viewer in the context is read as that viewer.
	if got := seen(rule.PublicMediaContext(context.Background())); got != "[mP]" {
		t.Errorf("public reader: %s", got)
	}
	if got := seen(rule.PublicMediaContext(w.as("C"))); got != "[mP]" {
		t.Errorf("public reader of a request with a viewer: %s", got)
	}

	w.client.Project.UpdateOneID(w.ids["P"]).SetPublished(false).ExecX(sys)
	check(t, "media read, nothing published", every("[]", map[string]string{
		"admin": "[mP mQ]", "M": "[mP]", "A": "[mP]", "B": "[mP]", "C": "[mQ]", "anonymous": "UNAUTHENTICATED",
	}), func(role string) string { return seen(w.as(role)) })
	if got := seen(rule.PublicMediaContext(context.Background())); got != "[]" {
		t.Errorf("public reader, nothing published: %s", got)
	}
	w.client.Project.UpdateOneID(w.ids["P"]).SetPublished(true).ExecX(sys)

	// Writes: admins, and P's manager in P.
	check(t, "create in P", every("FORBIDDEN", map[string]string{
		"admin": "ok", "M": "ok", "anonymous": "UNAUTHENTICATED",
	}), func(role string) string {
		_, err := item(w.as(role), "P", "new-"+role)
		return outcome(err)
	})
	check(t, "caption mP", every("FORBIDDEN", map[string]string{
		"admin": "ok", "M": "ok", "anonymous": "UNAUTHENTICATED",
	}), func(role string) string {
		return outcome(w.client.Media.UpdateOneID(w.ids["mP"]).SetCaption("mP").Exec(w.as(role)))
	})
	if _, err := item(rule.PublicMediaContext(context.Background()), "P", "public"); outcome(err) != "UNAUTHENTICATED" {
		t.Errorf("create by the public reader: %s", outcome(err))
	}
	// A manager of Q: nothing of P's is theirs, published or not.
	mq := auth.NewContext(context.Background(), &auth.Viewer{UserID: "US01ARZ3NDEKTSV4RRFFQ69G5FAW", Role: auth.RoleManager, ProjectIDs: []pulid.ID{w.ids["Q"]}})
	if _, err := item(mq, "P", "mq"); outcome(err) != "FORBIDDEN" {
		t.Errorf("Q's manager creating in P: %s", outcome(err))
	}
	if err := w.client.Media.UpdateOneID(w.ids["mP"]).SetCaption("x").Exec(mq); outcome(err) != "NOT_FOUND" {
		t.Errorf("Q's manager captioning mP: %s", outcome(err))
	}
	if n, err := w.client.Media.Delete().Where(media.ID(w.ids["mP"])).Exec(mq); n != 0 || err != nil {
		t.Errorf("Q's manager deleting mP: %d, %v", n, err)
	}
	if _, err := item(mq, "Q", "mq2"); err != nil {
		t.Errorf("Q's manager creating in Q: %v", err)
	}
	// An item of a building of another project is refused (the hook).
	b := w.ids["bQ"]
	if _, err := w.client.Media.Create().SetProjectID(w.ids["P"]).SetBuildingID(b).SetKind(media.KindPHOTO).
		SetStorageKey("media/00/bq").SetContentType("image/png").SetSizeBytes(1).SetSha256("00").
		SetWidth(1).SetHeight(1).Save(sys); outcome(err) != "BAD_USER_INPUT" {
		t.Errorf("P's item in Q's building: %s", outcome(err))
	}
}
