package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"estatecrm/api/apitest"
	"estatecrm/audit"
	"estatecrm/ent"
	"estatecrm/ent/auditevent"
)

// exportActors is what each actor gets when exporting cA1 with a good
// reason: a manager of project A and an admin the document; B's manager
// does not see the customer; an agent, a homeowner and a portal are refused.
var exportActors = []struct {
	actor, code string
	status      int
}{
	{"MA", "", http.StatusOK},
	{"admin", "", http.StatusOK},
	{"MB", "NOT_FOUND", http.StatusNotFound},
	{"A1", "FORBIDDEN", http.StatusForbidden},
	{"H1", "FORBIDDEN", http.StatusForbidden},
	{"portal", "FORBIDDEN", http.StatusForbidden},
}

// badExportReasons are reasons an export is refused for: blank, one
// character too long, holding a control character.
var badExportReasons = map[string]string{
	"blank":    " \t\u3000 ",
	"too long": strings.Repeat("因", 501),
	"control":  "asked\u0007by phone",
}

func exportAudits(t *testing.T, env *apitest.Env) []*ent.AuditEvent {
	t.Helper()
	return env.Client.AuditEvent.Query().Where(auditevent.Action(audit.CustomerExport)).
		Order(ent.Asc(auditevent.FieldCreatedAt), ent.Asc(auditevent.FieldID)).AllX(apitest.System())
}

// exportCustomerData needs a reason, like revealPhone: without one (missing,
// blank, overlong, with a control character) every actor gets
// BAD_USER_INPUT naming input.reason and nothing is returned or audited;
// with one, a manager of the project and an admin get the document and the
// export is audited with the reason (trimmed) as its detail, visible to the
// project's managers; everyone else is refused as before and nothing is
// audited. Before the fix an export needed no reason and its audit event
// said only "export estatecrm.customer-export.v1".
func TestPeopleExportNeedsAReason(t *testing.T) {
	env := apitest.New(t)
	w := env.World(t)
	const q = `mutation($id: ID!, $r: String!) { exportCustomerData(input: {customerId: $id, reason: $r}) { document } }`
	const noReason = `mutation($id: ID!) { exportCustomerData(input: {customerId: $id}) { document } }`
	vars := func(r string) map[string]any { return map[string]any{"id": w.ID("cA1"), "r": r} }
	for _, a := range exportActors {
		for name, r := range badExportReasons {
			res := w.Caller(t, a.actor).Query(t, q, vars(r))
			e := res.OnlyError(t)
			if e.Code() != "BAD_USER_INPUT" || e.Field() != "input.reason" || strings.Contains(string(res.Body), "+86") {
				t.Errorf("%s exports with a %s reason: %s", a.actor, name, res.Body)
			}
		}
		// A missing reason does not get past the schema.
		if res := w.Caller(t, a.actor).Query(t, noReason, vars("")); len(res.Errors) == 0 || strings.Contains(string(res.Body), "+86") {
			t.Errorf("%s exports with no reason: %s", a.actor, res.Body)
		}
	}
	if n := len(exportAudits(t, env)); n != 0 {
		t.Fatalf("%d exports audited after refusals for the reason", n)
	}

	want := 0
	for _, a := range exportActors {
		why := "  业主" + a.actor + "来函要求提供个人信息副本  "
		res := w.Caller(t, a.actor).Query(t, q, vars(why))
		if a.code != "" {
			if e := res.OnlyError(t); e.Code() != a.code || strings.Contains(string(res.Body), "+86") {
				t.Errorf("%s exports: %s", a.actor, res.Body)
			}
			continue
		}
		var out struct{ ExportCustomerData struct{ Document string } }
		res.Decode(t, &out)
		if !strings.Contains(out.ExportCustomerData.Document, apitest.WorldPhones["cA1"]) {
			t.Errorf("%s's export lacks the phone: %.200s", a.actor, out.ExportCustomerData.Document)
		}
		want++
		evs := exportAudits(t, env)
		if len(evs) != want {
			t.Fatalf("%d exports audited after %s's, want %d", len(evs), a.actor, want)
		}
		ev := evs[len(evs)-1]
		if ev.Detail != strings.TrimSpace(why) || ev.ActorID == nil || *ev.ActorID != w.Users[a.actor].ID ||
			ev.ObjectID != string(w.ID("cA1")) || ev.ProjectID == nil || *ev.ProjectID != w.ID("pA") {
			t.Errorf("%s's export audited as %+v", a.actor, ev)
		}
	}
	if n := len(exportAudits(t, env)); n != want {
		t.Errorf("%d exports audited, want %d", n, want)
	}
	// The project's managers see the exports and why; B's manager none.
	for actor, n := range map[string]int{"MA": want, "MB": 0} {
		var got struct {
			AuditEvents struct {
				Edges []struct{ Node struct{ Detail string } }
			}
		}
		w.Caller(t, actor).Query(t, `{ auditEvents(first: 10, where: {action: "customer.export"}) { edges { node { detail } } } }`, nil).Decode(t, &got)
		if len(got.AuditEvents.Edges) != n || (n > 0 && !strings.Contains(got.AuditEvents.Edges[0].Node.Detail, "来函要求提供个人信息副本")) {
			t.Errorf("%s sees the exports as %+v", actor, got.AuditEvents.Edges)
		}
	}
}

// exportGet downloads cA1's export as actor, with the raw query string.
func exportGet(t *testing.T, w *apitest.World, actor, rawQuery string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/exports/customers/"+string(w.ID("cA1"))+rawQuery, nil)
	switch v := w.Viewers[actor]; {
	case actor == "portal":
		req.Header.Set("X-API-Key", w.PortalKey)
	case v != nil:
		tok, _, err := w.Env.Signer.Issue(v)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	rec := httptest.NewRecorder()
	w.Env.Handler.ServeHTTP(rec, req)
	return rec
}

// GET /exports/customers/{id} takes the reason as ?reason=, checked as the
// mutation checks it: missing, repeated, blank, overlong or with a control
// character it is 400 BAD_USER_INPUT naming reason (JSON) for every signed
// in actor, and nothing is sent or audited; an anonymous caller is 401
// first. With one, each actor gets what the mutation gives, and a download
// is audited with its reason. There is no signed link to the route: a
// download is always the caller's, with their reason. Before the fix a
// download needed no reason.
func TestPeopleExportDownloadNeedsAReason(t *testing.T) {
	env := apitest.New(t)
	w := env.World(t)
	bad := map[string]string{"missing": "", "empty": "?reason=", "repeated": "?reason=a&reason=b", "other parameter": "?why=asked"}
	for name, r := range badExportReasons {
		bad[name] = "?reason=" + url.QueryEscape(r)
	}
	for _, a := range exportActors {
		for name, rq := range bad {
			rec := exportGet(t, w, a.actor, rq)
			var body struct {
				Errors []struct {
					Message    string
					Extensions struct{ Code, Field string }
				}
			}
			err := json.Unmarshal(rec.Body.Bytes(), &body)
			if rec.Code != http.StatusBadRequest || err != nil || len(body.Errors) != 1 ||
				body.Errors[0].Extensions.Code != "BAD_USER_INPUT" || body.Errors[0].Extensions.Field != "reason" ||
				rec.Header().Get("Content-Disposition") != "" {
				t.Errorf("%s downloads with a %s reason: %d %s", a.actor, name, rec.Code, rec.Body)
			}
		}
	}
	if rec := exportGet(t, w, "anonymous", ""); rec.Code != http.StatusUnauthorized {
		t.Errorf("anonymous downloads with no reason: %d %s", rec.Code, rec.Body)
	}
	if n := len(exportAudits(t, env)); n != 0 {
		t.Fatalf("%d downloads audited after refusals for the reason", n)
	}

	want := 0
	for _, a := range append(exportActors, struct {
		actor, code string
		status      int
	}{"anonymous", "UNAUTHENTICATED", http.StatusUnauthorized}) {
		why := "业主 " + a.actor + " 书面申请 & 复印件"
		rec := exportGet(t, w, a.actor, "?reason="+url.QueryEscape(" "+why+" "))
		body := rec.Body.String()
		if rec.Code != a.status || strings.Contains(body, apitest.WorldPhones["cA1"]) != (a.status == http.StatusOK) {
			t.Errorf("%s downloads: %d %.300s", a.actor, rec.Code, body)
		}
		if a.status != http.StatusOK {
			continue
		}
		want++
		evs := exportAudits(t, env)
		if len(evs) != want {
			t.Fatalf("%d downloads audited after %s's, want %d", len(evs), a.actor, want)
		}
		if ev := evs[len(evs)-1]; ev.Detail != why || ev.ActorID == nil || *ev.ActorID != w.Users[a.actor].ID || ev.ObjectID != string(w.ID("cA1")) {
			t.Errorf("%s's download audited as %+v", a.actor, ev)
		}
	}
	if n := len(exportAudits(t, env)); n != want || want != 2 {
		t.Errorf("%d downloads audited, want %d (2)", n, want)
	}
}
