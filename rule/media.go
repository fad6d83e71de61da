package rule

import (
	"context"
	"slices"

	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/media"
	"estatecrm/ent/predicate"
	"estatecrm/ent/privacy"
	"estatecrm/ent/project"
	"estatecrm/ent/schema/pulid"
)

// Media (issue 12) are shown to the public once their project is published:
// portals list them, and anyone may load their files (GET /media/…) without
// credentials, so that a portal can hand the URLs to browsers and caches.
// Before that, only the project's staff see them. Admins and the project's
// managers attach, caption, order and remove them.
//
// The file server reads an item for a request without credentials with
// PublicMediaContext; that context reads published items only, and GraphQL
// never makes one: an anonymous GraphQL request is still UNAUTHENTICATED.

type publicMediaKey struct{}

// PublicMediaContext returns a context without a viewer in which the media
// of published projects, and nothing else, may be read: the anonymous reader
// of GET /media/{id}/{hash}.
func PublicMediaContext(ctx context.Context) context.Context {
	return context.WithValue(auth.NewContext(ctx, nil), publicMediaKey{}, true)
}

// MediaVisibleTo is the media v may read: an admin all of them; the staff
// of a project (managers, agents) all of its items; everyone else, and
// staff for other projects, the items of published projects.
func MediaVisibleTo(v *auth.Viewer) predicate.Media {
	published := media.HasProjectWith(project.Published(true))
	switch role(v) {
	case auth.RoleAdmin, auth.RoleSystem:
		return all
	case auth.RoleManager, auth.RoleAgent:
		return media.Or(media.ProjectIDIn(v.ProjectIDs...), published)
	}
	return published
}

// MediaPolicy is the Media's policy: reads filtered by MediaVisibleTo
// (anonymous reads only in PublicMediaContext), writes by admins and the
// project's managers (AllowManagerMediaWrites).
func MediaPolicy() privacy.Policy {
	p := Policy(privacy.MediaQueryRuleFunc(func(ctx context.Context, q *ent.MediaQuery) error {
		q.Where(MediaVisibleTo(auth.FromContext(ctx)))
		return privacy.Allow
	}), AllowManagerMediaWrites())
	p.Query = append(privacy.QueryPolicy{allowPublicMediaReads()}, p.Query...)
	return p
}

// allowPublicMediaReads lets the anonymous reader of PublicMediaContext read
// the media of published projects.
func allowPublicMediaReads() privacy.QueryRule {
	return privacy.MediaQueryRuleFunc(func(ctx context.Context, q *ent.MediaQuery) error {
		if public, _ := ctx.Value(publicMediaKey{}).(bool); !public || auth.FromContext(ctx) != nil {
			return privacy.Skip
		}
		q.Where(MediaVisibleTo(nil))
		return privacy.Allow
	})
}

// AllowManagerMediaWrites lets a manager add items to their projects and
// change or remove those items; nothing of another project's is found.
func AllowManagerMediaWrites() privacy.MutationRule {
	return privacy.MediaMutationRuleFunc(func(ctx context.Context, m *ent.MediaMutation) error {
		v := auth.FromContext(ctx)
		if v == nil || v.Role != auth.RoleManager {
			return privacy.Skip
		}
		switch {
		case m.Op().Is(ent.OpCreate):
			if pid, ok := m.ProjectID(); !ok || !slices.Contains(v.ProjectIDs, pid) {
				return privacy.Denyf("not a project of yours")
			}
			return privacy.Allow
		case m.Op().Is(ent.OpUpdate | ent.OpUpdateOne | ent.OpDelete | ent.OpDeleteOne):
			m.Where(media.ProjectIDIn(v.ProjectIDs...))
			return privacy.Allow
		}
		return privacy.Skip
	})
}

// MayManageMedia reports whether v may add media to project (an admin, the
// project's manager): asked before an upload is stored, so that a refused
// writer costs no storage. The policy above decides again on the write.
func MayManageMedia(v *auth.Viewer, project pulid.ID) bool {
	switch role(v) {
	case auth.RoleAdmin, auth.RoleSystem:
		return true
	case auth.RoleManager:
		return slices.Contains(v.ProjectIDs, project)
	}
	return false
}
