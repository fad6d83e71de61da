package audit

// Actions recorded on the person behind a customer record (issue 13).
const (
	// CustomerPhoneReveal: a manager or an admin read a customer's full
	// phone, which every list and every other path shows them masked; the
	// detail is the reason they gave.
	CustomerPhoneReveal = "customer.phone.reveal"
	// CustomerMerge: a duplicate record was merged into the one kept (the
	// event's object); the detail names the merged record, what moved and
	// who owns the customer by which rule.
	CustomerMerge = "customer.merge"
	// CustomerExport: everything held about one person was exported.
	CustomerExport = "customer.export"
	// CustomerErase: a person's data was erased; the detail holds the
	// reason and what was scrubbed, never the erased values.
	CustomerErase = "customer.erase"
)
