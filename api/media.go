package api

import (
	"errors"
	"net/http"
	"strings"

	"estatecrm/apperr"
	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/media"
	"estatecrm/ent/project"
	"estatecrm/ent/schema/pulid"
	"estatecrm/rule"
	"estatecrm/storage"
)

// mediaCacheControl is what a published item's file is served with. Its
// URL names the content (the SHA-256), which never changes under it, so any
// cache may keep it for a year without asking again. An item removed or
// unpublished answers 404 from then on; a copy a cache already holds is the
// cache's until it lets it go, which is what a portal's feed (the item gone
// from the listing) tells it to do.
const mediaCacheControl = "public, max-age=31536000, immutable"

// serveMedia answers GET /media/{id}/{sha256}: the file of a media item of
// a published project to anyone, credentials or not; of an unpublished
// project to its staff alone (their token), never stored by a shared cache.
// Anything else is 404, whether the item exists or not. The privacy rules
// decide what is read (rule.MediaPolicy): a request without credentials
// reads in rule.PublicMediaContext, which sees published items only.
func serveMedia(client *ent.Client, store storage.Store) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, hash := pulid.ID(r.PathValue("id")), r.PathValue("hash")
		ctx := r.Context()
		anonymous := auth.FromContext(ctx) == nil
		if anonymous {
			ctx = rule.PublicMediaContext(ctx)
		}
		if !ent.IDOfType(id, media.Table) || len(hash) != 64 {
			writeError(w, http.StatusNotFound, apperr.NotFound, "not found")
			return
		}
		// Published first: what anyone may see is served as public. For a
		// viewer with credentials, an item of an unpublished project they
		// may see is theirs alone.
		m, err := client.Media.Query().Where(media.ID(id), media.HasProjectWith(project.Published(true))).Only(ctx)
		public := err == nil
		if ent.IsNotFound(err) && !anonymous {
			m, err = client.Media.Query().Where(media.ID(id)).Only(ctx)
		}
		switch {
		case ent.IsNotFound(err):
			writeError(w, http.StatusNotFound, apperr.NotFound, "not found")
			return
		case err != nil:
			writeError(w, http.StatusServiceUnavailable, apperr.Unavailable, "media unavailable; try again")
			return
		case m.Sha256 != hash: // an old URL of another content, or a made-up one
			writeError(w, http.StatusNotFound, apperr.NotFound, "not found")
			return
		}
		cache := "private, no-cache"
		if public {
			cache = mediaCacheControl
		}
		etag := `"` + m.Sha256 + `"`
		if notModified(w, r, etag, cache) {
			return
		}
		f, _, err := store.Open(ctx, m.StorageKey)
		if errors.Is(err, storage.ErrNotFound) {
			writeError(w, http.StatusNotFound, apperr.NotFound, "not found")
			return
		}
		if err != nil {
			writeError(w, http.StatusServiceUnavailable, apperr.Unavailable, "media storage unavailable")
			return
		}
		defer f.Close()
		h := w.Header()
		h.Set("Content-Type", m.ContentType)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Disposition", "inline")
		h.Set("ETag", etag)
		h.Set("Cache-Control", cache)
		// ServeContent answers ranges and HEAD, after the rules above have
		// let the viewer in.
		http.ServeContent(w, r, "", m.CreatedAt, f)
	}
}

// notModified answers a GET or HEAD whose If-None-Match names etag with 304,
// as http.ServeContent would, but before the blob is opened: on an object
// store a cache's revalidation then costs no GET of the object (which would
// be dropped unread, and its connection with it). It runs after the rules
// have let the viewer in, like ServeContent's answer did.
func notModified(w http.ResponseWriter, r *http.Request, etag, cacheControl string) bool {
	inm := r.Header.Get("If-None-Match")
	if inm == "" || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		return false
	}
	for tag := range strings.SplitSeq(inm, ",") {
		tag = strings.TrimSpace(tag)
		if tag == "*" || strings.TrimPrefix(tag, "W/") == etag {
			h := w.Header()
			h.Set("ETag", etag)
			h.Set("Cache-Control", cacheControl)
			w.WriteHeader(http.StatusNotModified)
			return true
		}
	}
	return false
}
