package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"time"

	"estatecrm/apperr"
	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/complaintphoto"
	"estatecrm/ent/schema/pulid"
	"estatecrm/rule"
	"estatecrm/storage"
)

// photoLinkTTL is how long a signed photo link works: long enough to load
// a complaint's photos, short enough that a link passed on goes stale.
const photoLinkTTL = 5 * time.Minute

// photoCacheControl lets the viewer's own cache (never a shared one) keep
// a photo as long as its link works.
const photoCacheControl = "private, max-age=300"

// photoLinks signs and checks links to complaint photos, for image views
// (an <img>, a phone's image cache) that cannot send a bearer token. Only a
// viewer allowed to see the photo is given its link.
type photoLinks struct {
	key []byte
	now func() time.Time
}

func (l photoLinks) url(id pulid.ID) string {
	exp := strconv.FormatInt(l.now().Add(photoLinkTTL).Unix(), 10)
	return "/photos/" + string(id) + "?exp=" + exp + "&sig=" + l.sign(id, exp)
}

func (l photoLinks) sign(id pulid.ID, exp string) string {
	m := hmac.New(sha256.New, l.key)
	m.Write([]byte(string(id) + "." + exp))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (l photoLinks) valid(id pulid.ID, exp, sig string) bool {
	t, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || l.now().Unix() > t {
		return false
	}
	return hmac.Equal([]byte(sig), []byte(l.sign(id, exp)))
}

// servePhotos answers GET /photos/{id}: with a valid signed link, or with
// the credentials of a viewer whose privacy rules let them see the photo.
// Anything else is 404, whether the photo exists or not.
func servePhotos(client *ent.Client, store storage.Store, links photoLinks) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := pulid.ID(r.PathValue("id"))
		ctx := r.Context()
		// A signed link is the credential of an image view that cannot send
		// a token: the photo is read through the one probe made for it (the
		// link names one photo), never as the system.
		get := func() (*ent.ComplaintPhoto, error) { return client.ComplaintPhoto.Get(ctx, id) }
		if sig := r.URL.Query().Get("sig"); sig != "" {
			if !links.valid(id, r.URL.Query().Get("exp"), sig) {
				writeError(w, http.StatusForbidden, apperr.Forbidden, "the link is invalid or has expired")
				return
			}
			get = func() (*ent.ComplaintPhoto, error) { return rule.PhotoByLink(ctx, client, id) }
		} else if auth.FromContext(ctx) == nil {
			writeError(w, http.StatusUnauthorized, apperr.Unauthenticated, "authentication required")
			return
		}
		if !ent.IDOfType(id, complaintphoto.Table) {
			writeError(w, http.StatusNotFound, apperr.NotFound, "not found")
			return
		}
		p, err := get()
		if err != nil {
			writeError(w, http.StatusNotFound, apperr.NotFound, "not found")
			return
		}
		etag := `"` + p.Sha256 + `"`
		if notModified(w, r, etag, photoCacheControl) {
			return
		}
		f, _, err := store.Open(ctx, p.StorageKey)
		if errors.Is(err, storage.ErrNotFound) {
			writeError(w, http.StatusNotFound, apperr.NotFound, "not found")
			return
		}
		if err != nil {
			writeError(w, http.StatusServiceUnavailable, apperr.Unavailable, "photo storage unavailable")
			return
		}
		defer f.Close()
		h := w.Header()
		h.Set("Content-Type", p.ContentType)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Disposition", "inline")
		h.Set("Cache-Control", photoCacheControl)
		h.Set("ETag", etag)
		http.ServeContent(w, r, "", p.CreatedAt, f)
	}
}
