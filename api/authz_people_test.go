package api_test

// The rows of the authorization matrix for the person behind customer
// records (issue 13, parts 3 and 4): duplicates, merge, export, erasure and
// the reveal of a phone. Managers of the customers' project and admins;
// another project's manager does not see the customers (NOT_FOUND);
// agents, homeowners and portals are FORBIDDEN.

import (
	"strconv"
	"testing"
	"time"

	"estatecrm/api/apitest"
	"estatecrm/audit"
	"estatecrm/ent/auditevent"
	"estatecrm/ent/customer"
	"estatecrm/phone"
)

// authzPeopleWorld adds to the world two likely duplicates: cA1's phone
// as a customer of project B (cA1dup), and a customer of A named like cA2
// whose phone is one digit apart from cA2's (cA2twin).
func authzPeopleWorld(t *testing.T, w *apitest.World) {
	ctx := apitest.System()
	add := func(label, name, project, ph, owner string) {
		c := w.Env.Client.Customer.Create().SetProjectID(w.ID(project)).SetName(name).SetPhone(ph).
			SetSource(customer.SourceWALK_IN).SetOwnerID(w.ID(owner)).SetProtectedUntil(w.Now.Add(24 * time.Hour)).SaveX(ctx)
		w.Add(label, c.ID)
	}
	add("cA1dup", "cA1", "pB", apitest.WorldPhones["cA1"], "B1")
	add("cA2twin", "cA2", "pA", "+8613811110012", "A1")
}

// authzFreshCustomer creates a customer of project A owned by A1 for one
// cell, labelled label-actor.
func authzFreshCustomer(t *testing.T, w *apitest.World, label, actor string, n int) {
	c := w.Env.Client.Customer.Create().SetProjectID(w.ID("pA")).SetName(label + "-" + actor).
		SetPhone("+86137" + strconv.Itoa(10000000+n*100+len(w.Labels()))).
		SetSource(customer.SourceWALK_IN).SetOwnerID(w.ID("A1")).SetProtectedUntil(w.Now.Add(24 * time.Hour)).
		SaveX(apitest.System())
	w.Add(label+"-"+actor, c.ID)
}

func authzAuditCount(action string) func(t *testing.T, w *apitest.World, _ string) string {
	return func(t *testing.T, w *apitest.World, _ string) string {
		return strconv.Itoa(w.Env.Client.AuditEvent.Query().Where(auditevent.Action(action)).CountX(apitest.System()))
	}
}

func authzPeopleRows() []authzRow {
	forbidden := func(admin, ma string, changed bool) map[string]string {
		db := " db=unchanged"
		if changed {
			db = " db=changed"
		}
		return authzEvery("!FORBIDDEN db=unchanged", map[string]string{
			"admin": admin + db, "MA": ma + db, "MB": "!NOT_FOUND db=unchanged", "anonymous": "!UNAUTHENTICATED db=unchanged",
		})
	}
	m := func(label string) string { return phone.Mask(apitest.WorldPhones[label]) }
	fresh := func(label string) func(t *testing.T, w *apitest.World, actor string) {
		return func(t *testing.T, w *apitest.World, actor string) { authzFreshCustomer(t, w, label, actor, 1) }
	}
	customers := func(t *testing.T, w *apitest.World, _ string) string {
		return strconv.Itoa(w.Env.Client.Customer.Query().CountX(apitest.System()))
	}
	return []authzRow{
		authzQuery("Query.duplicateCandidates", "duplicateCandidates",
			`{ duplicateCandidates(first: 10) { reason customers { id phone } } }`, nil,
			authzEvery("!FORBIDDEN", map[string]string{
				"admin": "[{customers=[cA1{phone=" + m("cA1") + "} cA1dup{phone=" + m("cA1") + "}],reason=SAME_PHONE} " +
					"{customers=[cA2{phone=" + m("cA2") + "} cA2twin{phone=138****0012}],reason=SAME_NAME_ONE_DIGIT_APART}]",
				// MA manages A only: cA1's record in B is no business of theirs.
				"MA":        "[{customers=[cA2{phone=" + m("cA2") + "} cA2twin{phone=138****0012}],reason=SAME_NAME_ONE_DIGIT_APART}]",
				"MB":        "[]",
				"anonymous": "!UNAUTHENTICATED",
			})),
		authzMutation("Mutation.mergeCustomers", "mergeCustomers dryRun (cA2 into cA1)",
			`mutation($k: ID!, $m: ID!) { mergeCustomers(input: {keep: $k, merge: $m, dryRun: true}) { dryRun ownerRule owner { id } moved { visits referrals } customer { id } } }`,
			func(w *apitest.World, _ string) map[string]any {
				return map[string]any{"k": w.ID("cA1"), "m": w.ID("cA2")}
			}, nil, customers,
			func() map[string]string {
				ok := "{customer=cA1,dryRun=true,moved={referrals=0,visits=1},owner=A1,ownerRule=EARLIEST_PROTECTED}"
				return forbidden(ok, ok, false)
			}()),
		authzMutation("Mutation.mergeCustomers", "mergeCustomers of two fresh records",
			`mutation($k: ID!, $m: ID!) { mergeCustomers(input: {keep: $k, merge: $m}) { dryRun ownerRule } }`,
			func(w *apitest.World, actor string) map[string]any {
				return map[string]any{"k": w.ID("mk-" + actor), "m": w.ID("mm-" + actor)}
			},
			func(t *testing.T, w *apitest.World, actor string) {
				authzFreshCustomer(t, w, "mk", actor, 2)
				authzFreshCustomer(t, w, "mm", actor, 3)
			}, customers,
			forbidden("{dryRun=false,ownerRule=SAME_OWNER}", "{dryRun=false,ownerRule=SAME_OWNER}", true)),
		authzMutation("Mutation.exportCustomerData", "exportCustomerData of cA1",
			`mutation($id: ID!) { exportCustomerData(input: {customerId: $id, reason: "the customer asked for a copy"}) { contentType } }`,
			authzIDVar("cA1"), nil, authzAuditCount(audit.CustomerExport),
			forbidden("{contentType=application/json}", "{contentType=application/json}", true)),
		// The reason is checked before the rules: nobody learns anything
		// from it, and nothing is read or audited.
		authzMutation("Mutation.exportCustomerData", "exportCustomerData of cA1 with a blank reason",
			`mutation($id: ID!) { exportCustomerData(input: {customerId: $id, reason: " \t "}) { contentType } }`,
			authzIDVar("cA1"), nil, authzAuditCount(audit.CustomerExport),
			authzEvery("!BAD_USER_INPUT db=unchanged", nil)),
		authzMutation("Mutation.eraseCustomer", "eraseCustomer of a fresh record",
			`mutation($id: ID!) { eraseCustomer(input: {customerId: $id, reason: "asked to be forgotten"}) { customer { name phone } } }`,
			func(w *apitest.World, actor string) map[string]any { return map[string]any{"id": w.ID("er-" + actor)} },
			fresh("er"),
			func(t *testing.T, w *apitest.World, actor string) string {
				return w.Env.Client.Customer.Query().Where(customer.ID(w.ID("er-" + actor))).OnlyX(apitest.System()).Name
			},
			forbidden("{customer={name=已删除,phone=****}}", "{customer={name=已删除,phone=****}}", true)),
		authzMutation("Mutation.revealPhone", "revealPhone of cA1",
			`mutation($id: ID!) { revealPhone(input: {customerId: $id, reason: "calling back about the deposit"}) { phone customer { id phone } } }`,
			authzIDVar("cA1"), nil, authzAuditCount(audit.CustomerPhoneReveal),
			func() map[string]string {
				ok := "{customer=cA1{phone=" + m("cA1") + "},phone=" + apitest.WorldPhones["cA1"] + "}"
				return forbidden(ok, ok, true)
			}()),
	}
}

func TestAuthzMatrixPeople(t *testing.T) {
	env := apitest.New(t)
	w := env.World(t)
	authzPeopleWorld(t, w)
	authzRun(t, w, authzPeopleRows())
}
