package audit

import (
	"context"

	"estatecrm/auth"
	"estatecrm/ent"
)

// PhoneReads records each customer whose full phone a manager or an admin
// loaded. The owning agent reading their own customer is not recorded, nor
// are masked phones, nor the system's own reads. Inside a mutation it writes
// in the mutation's transaction (a failed mutation returns no data, so
// nothing was read; and SQLite allows one writer, the transaction); otherwise
// through client. database.NewClient installs it on every client.
func PhoneReads(client *ent.Client) ent.Interceptor {
	return ent.InterceptFunc(func(next ent.Querier) ent.Querier {
		return ent.QuerierFunc(func(ctx context.Context, q ent.Query) (ent.Value, error) {
			v, err := next.Query(ctx, q)
			if err != nil {
				return v, err
			}
			viewer := auth.FromContext(ctx)
			customers, ok := v.([]*ent.Customer)
			if !ok || viewer == nil || (viewer.Role != auth.RoleManager && viewer.Role != auth.RoleAdmin) {
				return v, nil
			}
			var events []Event
			for _, c := range customers {
				if c.Phone != "" && (c.OwnerID == nil || *c.OwnerID != viewer.UserID) {
					events = append(events, Event{Action: CustomerPhoneRead, ObjectID: c.ID, ProjectID: c.ProjectID})
				}
			}
			w := ent.FromContext(ctx)
			if w == nil {
				w = client
			}
			return v, Record(ctx, w, events...)
		})
	})
}
