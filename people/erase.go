package people

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql/schema"
	"entgo.io/ent/schema/field"

	"estatecrm/audit"
	"estatecrm/ent"
	"estatecrm/ent/complaint"
	"estatecrm/ent/complaintphoto"
	"estatecrm/ent/deal"
	"estatecrm/ent/migrate"
	"estatecrm/ent/refreshtoken"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/unit"
	"estatecrm/ent/user"
	"estatecrm/rule"
	"estatecrm/storage"
)

// ErasedName replaces an erased person's name (a name is required and
// shown in lists).
const ErasedName = "已删除"

// scrubbed replaces an erased value wherever a copy of it was found, when
// it is no longer than the value (see mask).
const scrubbed = "[erased]"

// mask is what replaces v: "[erased]" when it is no longer than v, else one
// "*" per character of v. A replacement never makes a text longer, so a
// copy in a nearly full varchar(n) column still fits (PostgreSQL counts
// characters, as does utf8.RuneCountInString).
func mask(v string) string {
	n := utf8.RuneCountInString(v)
	if n >= utf8.RuneCountInString(scrubbed) {
		return scrubbed
	}
	return strings.Repeat("*", n)
}

// EraseInput is the input of Erase.
type EraseInput struct {
	CustomerID pulid.ID
	Reason     string
}

// Erasure is what Erase did.
type Erasure struct {
	Customer *ent.Customer
	// PhotosDeleted counts the complaint photos deleted with their files.
	PhotosDeleted int
	// Scrubbed counts the rows elsewhere in which a copy of the name or
	// phone was replaced.
	Scrubbed int
}

// Erase anonymises the person behind customer id (PIPL: the right to
// erasure), for a manager of the customer's project or an admin
// (rule.Steward), with a reason. It cannot be undone. The rows stay, so
// that counts and dashboards stay right (the customer, their visits,
// deals and complaints, with their stages, dates, prices and categories),
// but every personal value goes:
//   - the customer's name (ErasedName), phone (a placeholder, rule.ErasedPhone,
//     shown masked to everyone), gender, age band, occupation, family,
//     wanted layouts, focus factors, tags, notes and next action;
//   - the notes and next actions of their visits; the title, description and
//     rating comment of their complaints, and the notes of their complaints'
//     timelines written by them; the notes of their consent history; the
//     comments and reasons of their satisfaction surveys (scores stay);
//   - their complaints' photos: rows and files (deleted from the store once
//     the erasure commits);
//   - their homeowner login: its name and login replaced, no password, not
//     active, its sessions ended;
//   - every copy of the name or of the phone (E.164, national, last 8
//     digits) in any text or JSON column of the rows of their project or
//     about them (inScope): audit details, other records' notes, staff
//     notes, idempotency replays, the listing change log: replaced by
//     "[erased]", or by as many "*" when the value is shorter (mask).
//
// A customer with an open deal (pending, reserved, or contracted on a unit
// not yet delivered) or a complaint not closed is not erased until those
// close (CONFLICT on customerId, saying which). The erasure is audited
// (customer.erase, with the reason, itself scrubbed of the erased values).
func Erase(ctx context.Context, client *ent.Client, store storage.Store, in EraseInput, now time.Time) (*Erasure, error) {
	id := in.CustomerID
	if err := customerID("input.customerId", id); err != nil {
		return nil, err
	}
	why, err := reason("input.reason", in.Reason)
	if err != nil {
		return nil, err
	}
	cs, sys, err := rule.Steward(ctx, client, id)
	if err != nil {
		return nil, err
	}
	c := cs[0]
	if rule.Erased(c) {
		return nil, conflict("input.customerId", "the customer's data was already erased")
	}
	open, err := client.Deal.Query().Where(deal.CustomerID(id), deal.Or(
		deal.StageIn(deal.StagePENDING_APPROVAL, deal.StageRESERVED),
		deal.And(deal.StageEQ(deal.StageCONTRACTED), deal.HasUnitWith(unit.StatusNEQ(unit.StatusDELIVERED))),
	)).Exist(sys)
	if err != nil {
		return nil, err
	}
	if open {
		return nil, conflict("input.customerId", "the customer has an open deal (reserved, or contracted and not yet delivered): erase them once it is delivered or cancelled")
	}
	if open, err = client.Complaint.Query().Where(complaint.CustomerID(id), complaint.StatusNEQ(complaint.StatusCLOSED)).Exist(sys); err != nil {
		return nil, err
	}
	if open {
		return nil, conflict("input.customerId", "the customer has a complaint not closed: erase them once it is closed")
	}
	login, err := client.User.Query().Where(user.CustomerID(id)).Only(sys)
	if err != nil && !ent.IsNotFound(err) {
		return nil, err
	}
	values := erasedValues(c, login)
	pg := client.Dialect() == dialect.Postgres
	exec := func(q string, args ...any) error {
		_, err := client.ExecContext(sys, rebind(pg, q), args...)
		return err
	}
	ts := now.UTC()
	// The customer: written past the hooks, whose phone check would refuse
	// the placeholder.
	if err := exec(`UPDATE customers SET name = ?, phone = ?, phone_last4 = '', gender = 'UNKNOWN', age_band = NULL,
	  occupation = NULL, family_structure = NULL, wanted_bedrooms = NULL, focus_factors = NULL, tags = NULL,
	  notes = '', next_follow_up_action = '', updated_at = ? WHERE id = ?`,
		ErasedName, rule.ErasedPhone(id), ts, string(id)); err != nil {
		return nil, err
	}
	if err := exec(`UPDATE visits SET notes = '', next_follow_up_action = '', updated_at = ? WHERE customer_id = ?`, ts, string(id)); err != nil {
		return nil, err
	}
	if err := exec(`UPDATE consent_events SET note = '' WHERE customer_id = ?`, string(id)); err != nil {
		return nil, err
	}
	// Their words in satisfaction surveys (the scores stay: satisfaction
	// figures must not move).
	if err := exec(`UPDATE surveys SET csat_comment = '', nps_reason = '' WHERE customer_id = ?`, string(id)); err != nil {
		return nil, err
	}
	if err := exec(`UPDATE complaints SET title = ?, description = '', rating_comment = '', updated_at = ? WHERE customer_id = ?`, ErasedName, ts, string(id)); err != nil {
		return nil, err
	}
	if login != nil {
		// Their own words on their complaints' timelines.
		if err := exec(`UPDATE complaint_events SET note = '' WHERE actor_id = ? AND complaint_id IN (SELECT id FROM complaints WHERE customer_id = ?)`,
			string(login.ID), string(id)); err != nil {
			return nil, err
		}
		if err := client.User.UpdateOneID(login.ID).SetName(ErasedName).SetLogin(rule.ErasedPhone(login.ID)).
			ClearPasswordHash().SetActive(false).Exec(sys); err != nil {
			return nil, err
		}
		if _, err := client.RefreshToken.Delete().Where(refreshtoken.UserID(login.ID)).Exec(sys); err != nil {
			return nil, err
		}
	}
	photos, err := client.ComplaintPhoto.Query().Where(complaintphoto.HasComplaintWith(complaint.CustomerID(id))).All(sys)
	if err != nil {
		return nil, err
	}
	if len(photos) > 0 {
		ids := make([]pulid.ID, len(photos))
		for i, p := range photos {
			ids[i] = p.ID
		}
		if _, err := client.ComplaintPhoto.Delete().Where(complaintphoto.IDIn(ids...)).Exec(sys); err != nil {
			return nil, err
		}
		deleteFiles(ctx, store, photos)
	}
	// The audit event first, so that the sweep below scrubs its reason too.
	if err := audit.Record(ctx, client, audit.Event{Action: audit.CustomerErase, ObjectID: id, ProjectID: c.ProjectID,
		Detail: fmt.Sprintf("reason: %s; photos deleted: %d", why, len(photos))}); err != nil {
		return nil, err
	}
	// A replayable answer that names the customer goes whole: its copies
	// would be scrubbed, but the rest of the answer is still about them.
	if err := exec(`DELETE FROM idempotency_keys WHERE response LIKE ? ESCAPE '\'`, "%"+escapeLike(string(id))+"%"); err != nil {
		return nil, err
	}
	persons := []string{string(id)}
	if login != nil {
		persons = append(persons, string(login.ID))
	}
	n, err := scrub(sys, client, pg, values, person{project: string(c.ProjectID), ids: persons})
	if err != nil {
		return nil, err
	}
	out := &Erasure{PhotosDeleted: len(photos), Scrubbed: n}
	if out.Customer, err = client.Customer.Get(ctx, id); err != nil {
		return nil, err
	}
	return out, nil
}

// deleteFiles removes the photos' files from the store once the erasure
// commits (a rolled back erasure keeps them), or at once outside a
// transaction. A file that cannot be deleted is left to the orphan sweep.
func deleteFiles(ctx context.Context, store storage.Store, photos []*ent.ComplaintPhoto) {
	if store == nil {
		return
	}
	remove := func() {
		for _, p := range photos {
			_ = store.Delete(context.WithoutCancel(ctx), p.StorageKey)
		}
	}
	tx := ent.TxFromContext(ctx)
	if tx == nil {
		remove()
		return
	}
	tx.OnCommit(func(next ent.Committer) ent.Committer {
		return ent.CommitFunc(func(cctx context.Context, tx *ent.Tx) error {
			err := next.Commit(cctx, tx)
			if err == nil {
				remove()
			}
			return err
		})
	})
}

// erasedValues are the forms of the person's name and phone that copies
// may hold: the name (and the login's name and login, if other), the
// phone in E.164 (+8613800138000), national (13800138000) and its last 8
// digits. A value shorter than 2 characters (or 8 digits) is not looked
// for: it would match unrelated text.
func erasedValues(c *ent.Customer, login *ent.User) []string {
	var vs []string
	add := func(s string, min int) {
		s = strings.TrimSpace(s)
		if utf8.RuneCountInString(s) >= min && s != ErasedName {
			for _, v := range vs {
				if v == s {
					return
				}
			}
			vs = append(vs, s)
		}
	}
	add(c.Name, 2)
	if login != nil {
		add(login.Name, 2)
		add(login.Login, 4)
	}
	p := c.Phone
	add(p, 8)
	national := strings.TrimPrefix(p, "+86")
	add(national, 8)
	if len(national) >= 8 {
		add(national[len(national)-8:], 8)
	}
	return vs
}

// notScrubbed are columns that hold no words of a person: keys, hashes,
// enums of states (an 8-digit run inside a hash is no phone); and the
// names, phones and logins of other people, who may share a name with the
// erased person, or be them in another project (a record of each project
// is erased on its own: Customer.sameAs shows them).
func notScrubbed(table, col string) bool {
	switch table + "." + col {
	case "customers.name", "customers.phone", "customers.phone_last4", "users.name", "users.login":
		return true
	}
	switch col {
	case "id", "sha256", "storage_key", "secret", "previous_secret", "token", "key", "key_prefix",
		"request_key", "lease_owner", "owner", "action", "content_type", "from_status", "to_status":
		return true
	}
	return strings.HasSuffix(col, "_id") || strings.HasSuffix(col, "_ids") || strings.HasSuffix(col, "_hash")
}

// person is whose copies a scrub looks for: the erased customer's project
// and ids (the customer's, and their login's).
type person struct {
	project string
	ids     []string
}

// personColumns name the person who did or is the subject of a row, in
// tables of any project: an audit event's object, a timeline's actor, a
// consent's customer, a session's user.
var personColumns = []string{"customer_id", "object_id", "actor_id", "subject", "user_id", "recorded_by_id"}

// answerColumns hold a whole document written about some object, in tables
// tied to no project or person by a column (a replayable answer, an outbox
// message): such a row is about the person when the document names them by
// id.
var answerColumns = map[string]string{"idempotency_keys": "response", "outbox_events": "payload"}

// staffColumns name the user who wrote a row tied to no project: a
// replayable answer of a member of the person's project (or of the person)
// is one of that project's answers, whether or not it selected the
// customer's id.
var staffColumns = map[string]string{"idempotency_keys": "owner"}

// inScope is the WHERE condition that keeps a scrub to the rows about the
// erased person: a short name is also a part of other people's names and
// words ("张伟" in "张伟民的太太"), and another project's rows are another
// controller's records of other people. A row is in scope when it
//   - belongs to the person's project (its project_id, or, with no
//     project_id, a foreign key to a row of a table that has one: a
//     complaint's timeline, a listing's deliveries), or is the project;
//   - names the person in a column of personColumns, or is their customer
//     record or login;
//   - is a document of answerColumns that holds the customer's id, or was
//     written by a member of the project (staffColumns).
//
// It returns "" for a table with no way to tie a row to them (API keys,
// webhook endpoints): nothing there is scrubbed.
func inScope(t *schema.Table, pg bool, who person) (string, []any) {
	var conds []string
	var args []any
	has := func(name string) *schema.Column {
		for _, c := range t.Columns {
			if c.Name == name {
				return c
			}
		}
		return nil
	}
	ids := func(col string) {
		conds = append(conds, col+" IN (?"+strings.Repeat(", ?", len(who.ids)-1)+")")
		for _, id := range who.ids {
			args = append(args, id)
		}
	}
	if has("project_id") != nil {
		conds = append(conds, "project_id = ?")
		args = append(args, who.project)
	} else {
		for _, fk := range t.ForeignKeys {
			if len(fk.Columns) == 1 && fk.RefTable != nil && fk.RefTable.Name != "projects" {
				for _, rc := range fk.RefTable.Columns {
					if rc.Name == "project_id" {
						conds = append(conds, fk.Columns[0].Name+" IN (SELECT id FROM "+fk.RefTable.Name+" WHERE project_id = ?)")
						args = append(args, who.project)
						break
					}
				}
			}
		}
	}
	switch t.Name {
	case "projects":
		conds = append(conds, "id = ?")
		args = append(args, who.project)
	case "customers", "users":
		ids("id")
	}
	for _, col := range personColumns {
		if has(col) != nil {
			ids(col)
		}
	}
	if col, ok := staffColumns[t.Name]; ok && has(col) != nil {
		conds = append(conds, col+" IN (SELECT user_id FROM user_projects WHERE project_id = ?)")
		args = append(args, who.project)
		ids(col)
	}
	if name, ok := answerColumns[t.Name]; ok {
		if c := has(name); c != nil {
			text := name
			if pg && c.Type == field.TypeJSON {
				text = name + "::text"
			}
			conds = append(conds, text+` LIKE ? ESCAPE '\'`)
			args = append(args, "%"+escapeLike(who.ids[0])+"%")
		}
	}
	if len(conds) == 0 {
		return "", nil
	}
	return "(" + strings.Join(conds, " OR ") + ")", args
}

// scrub replaces every copy of values in every text and JSON column of the
// rows about the erased person (inScope) by its mask: one UPDATE per table,
// so one scan of it (a LIKE '%…%' reads every row: an erasure is rare, and
// every column must be looked at, whatever it holds), touching only the
// rows that hold a copy, and in them only the columns that do.
func scrub(ctx context.Context, client *ent.Client, pg bool, values []string, who person) (int, error) {
	if len(values) == 0 {
		return 0, nil
	}
	total := 0
	for _, t := range migrate.Tables {
		scope, scopeArgs := inScope(t, pg, who)
		if scope == "" {
			continue
		}
		var sets, hits []string
		var setArgs, hitArgs []any
		for _, col := range t.Columns {
			if (col.Type != field.TypeString && col.Type != field.TypeJSON) || notScrubbed(t.Name, col.Name) {
				continue
			}
			text := col.Name
			if pg && col.Type == field.TypeJSON {
				text = col.Name + "::text"
			}
			var like []string
			var likeArgs []any
			replaced := text
			var replaceArgs []any
			for _, v := range values {
				like = append(like, text+` LIKE ? ESCAPE '\'`)
				likeArgs = append(likeArgs, "%"+escapeLike(v)+"%")
				replaced = "REPLACE(" + replaced + ", ?, ?)"
				replaceArgs = append(replaceArgs, v, mask(v))
			}
			if pg && col.Type == field.TypeJSON {
				replaced = "(" + replaced + ")::jsonb"
			}
			hit := "(" + strings.Join(like, " OR ") + ")"
			sets = append(sets, col.Name+" = CASE WHEN "+hit+" THEN "+replaced+" ELSE "+col.Name+" END")
			setArgs = append(append(setArgs, likeArgs...), replaceArgs...)
			hits = append(hits, hit)
			hitArgs = append(hitArgs, likeArgs...)
		}
		if len(sets) == 0 {
			continue
		}
		q := "UPDATE " + t.Name + " SET " + strings.Join(sets, ", ") + " WHERE " + scope + " AND (" + strings.Join(hits, " OR ") + ")"
		args := slices.Concat(setArgs, scopeArgs, hitArgs)
		res, err := client.ExecContext(ctx, rebind(pg, q), args...)
		if err != nil {
			return 0, fmt.Errorf("scrubbing %s: %w", t.Name, err)
		}
		if n, err := res.RowsAffected(); err == nil {
			total += int(n)
		}
	}
	return total, nil
}

// escapeLike escapes LIKE's wildcards in s, for ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
