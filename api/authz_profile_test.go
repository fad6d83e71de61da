package api_test

// The profile rows of the authorization matrix (issue 11): who changes a
// customer's profile and consent, and who reads their consent history,
// their referrer and their referrals.

import (
	"fmt"
	"testing"
	"time"

	"estatecrm/api/apitest"
	"estatecrm/ent/consentevent"
	"estatecrm/ent/schema/schematype"
)

// authzProfileMutationRows are part of authzMutationRows.
func authzProfileMutationRows() []authzRow {
	notes := func(label string) func(w *apitest.World, actor string) map[string]any {
		return func(w *apitest.World, actor string) map[string]any {
			return map[string]any{"id": w.ID(label), "n": "noted by " + actor}
		}
	}
	customerState := func(label string) func(t *testing.T, w *apitest.World, _ string) string {
		return func(t *testing.T, w *apitest.World, _ string) string {
			c := w.Env.Client.Customer.GetX(apitest.System(), w.ID(label))
			n := w.Env.Client.ConsentEvent.Query().Where(consentevent.CustomerID(c.ID)).CountX(apitest.System())
			return fmt.Sprintf("%s %v %v %d", c.Notes, c.ContactConsent, c.ConsentChannels, n)
		}
	}
	const update = `mutation($id: ID!, $n: String) { updateCustomer(input: {customerId: $id, notes: $n}) { customer { notes } } }`
	const consent = `mutation($id: ID!) { setContactConsent(input: {customerId: $id, consent: true, channels: [SMS], note: "form"}) { customer { contactConsent consentHistory { kind } } } }`
	updated := func(actor string) string { return "{customer={notes=noted by " + actor + "}} db=changed" }
	consented := "{customer={consentHistory=[{kind=GIVEN}],contactConsent=true}} db=changed"
	return []authzRow{
		// A1's own customer: A1, the manager of A and the admin; nobody
		// else even sees the customer.
		authzMutation("Mutation.updateCustomer", "updateCustomer of A1's customer", update, notes("cA1"), nil, customerState("cA1"),
			authzEvery("!NOT_FOUND db=unchanged", map[string]string{
				"admin": updated("admin"), "MA": updated("MA"), "A1": updated("A1"),
				"anonymous": "!UNAUTHENTICATED db=unchanged",
			})),
		// A public-pool customer (A2's, lapsed): every agent of A reads it,
		// only its owner A2 changes it.
		authzMutation("Mutation.updateCustomer", "updateCustomer of A's public-pool customer", update, notes("cPool"), nil, customerState("cPool"),
			authzEvery("!NOT_FOUND db=unchanged", map[string]string{
				"admin": updated("admin"), "MA": updated("MA"), "A2": updated("A2"),
				"A1":        "!FORBIDDEN db=unchanged",
				"anonymous": "!UNAUTHENTICATED db=unchanged",
			})),
		// A homeowner reads their own record, but does not change it.
		authzMutation("Mutation.updateCustomer", "updateCustomer of H1's own record", update, notes("cH1"), nil, customerState("cH1"),
			authzEvery("!NOT_FOUND db=unchanged", map[string]string{
				"admin": updated("admin"), "MA": updated("MA"), "A1": updated("A1"),
				"H1":        "!FORBIDDEN db=unchanged",
				"anonymous": "!UNAUTHENTICATED db=unchanged",
			})),
		authzMutation("Mutation.setContactConsent", "setContactConsent of A1's customer", consent, authzIDVar("cA1"),
			func(t *testing.T, w *apitest.World, _ string) { // each actor starts from no consent
				ctx := apitest.System()
				w.Env.Client.ConsentEvent.Delete().Where(consentevent.CustomerID(w.ID("cA1"))).ExecX(ctx)
				w.Env.Client.Customer.UpdateOneID(w.ID("cA1")).SetContactConsent(false).ClearConsentChannels().ExecX(ctx)
			}, customerState("cA1"),
			authzEvery("!NOT_FOUND db=unchanged", map[string]string{
				"admin": consented, "MA": consented, "A1": consented,
				"anonymous": "!UNAUTHENTICATED db=unchanged",
			})),
		authzMutation("Mutation.setContactConsent", "setContactConsent of A's public-pool customer", consent, authzIDVar("cPool"),
			func(t *testing.T, w *apitest.World, _ string) {
				ctx := apitest.System()
				w.Env.Client.ConsentEvent.Delete().Where(consentevent.CustomerID(w.ID("cPool"))).ExecX(ctx)
				w.Env.Client.Customer.UpdateOneID(w.ID("cPool")).SetContactConsent(false).ClearConsentChannels().ExecX(ctx)
			}, customerState("cPool"),
			authzEvery("!NOT_FOUND db=unchanged", map[string]string{
				"admin": consented, "MA": consented, "A2": consented,
				"A1":        "!FORBIDDEN db=unchanged",
				"anonymous": "!UNAUTHENTICATED db=unchanged",
			})),
	}
}

// profileWorld adds to a world what the read rows look at: A1's customer
// cA1 referred A2's customer cA2; homeowner H1 (cH1, project A) referred
// B1's customer cB1 (project B); consent histories of cA1 (given, then
// changed: cnA1g, cnA1c), of the pool customer cPool (cnPool) and of the
// homeowner cH1 (cnH1).
func profileWorld(t *testing.T, w *apitest.World) {
	t.Helper()
	ctx, c := apitest.System(), w.Env.Client
	c.Customer.UpdateOneID(w.ID("cA2")).SetReferredByID(w.ID("cA1")).ExecX(ctx)
	c.Customer.UpdateOneID(w.ID("cB1")).SetReferredByID(w.ID("cH1")).ExecX(ctx)
	for i, e := range []struct {
		label, cust string
		kind        consentevent.Kind
	}{
		{"cnA1g", "cA1", consentevent.KindGIVEN}, {"cnA1c", "cA1", consentevent.KindCHANGED},
		{"cnPool", "cPool", consentevent.KindGIVEN}, {"cnH1", "cH1", consentevent.KindGIVEN},
	} {
		got := c.ConsentEvent.Create().SetCustomerID(w.ID(e.cust)).SetKind(e.kind).SetConsent(true).
			SetChannels([]schematype.ContactChannel{"PHONE"}).SetRecordedByID(w.ID("MA")).
			SetCreatedAt(w.Now.Add(time.Duration(i) * time.Minute)).SaveX(ctx)
		w.Add(e.label, got.ID)
	}
}

// authzProfileReadRows: what each actor reads of consent histories,
// referrers and referrals. Nobody learns of a referrer or a referral they
// may not read: the referrer reads null, the referral is not counted.
func authzProfileReadRows() []authzRow {
	node := func(fields string) string {
		return `query($id: ID!) { node(id: $id) { id ... on Customer { ` + fields + ` } } }`
	}
	history := node(`consentHistory { id kind }`)
	referrals := node(`referrals(first: 10) { totalCount edges { node { id stage } } }`)
	referredBy := node(`referredBy { id stage }`)
	unseen := func(seen map[string]string) map[string]string {
		seen["anonymous"] = "null !UNAUTHENTICATED"
		return authzEvery("null !NOT_FOUND", seen)
	}
	return []authzRow{
		authzQuery("Customer.consentHistory", "consentHistory of A1's customer", history, authzIDVar("cA1"), unseen(map[string]string{
			"admin": "cA1{consentHistory=[cnA1c{kind=CHANGED} cnA1g{kind=GIVEN}]}",
			"MA":    "cA1{consentHistory=[cnA1c{kind=CHANGED} cnA1g{kind=GIVEN}]}",
			"A1":    "cA1{consentHistory=[cnA1c{kind=CHANGED} cnA1g{kind=GIVEN}]}",
		})),
		// The pool customer is read by every agent of A, in full only by its owner.
		authzQuery("Customer.consentHistory", "consentHistory of A's public-pool customer", history, authzIDVar("cPool"), unseen(map[string]string{
			"admin": "cPool{consentHistory=[cnPool{kind=GIVEN}]}",
			"MA":    "cPool{consentHistory=[cnPool{kind=GIVEN}]}",
			"A2":    "cPool{consentHistory=[cnPool{kind=GIVEN}]}",
			"A1":    "cPool{consentHistory=[]}",
		})),
		authzQuery("Customer.consentHistory", "consentHistory of homeowner H1", history, authzIDVar("cH1"), unseen(map[string]string{
			"admin": "cH1{consentHistory=[cnH1{kind=GIVEN}]}",
			"MA":    "cH1{consentHistory=[cnH1{kind=GIVEN}]}",
			"A1":    "cH1{consentHistory=[cnH1{kind=GIVEN}]}",
			"H1":    "cH1{consentHistory=[cnH1{kind=GIVEN}]}",
		})),
		authzQuery("Node.ConsentEvent", "node of a consent event of A1's customer", `query($id: ID!) { node(id: $id) { id ... on ConsentEvent { kind customer { id } recordedBy { id } } } }`,
			authzIDVar("cnA1g"), unseen(map[string]string{
				"admin": "cnA1g{customer=cA1,kind=GIVEN,recordedBy=MA}",
				"MA":    "cnA1g{customer=cA1,kind=GIVEN,recordedBy=MA}",
				"A1":    "cnA1g{customer=cA1,kind=GIVEN,recordedBy=MA}",
			})),
		// cA1 (A1's) referred cA2 (A2's): A1 does not learn of A2's customer.
		authzQuery("Customer.referrals", "referrals of A1's customer", referrals, authzIDVar("cA1"), unseen(map[string]string{
			"admin": "cA1{referrals=#1[cA2{stage=VISITED}]}",
			"MA":    "cA1{referrals=#1[cA2{stage=VISITED}]}",
			"A1":    "cA1{referrals=#0[]}",
		})),
		authzQuery("Customer.referredBy", "referredBy of A2's customer", referredBy, authzIDVar("cA2"), unseen(map[string]string{
			"admin": "cA2{referredBy=cA1{stage=RESERVED}}",
			"MA":    "cA2{referredBy=cA1{stage=RESERVED}}",
			"A2":    "cA2{referredBy=null}",
		})),
		// Homeowner H1 (project A) referred cB1 (project B): project B's
		// staff do not learn who; project A's do not learn of cB1.
		authzQuery("Customer.referredBy", "referredBy of B1's customer", referredBy, authzIDVar("cB1"), unseen(map[string]string{
			"admin": "cB1{referredBy=cH1{stage=OWNER}}",
			"MB":    "cB1{referredBy=null}",
			"B1":    "cB1{referredBy=null}",
		})),
		authzQuery("Customer.referrals", "referrals of homeowner H1", referrals, authzIDVar("cH1"), unseen(map[string]string{
			"admin": "cH1{referrals=#1[cB1{stage=RESERVED}]}",
			"MA":    "cH1{referrals=#0[]}",
			"A1":    "cH1{referrals=#0[]}",
			"H1":    "cH1{referrals=#0[]}",
		})),
	}
}

func TestAuthzMatrixProfile(t *testing.T) {
	env := apitest.New(t)
	w := env.World(t)
	profileWorld(t, w)
	authzRun(t, w, authzProfileReadRows())
}
