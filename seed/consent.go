package seed

import (
	"fmt"

	"estatecrm/ent"
	"estatecrm/ent/consentevent"
)

// createConsentHistories starts the consent history (PIPL) of every
// customer of the site who consents to be contacted, as registerCustomer
// does: one GIVEN event at their consent_at, with their channels. Nobody
// in the demo changed or withdrew a consent since, so the customer's
// consent fields are that event. Recorded by nobody (the system): the
// seed does not keep who took the registration.
func (s *seeder) createConsentHistories(st *site) error {
	var consenting []*customerPlan
	for _, c := range st.customers {
		if !replayed(c) && c.row.ContactConsent {
			consenting = append(consenting, c)
		}
	}
	return inBatches(consenting, func(cs []*customerPlan) error {
		bs := make([]*ent.ConsentEventCreate, len(cs))
		for i, c := range cs {
			bs[i] = s.c.ConsentEvent.Create().SetCustomerID(c.row.ID).
				SetKind(consentevent.KindGIVEN).SetConsent(true).
				SetChannels(c.row.ConsentChannels).SetCreatedAt(*c.row.ConsentAt)
		}
		if err := s.c.ConsentEvent.CreateBulk(bs...).Exec(s.ctx); err != nil {
			return fmt.Errorf("consent histories: %w", err)
		}
		return nil
	})
}
