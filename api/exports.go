package api

import (
	"errors"
	"mime"
	"net/http"
	"time"

	"estatecrm/apperr"
	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/schema/pulid"
	"estatecrm/people"
)

// serveExport answers GET /exports/customers/{id}: the document of
// exportCustomerData (everything held about one person, PIPL) as a file to
// save, for a manager of the customer's project or an admin, with their
// token. It is made afresh for each download and stored nowhere (a copy of
// someone's personal data lying in a bucket is one more copy to erase);
// each download is audited (customer.export) in its own transaction.
func serveExport(client *ent.Client, now func() time.Time) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if auth.FromContext(ctx) == nil {
			writeError(w, http.StatusUnauthorized, apperr.Unauthenticated, "authentication required")
			return
		}
		tx, err := client.Tx(ctx)
		if err != nil {
			writeError(w, http.StatusServiceUnavailable, apperr.Unavailable, "database unavailable")
			return
		}
		defer func() { _ = tx.Rollback() }()
		x, err := people.ExportData(ent.NewTxContext(ctx, tx), tx.Client(), people.ExportInput{CustomerID: pulid.ID(r.PathValue("id"))}, now())
		if err == nil {
			err = tx.Commit()
		}
		var e *apperr.Error
		switch {
		case err == nil:
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
