package api

import (
	"errors"
	"mime"
	"net/http"
	"net/url"
	"time"

	"estatecrm/apperr"
	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/schema/pulid"
	"estatecrm/people"
)

// serveExport answers GET /exports/customers/{id}?reason=…: the document of
// exportCustomerData (everything held about one person, PIPL) as a file to
// save, for a manager of the customer's project or an admin, with their
// token. It is made afresh for each download and stored nowhere (a copy of
// someone's personal data lying in a bucket is one more copy to erase);
// each download is audited (customer.export) with its reason, in its own
// transaction. There is no signed link to it: a download needs the
// caller's own token and a reason of their own, so none happens without a
// reason on record. The reason is checked as exportCustomerData checks it
// (people.ExportData); a missing, repeated, blank or overlong one is 400
// BAD_USER_INPUT naming reason, and nothing is read or audited.
func serveExport(client *ent.Client, now func() time.Time) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if auth.FromContext(ctx) == nil {
			writeError(w, http.StatusUnauthorized, apperr.Unauthenticated, "authentication required")
			return
		}
		q, err := url.ParseQuery(r.URL.RawQuery)
		switch {
		case err != nil:
			writeInputError(w, "reason", "the query string could not be read")
			return
		case len(q["reason"]) > 1:
			writeInputError(w, "reason", "give one reason")
			return
		}
		tx, err := client.Tx(ctx)
		if err != nil {
			writeError(w, http.StatusServiceUnavailable, apperr.Unavailable, "database unavailable")
			return
		}
		defer func() { _ = tx.Rollback() }()
		x, err := people.ExportData(ent.NewTxContext(ctx, tx), tx.Client(),
			people.ExportInput{CustomerID: pulid.ID(r.PathValue("id")), Reason: q.Get("reason")}, now())
		if err == nil {
			err = tx.Commit()
		}
		var e *apperr.Error
		switch {
		case err == nil:
		case errors.As(err, &e) && e.Code == apperr.BadUserInput && e.Field == "input.reason":
			writeInputError(w, "reason", e.Message)
			return
		case ent.IsNotFound(err), errors.As(err, &e) && (e.Code == apperr.NotFound || e.Code == apperr.BadUserInput):
			writeError(w, http.StatusNotFound, apperr.NotFound, "not found")
			return
		case errors.As(err, &e) && e.Code == apperr.Forbidden:
			writeError(w, http.StatusForbidden, apperr.Forbidden, e.Message)
			return
		default:
			writeError(w, http.StatusServiceUnavailable, apperr.Unavailable, "the export could not be made; try again")
			return
		}
		h := w.Header()
		h.Set("Content-Type", x.ContentType+"; charset=utf-8")
		h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": x.FileName}))
		h.Set("Cache-Control", "no-store")
		_, _ = w.Write([]byte(x.Document))
	}
}
