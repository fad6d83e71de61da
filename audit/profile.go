package audit

// Actions recorded on changes of a customer's profile and consent (issue 11).
const (
	// CustomerProfileChange: fields of a customer's profile were written;
	// the detail names them, never their values.
	CustomerProfileChange = "customer.profile.change"
	// CustomerConsentChange: a customer's consent to be contacted was
	// given, changed or withdrawn.
	CustomerConsentChange = "customer.consent.change"
)
