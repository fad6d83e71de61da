package api_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"estatecrm/api/apitest"
	"estatecrm/audit"
	"estatecrm/ent/auditevent"
	"estatecrm/ent/complaint"
	"estatecrm/ent/complaintevent"
	"estatecrm/ent/complaintphoto"
	"estatecrm/ent/consentevent"
	"estatecrm/ent/deal"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/survey"
	"estatecrm/ent/unit"
	"estatecrm/ent/visit"
	"estatecrm/storage"
)

const (
	erasedName  = "张敏华"
	erasedPhone = "+8613811110005" // cH1's
)

// eraseWorld gives homeowner H1 (customer cH1) a real name and leaves copies
// of it and of the phone wherever text about them ends up: their profile,
// visit notes, a staff note, another customer's notes, consent notes, an
// audit event, a reveal's reason, and a replayable answer of an
// Idempotency-Key.
func eraseWorld(t *testing.T) (*apitest.Env, *apitest.World) {
	env := apitest.New(t)
	w := env.World(t)
	sys := apitest.System()
	c := env.Client
	c.Customer.UpdateOneID(w.ID("cH1")).SetName(erasedName).SetNotes("身份证 330102199001011234, 电话 13811110005").
		SetTags([]string{erasedName}).SetOccupation("teacher").ExecX(sys)
	c.User.UpdateOneID(w.ID("H1")).SetName(erasedName).ExecX(sys)
	c.Visit.Create().SetAgentID(w.ID("A1")).SetCustomerID(w.ID("cH1")).SetProjectID(w.ID("pA")).SetKind(visit.KindPHONE_CALL).
		SetOccurredAt(time.Now().Add(-time.Hour)).SetNotes("called 13811110005, " + erasedName + " asked about parking").ExecX(sys)
	c.ComplaintEvent.Create().SetComplaintID(w.ID("cpH1")).SetActorID(w.ID("MA")).SetKind(complaintevent.KindNOTE).
		SetInternal(true).SetNote(erasedName + " is at +8613811110005 after 6pm").ExecX(sys)
	c.Customer.UpdateOneID(w.ID("cA1")).SetNotes("neighbour of " + erasedName + " (…11110005)").ExecX(sys)
	c.ConsentEvent.Create().SetCustomerID(w.ID("cH1")).SetKind(consentevent.KindGIVEN).SetConsent(true).
		SetNote("signed by " + erasedName).ExecX(sys)
	c.AuditEvent.Create().SetAction("customer.note").SetObjectID(string(w.ID("cH1"))).SetDetail("phone 11110005 checked").ExecX(sys)
	res := postWithKey(t, env, w.Viewers["A1"], "profile-1", `mutation($id: ID!) { updateCustomer(input: {customerId: $id, occupation: "teacher"}) { customer { name phone notes } } }`,
		map[string]any{"id": w.ID("cH1")})
	if len(res.Errors) > 0 || !strings.Contains(string(res.Body), erasedName) || !strings.Contains(string(res.Body), erasedPhone) {
		t.Fatalf("the replayable answer: %s", res.Body)
	}
	w.Caller(t, "MA").Query(t, `mutation($id: ID!) { revealPhone(input: {customerId: $id, reason: "call `+erasedName+` back"}) { phone } }`,
		map[string]any{"id": w.ID("cH1")}).Decode(t, &struct{}{})
	return env, w
}

const eraseMutation = `mutation($id: ID!) { eraseCustomer(input: {customerId: $id, reason: "PIPL request of ` + erasedName + ` by letter"}) {
  photosDeleted scrubbed customer { id name phone notes tags occupation stage } } }`

// An export holds everything about the person, with the full phone, and is
// audited; another project's manager and an agent get nothing.
func TestPeopleExportCustomerData(t *testing.T) {
	env, w := eraseWorld(t)
	sys := apitest.System()
	const q = `mutation($id: ID!) { exportCustomerData(input: {customerId: $id, reason: "the owner asked for a copy"}) { fileName contentType document } }`
	var out struct {
		ExportCustomerData struct{ FileName, ContentType, Document string }
	}
	w.Caller(t, "MA").Query(t, q, map[string]any{"id": w.ID("cH1")}).Decode(t, &out)
	x := out.ExportCustomerData
	if x.ContentType != "application/json" || !strings.HasSuffix(x.FileName, ".json") {
		t.Fatalf("export %q %q", x.FileName, x.ContentType)
	}
	doc := exportOf(t, x.Document)
	var profile struct{ Name, Phone, Notes string }
	var lists struct {
		Visits, Deals, ConsentHistory, AuditEvents []json.RawMessage
		Complaints                                 []struct {
			Edges struct {
				Events []struct{ Note string }
				Photos []struct {
					ContentType string `json:"content_type"`
					SizeBytes   int64  `json:"size_bytes"`
				}
			}
		}
	}
	var login struct{ Login, PasswordHash string }
	json.Unmarshal(doc["customer"], &profile)
	json.Unmarshal(doc["login"], &login)
	json.Unmarshal([]byte(x.Document), &lists)
	if profile.Name != erasedName || profile.Phone != erasedPhone || !strings.Contains(profile.Notes, "330102199001011234") {
		t.Errorf("profile %+v", profile)
	}
	if login.Login != "h1" || strings.Contains(x.Document, "password") || strings.Contains(x.Document, "$argon2") {
		t.Errorf("login %+v (or a password hash in the document)", login)
	}
	if len(lists.Visits) != 1 || len(lists.Deals) != 1 || len(lists.ConsentHistory) != 1 || len(lists.Complaints) != 1 {
		t.Errorf("visits %d deals %d consents %d complaints %d", len(lists.Visits), len(lists.Deals), len(lists.ConsentHistory), len(lists.Complaints))
	} else if k := lists.Complaints[0]; len(k.Edges.Events) != 3 || len(k.Edges.Photos) != 1 || k.Edges.Photos[0].ContentType != "image/png" {
		t.Errorf("complaint %+v", k)
	}
	// The note, the profile change and the reveal, about cH1.
	if len(lists.AuditEvents) < 3 || !strings.Contains(x.Document, audit.CustomerPhoneReveal) {
		t.Errorf("%d audit events in the export", len(lists.AuditEvents))
	}
	ev := env.Client.AuditEvent.Query().Where(auditevent.Action(audit.CustomerExport)).OnlyX(sys)
	if ev.ObjectID != string(w.ID("cH1")) || *ev.ActorID != w.ID("MA") {
		t.Errorf("export audited as %+v", ev)
	}
	for actor, code := range map[string]string{"MB": "NOT_FOUND", "A1": "FORBIDDEN", "H1": "FORBIDDEN"} {
		if e := w.Caller(t, actor).Query(t, q, map[string]any{"id": w.ID("cH1")}).OnlyError(t); e.Code() != code {
			t.Errorf("%s exports: %s", actor, e.Code())
		}
	}
	if n := env.Client.AuditEvent.Query().Where(auditevent.Action(audit.CustomerExport)).CountX(sys); n != 1 {
		t.Errorf("%d exports audited", n)
	}
}

// A homeowner with an open deal or complaint is not erased; once they
// close, the erasure leaves no copy of the name or of the phone (E.164,
// national, last 8 digits) in any text or JSON column of any table, keeps
// the rows, deletes the photos' files and ends the login.
func TestPeopleEraseLeavesNoPersonalValue(t *testing.T) {
	env, w := eraseWorld(t)
	sys := apitest.System()
	c := env.Client
	values := []string{erasedName, erasedPhone, "13811110005", "11110005"}
	if found := peopleFind(t, env, values...); len(found) < 8 {
		t.Fatalf("the fixture leaves too few copies to test: %v", found)
	}
	vars := map[string]any{"id": w.ID("cH1")}
	// uH1 is contracted, not delivered: an open deal.
	before := tableCounts(t, env)
	e := w.Caller(t, "MA").Query(t, eraseMutation, vars).OnlyError(t)
	if e.Code() != "CONFLICT" || e.Field() != "input.customerId" || !strings.Contains(e.Message, "deal") {
		t.Fatalf("erase with an open deal: %s %s %q", e.Code(), e.Field(), e.Message)
	}
	if after := tableCounts(t, env); after != before {
		t.Fatalf("a refused erasure changed rows:\n%s\n%s", before, after)
	}
	c.Unit.UpdateOneID(w.ID("uH1")).SetStatus(unit.StatusDELIVERED).ExecX(sys)
	before = tableCounts(t, env)
	e = w.Caller(t, "MA").Query(t, eraseMutation, vars).OnlyError(t)
	if e.Code() != "CONFLICT" || !strings.Contains(e.Message, "complaint") {
		t.Fatalf("erase with an open complaint: %s %q", e.Code(), e.Message)
	}
	if after := tableCounts(t, env); after != before {
		t.Fatalf("a refused erasure changed rows:\n%s\n%s", before, after)
	}
	if found := peopleFind(t, env, erasedName); len(found) == 0 {
		t.Fatal("a refused erasure erased")
	}
	c.Complaint.UpdateOneID(w.ID("cpH1")).SetStatus(complaint.StatusCLOSED).ExecX(sys)
	// Their words in a satisfaction survey go; the scores stay (the
	// satisfaction figures do not move).
	sv := c.Survey.Create().SetKind(survey.KindCOMPLAINT_RESOLVED).SetProjectID(w.ID("pA")).SetCustomerID(w.ID("cH1")).
		SetUnitID(w.ID("uH1")).SetComplaintID(w.ID("cpH1")).SetCreatedAt(w.Now).SetCsat(2).SetCsatComment("the plumber came three times").
		SetNps(3).SetNpsReason("slow repairs").SetAnsweredAt(w.Now).SaveX(sys)
	photo := c.ComplaintPhoto.Query().Where(complaintphoto.ComplaintID(w.ID("cpH1"))).OnlyX(sys)

	var out struct {
		EraseCustomer struct {
			PhotosDeleted, Scrubbed int
			Customer                struct {
				ID, Name, Phone, Notes, Stage string
				Tags                          []string
				Occupation                    *string
			}
		}
	}
	w.Caller(t, "MA").Query(t, eraseMutation, vars).Decode(t, &out)
	got := out.EraseCustomer
	if got.Customer.Name != "已删除" || got.Customer.Phone != "****" || got.Customer.Notes != "" || len(got.Customer.Tags) != 0 ||
		got.Customer.Occupation != nil || got.Customer.Stage != "OWNER" || got.PhotosDeleted != 1 || got.Scrubbed == 0 {
		t.Fatalf("erased: %+v", got)
	}
	if found := peopleFind(t, env, values...); len(found) > 0 {
		t.Fatalf("personal values left after the erasure:\n%s", strings.Join(found, "\n"))
	}
	// The rows stay: the figures of the dashboards do not move.
	if n := c.Deal.Query().Where(deal.CustomerID(w.ID("cH1"))).CountX(sys); n != 1 {
		t.Errorf("%d deals of the erased customer", n)
	}
	if n := c.Visit.Query().Where(visit.CustomerID(w.ID("cH1"))).CountX(sys); n != 1 {
		t.Errorf("%d visits of the erased customer", n)
	}
	if k := c.Complaint.GetX(sys, w.ID("cpH1")); k.Category != complaint.CategoryLEAK || k.Description != "" {
		t.Errorf("complaint after the erasure: %+v", k)
	}
	if k := c.Survey.GetX(sys, sv.ID); k.CsatComment != "" || k.NpsReason != "" || k.Csat == nil || *k.Csat != 2 || k.Nps == nil || *k.Nps != 3 {
		t.Errorf("survey after the erasure: %+v", k)
	}
	if _, _, err := env.Photos.Open(sys, photo.StorageKey); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("the photo's file is still there: %v", err)
	}
	if u := c.User.GetX(sys, w.ID("H1")); u.Active || u.PasswordHash != "" {
		t.Errorf("the login after the erasure: active %v", u.Active)
	}
	ev := c.AuditEvent.Query().Where(auditevent.Action(audit.CustomerErase)).OnlyX(sys)
	if ev.ObjectID != string(w.ID("cH1")) || !strings.Contains(ev.Detail, "PIPL request of *** by letter") {
		t.Errorf("erasure audited as %q", ev.Detail)
	}
	// Once erased, always erased: no second erasure, no reveal, no merge.
	if e := w.Caller(t, "MA").Query(t, eraseMutation, vars).OnlyError(t); e.Code() != "CONFLICT" {
		t.Errorf("a second erasure: %s", e.Code())
	}
	if e := w.Caller(t, "admin").Query(t, `mutation($id: ID!) { revealPhone(input: {customerId: $id, reason: "x"}) { phone } }`, vars).OnlyError(t); e.Code() != "CONFLICT" {
		t.Errorf("a reveal of an erased phone: %s", e.Code())
	}
	// The owning agent sees the placeholder masked too.
	var a1 struct{ Node struct{ Phone string } }
	w.Caller(t, "A1").Query(t, `query($id: ID!) { node(id: $id) { ... on Customer { phone } } }`, vars).Decode(t, &a1)
	if a1.Node.Phone != "****" {
		t.Errorf("A1 reads the erased phone as %q", a1.Node.Phone)
	}
	if n := c.ConsentEvent.Query().Where(consentevent.CustomerID(w.ID("cH1"))).CountX(sys); n != 1 {
		t.Errorf("%d consent events kept", n)
	}
}

// GET /exports/customers/{id} downloads the same document as a file, with
// the token of a manager of the project or an admin; each download is
// audited; others get what a read gets.
func TestPeopleExportDownload(t *testing.T) {
	env, w := eraseWorld(t)
	get := func(actor string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/exports/customers/"+string(w.ID("cH1"))+"?reason=owner+asked+by+letter", nil)
		if v := w.Viewers[actor]; v != nil {
			tok, _, err := env.Signer.Issue(v)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		rec := httptest.NewRecorder()
		env.Handler.ServeHTTP(rec, req)
		return rec
	}
	rec := get("MA")
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") ||
		!strings.HasPrefix(rec.Header().Get("Content-Disposition"), "attachment; filename=customer-") || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("download: %d %v", rec.Code, rec.Header())
	}
	var profile struct{ Phone string }
	json.Unmarshal(exportOf(t, rec.Body.String())["customer"], &profile)
	if profile.Phone != erasedPhone {
		t.Errorf("downloaded profile phone %q", profile.Phone)
	}
	for actor, code := range map[string]int{"MB": http.StatusNotFound, "A1": http.StatusForbidden, "H1": http.StatusForbidden, "anonymous": http.StatusUnauthorized} {
		if rec := get(actor); rec.Code != code || strings.Contains(rec.Body.String(), erasedPhone) {
			t.Errorf("%s downloads: %d %s", actor, rec.Code, rec.Body)
		}
	}
	if n := env.Client.AuditEvent.Query().Where(auditevent.Action(audit.CustomerExport)).CountX(apitest.System()); n != 1 {
		t.Errorf("%d downloads audited, want 1", n)
	}
}

// An erasure scrubs copies in the person's project and in the rows about
// them only: a short name is also a part of other people's names, and
// another project's customers are other people ("张伟" in "张伟民的太太").
// A copy is replaced by a mask no longer than it, so a nearly full
// varchar(100) complaint title still fits on PostgreSQL. Before the fix the
// other project's note became "[erased]民的太太" and the erasure failed on
// PostgreSQL (value too long for type character varying(100)).
func TestPeopleEraseScrubsOnlyTheirProjectAndFits(t *testing.T) {
	env := apitest.New(t)
	w := env.World(t)
	sys := apitest.System()
	c := env.Client
	const short = "张伟"
	c.Customer.UpdateOneID(w.ID("cH1")).SetName(short).ExecX(sys)
	c.User.UpdateOneID(w.ID("H1")).SetName(short).ExecX(sys)
	c.Unit.UpdateOneID(w.ID("uH1")).SetStatus(unit.StatusDELIVERED).ExecX(sys)
	c.Complaint.UpdateOneID(w.ID("cpH1")).SetStatus(complaint.StatusCLOSED).ExecX(sys)
	other := short + "民的太太"
	c.Customer.UpdateOneID(w.ID("cB1")).SetNotes(other).ExecX(sys)
	c.Customer.UpdateOneID(w.ID("cA1")).SetNotes("neighbour of " + short).ExecX(sys)
	title := short + "家楼上漏水" + strings.Repeat("水", 93)
	if n := len([]rune(title)); n != 100 {
		t.Fatalf("title of %d characters", n)
	}
	c.Complaint.UpdateOneID(w.ID("cpH2")).SetTitle(title).ExecX(sys)
	// A replayable answer naming the customer by id goes whole.
	if res := postWithKey(t, env, w.Viewers["A1"], "occupation-1", `mutation($id: ID!) { updateCustomer(input: {customerId: $id, occupation: "teacher"}) { customer { id occupation } } }`,
		map[string]any{"id": w.ID("cH1")}); len(res.Errors) > 0 {
		t.Fatalf("updateCustomer: %s", res.Body)
	}

	var out struct{ EraseCustomer struct{ Scrubbed int } }
	w.Caller(t, "MA").Query(t, eraseMutation, map[string]any{"id": w.ID("cH1")}).Decode(t, &out)
	if got := c.Customer.GetX(sys, w.ID("cB1")).Notes; got != other {
		t.Errorf("another project's customer's notes became %q", got)
	}
	if got := c.Customer.GetX(sys, w.ID("cA1")).Notes; got != "neighbour of **" {
		t.Errorf("a copy in the project became %q", got)
	}
	if got, want := c.Complaint.GetX(sys, w.ID("cpH2")).Title, "**"+title[len(short):]; got != want {
		t.Errorf("the nearly full title became %q", got)
	}
	if found := peopleFind(t, env, short); len(found) != 1 || !strings.HasPrefix(found[0], "customers.notes") {
		t.Errorf("copies left: %v", found)
	}
	if found := peopleFind(t, env, string(w.ID("cH1"))); slices.ContainsFunc(found, func(s string) bool { return strings.HasPrefix(s, "idempotency_keys.") }) {
		t.Errorf("a replayable answer naming the erased customer is kept: %v", found)
	}
}

// An export and a revealed phone are not kept for replay under an
// Idempotency-Key: no row holds the document or the phone, and a retry with
// the same key runs again, with its access check, so a manager removed from
// the project gets nothing. Before the fix both answers were kept for 48 h
// and the retry replayed them to the removed manager.
func TestPeopleExportAndRevealAreNotReplayed(t *testing.T) {
	env := apitest.New(t)
	w := env.World(t)
	sys := apitest.System()
	vars := map[string]any{"id": w.ID("cH1")}
	ops := map[string]string{
		"export-1": `mutation($id: ID!) { exportCustomerData(input: {customerId: $id, reason: "a copy for the owner"}) { document } }`,
		"reveal-1": `mutation($id: ID!) { revealPhone(input: {customerId: $id, reason: "call back"}) { phone } }`,
	}
	for key, q := range ops {
		res := postWithKey(t, env, w.Viewers["MA"], key, q, vars)
		if len(res.Errors) > 0 || !strings.Contains(string(res.Body), "13811110005") {
			t.Fatalf("%s: %s", key, res.Body)
		}
	}
	if found := peopleFind(t, env, "13811110005", string(w.ID("cH1"))); slices.ContainsFunc(found, func(s string) bool { return strings.HasPrefix(s, "idempotency_keys.") }) {
		t.Errorf("kept for replay: %v", found)
	}
	env.Client.User.UpdateOneID(w.ID("MA")).RemoveProjectIDs(w.ID("pA")).ExecX(sys)
	removed := *w.Viewers["MA"]
	removed.ProjectIDs = slices.DeleteFunc(slices.Clone(removed.ProjectIDs), func(id pulid.ID) bool { return id == w.ID("pA") })
	for key, q := range ops {
		res := postWithKey(t, env, &removed, key, q, vars)
		body := string(res.Body)
		if strings.Contains(body, "13811110005") || !(strings.Contains(body, `"NOT_FOUND"`) || strings.Contains(body, `"FORBIDDEN"`)) {
			t.Errorf("%s retried by a manager removed from the project: %s", key, body)
		}
	}
}
