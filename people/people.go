// Package people holds the workflows about the person behind customer
// records (issue 13): finding records that are likely one person
// (Duplicates), merging two of them (Merge), and the person's rights under
// PIPL: a copy of everything held about them (Export), erasure (Erase),
// and a manager's explicit, audited read of their phone (RevealPhone).
// Who may is decided by rule.Steward: a manager of the customers' project
// or an admin.
package people

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"estatecrm/apperr"
	"estatecrm/ent"
	"estatecrm/ent/customer"
	"estatecrm/ent/schema/pulid"
)

// maxReasonRunes bounds the reason of a reveal, an export or an erasure.
const maxReasonRunes = 500

// reason checks the reason a manager gives: required, not blank, one
// paragraph of at most maxReasonRunes characters.
func reason(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case !utf8.ValidString(s):
		return "", apperr.Input(field, "not valid UTF-8")
	case s == "":
		return "", apperr.Input(field, "a reason is required")
	case utf8.RuneCountInString(s) > maxReasonRunes:
		return "", apperr.Input(field, "longer than %d characters", maxReasonRunes)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return "", apperr.Input(field, "holds a control character")
	}
	return s, nil
}

// customerID checks that id names a customer.
func customerID(field string, id pulid.ID) error {
	if !ent.IDOfType(id, customer.Table) {
		return apperr.Input(field, "not the ID of a customer")
	}
	return nil
}

// conflict is a CONFLICT naming the field that caused it.
func conflict(field, format string, args ...any) error {
	e := apperr.New(apperr.Conflict, format, args...)
	e.Field = field
	return e
}

// rebind turns the ? placeholders of q into PostgreSQL's $1, $2… when pg.
func rebind(pg bool, q string) string {
	if !pg {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Unkept are the mutations of this package whose answers an
// Idempotency-Key must not keep for replay: the whole personal document
// (exportCustomerData) and the full phone (revealPhone), given only after an
// access check and audited each time. Both change nothing that a second run
// would double, so a retry runs them again.
var Unkept = []string{"exportCustomerData", "revealPhone"}
