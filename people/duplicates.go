package people

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"entgo.io/ent/dialect"

	"estatecrm/apperr"
	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/customer"
	"estatecrm/ent/schema/pulid"
	"estatecrm/rule"
)

// DuplicateReason says why customer records are likely one person.
type DuplicateReason string

// The reasons, strongest first.
const (
	// SamePhone: the same normalised phone, in several projects (a phone
	// is one customer per project).
	SamePhone DuplicateReason = "SAME_PHONE"
	// SameNameSameLast8: the same name, and phones that differ but end in
	// the same 8 digits (a country or trunk prefix typed differently, a
	// number ported between carriers' prefixes).
	SameNameSameLast8 DuplicateReason = "SAME_NAME_SAME_LAST8"
	// SameNameOneDigitApart: the same name, and phones of the same length
	// that differ in exactly one digit (a typo at registration).
	SameNameOneDigitApart DuplicateReason = "SAME_NAME_ONE_DIGIT_APART"
	// SameResidentID: the same 18-character resident ID number (17 digits
	// and a digit or X) written in the notes of each.
	SameResidentID DuplicateReason = "SAME_RESIDENT_ID"
)

// Candidate is a group of customer records that are likely one person,
// with why.
type Candidate struct {
	Reason    DuplicateReason
	Customers []*ent.Customer
	ids       []pulid.ID
}

// MaxCandidates caps a page of candidates.
const MaxCandidates = 100

// residentID finds an 18-character resident ID in free text, not inside a
// longer run of digits.
var residentID = regexp.MustCompile(`(?:^|[^0-9])([0-9]{17}[0-9Xx])(?:$|[^0-9Xx])`)

// Duplicates lists groups of customers that are likely one person, for a
// manager among the customers of their projects (a group whose records are
// partly in another project is shown with only theirs, and only if two
// remain), for an admin among all; project narrows it to one project (a
// same-phone group then needs no two records there: it is the records of
// project's customers' phones in the viewer's other projects). Each group
// says why: the same phone, the same name with a similar phone (the same
// last 8 digits, or one digit apart), or the same resident ID in the notes.
// Groups come strongest reason first, at most first. Erased customers are
// nobody's duplicate. Computed in SQL; the resident ID is taken out of the
// notes by PostgreSQL's regular expressions, on SQLite in Go from the
// notes SQL found to hold one.
func Duplicates(ctx context.Context, client *ent.Client, project *pulid.ID, first int) ([]*Candidate, error) {
	v := auth.FromContext(ctx)
	switch {
	case v == nil:
		return nil, rule.ErrUnauthenticated
	case v.Role != auth.RoleAdmin && v.Role != auth.RoleManager:
		return nil, rule.ErrNotSteward
	case first < 1 || first > MaxCandidates:
		return nil, apperr.Input("first", "between 1 and %d", MaxCandidates)
	}
	var scope []pulid.ID // nil: every project
	if v.Role == auth.RoleManager {
		scope = v.ProjectIDs
		if len(scope) == 0 {
			return nil, nil
		}
	}
	if project != nil {
		if v.Role == auth.RoleManager && !slices.Contains(scope, *project) {
			return nil, nil // another project's customers are none of theirs
		}
	}
	pg := client.Dialect() == dialect.Postgres
	d := dupQuery{client: client, pg: pg, scope: scope, project: project, limit: first}
	var out []*Candidate
	for _, find := range []func(context.Context) ([]*Candidate, error){d.samePhone, d.similarPhone, d.sameResidentID} {
		if len(out) >= first {
			break
		}
		got, err := find(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
	}
	if len(out) > first {
		out = out[:first]
	}
	return out, d.load(ctx, out)
}

type dupQuery struct {
	client  *ent.Client
	pg      bool
	scope   []pulid.ID
	project *pulid.ID
	limit   int
}

// in returns the condition that alias's customer is in scope, not erased,
// and its arguments.
func (d dupQuery) in(alias string) (string, []any) {
	cond := alias + ".phone NOT LIKE '" + rule.ErasedPhonePrefix + "%'"
	if d.scope == nil {
		return cond, nil
	}
	args := make([]any, len(d.scope))
	marks := make([]string, len(d.scope))
	for i, p := range d.scope {
		args[i], marks[i] = string(p), "?"
	}
	return cond + " AND " + alias + ".project_id IN (" + strings.Join(marks, ", ") + ")", args
}

// rows runs q and groups its (group key, customer id) rows by key, in the
// order they come.
func (d dupQuery) rows(ctx context.Context, reason DuplicateReason, q string, args ...any) ([]*Candidate, error) {
	rows, err := d.client.QueryContext(ctx, rebind(d.pg, q), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Candidate
	last := ""
	for rows.Next() {
		var key, id string
		if err := rows.Scan(&key, &id); err != nil {
			return nil, err
		}
		if key != last || len(out) == 0 {
			out = append(out, &Candidate{Reason: reason})
			last = key
		}
		c := out[len(out)-1]
		c.ids = append(c.ids, pulid.ID(id))
	}
	return out, rows.Err()
}

// samePhone: one phone in several projects.
func (d dupQuery) samePhone(ctx context.Context) ([]*Candidate, error) {
	inA, argsA := d.in("a")
	inG, argsG := d.in("g")
	filter := ""
	var argsP []any
	if d.project != nil { // phones that project's customers have
		filter = " AND g.phone IN (SELECT p.phone FROM customers p WHERE p.project_id = ?)"
		argsP = []any{string(*d.project)}
	}
	q := `SELECT a.phone, a.id FROM customers a WHERE ` + inA + ` AND a.phone IN (
	  SELECT g.phone FROM customers g WHERE ` + inG + filter + ` GROUP BY g.phone HAVING COUNT(*) > 1
	  ORDER BY g.phone LIMIT ` + fmt.Sprint(d.limit) + `)
	ORDER BY a.phone, a.created_at, a.id`
	return d.rows(ctx, SamePhone, q, slices.Concat(argsA, argsG, argsP)...)
}

// similarPhone: the same name with phones that differ but end in the same
// 8 digits or, of the same length, differ in one digit. Pairs, each once.
func (d dupQuery) similarPhone(ctx context.Context) ([]*Candidate, error) {
	inA, argsA := d.in("a")
	inB, argsB := d.in("b")
	filter := ""
	var argsP []any
	if d.project != nil {
		filter = " AND (a.project_id = ? OR b.project_id = ?)"
		argsP = []any{string(*d.project), string(*d.project)}
	}
	// The digits that differ, position by position (E.164 is at most 16
	// characters): portable SQL, no function either database lacks.
	var diff []string
	for i := 1; i <= 16; i++ {
		diff = append(diff, fmt.Sprintf("CASE WHEN substr(a.phone, %d, 1) <> substr(b.phone, %d, 1) THEN 1 ELSE 0 END", i, i))
	}
	last8 := "substr(a.phone, length(a.phone) - 7) = substr(b.phone, length(b.phone) - 7)"
	oneApart := "length(a.phone) = length(b.phone) AND (" + strings.Join(diff, " + ") + ") = 1"
	q := `SELECT CASE WHEN ` + last8 + ` THEN 'L' ELSE 'D' END || a.id || b.id, a.id, b.id
	FROM customers a JOIN customers b ON b.name = a.name AND a.id < b.id AND a.phone <> b.phone
	WHERE ` + inA + ` AND ` + inB + filter + ` AND ((` + last8 + `) OR (` + oneApart + `))
	ORDER BY a.name, a.id, b.id LIMIT ` + fmt.Sprint(d.limit)
	rows, err := d.client.QueryContext(ctx, rebind(d.pg, q), slices.Concat(argsA, argsB, argsP)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Candidate
	for rows.Next() {
		var key, a, b string
		if err := rows.Scan(&key, &a, &b); err != nil {
			return nil, err
		}
		reason := SameNameOneDigitApart
		if key[0] == 'L' {
			reason = SameNameSameLast8
		}
		out = append(out, &Candidate{Reason: reason, ids: []pulid.ID{pulid.ID(a), pulid.ID(b)}})
	}
	return out, rows.Err()
}

// sameResidentID: the same resident ID in the notes.
func (d dupQuery) sameResidentID(ctx context.Context) ([]*Candidate, error) {
	inA, args := d.in("a")
	filter := ""
	if d.project != nil {
		filter = " AND r.rid IN (SELECT rid FROM ids WHERE project_id = ?)"
		args = append(args, string(*d.project))
	}
	if d.pg {
		q := `WITH ids AS (
		  SELECT a.id, a.project_id, a.created_at, upper((regexp_match(a.notes, '(^|[^0-9])([0-9]{17}[0-9Xx])($|[^0-9Xx])'))[2]) AS rid
		  FROM customers a WHERE ` + inA + ` AND a.notes ~ '[0-9]{17}[0-9Xx]')
		SELECT r.rid, r.id FROM ids r WHERE r.rid IN (SELECT rid FROM ids WHERE rid IS NOT NULL GROUP BY rid HAVING COUNT(*) > 1
		  ORDER BY rid LIMIT ` + fmt.Sprint(d.limit) + `)` + filter + `
		ORDER BY r.rid, r.created_at, r.id`
		return d.rows(ctx, SameResidentID, q, args...)
	}
	// SQLite has no regular expressions: GLOB finds the notes that hold 18
	// such characters in a row; Go takes the number out.
	glob := "*" + strings.Repeat("[0-9]", 17) + "[0-9Xx]*"
	q := `SELECT a.id, a.project_id, a.notes FROM customers a WHERE ` + inA + ` AND a.notes GLOB '` + glob + `' ORDER BY a.created_at, a.id`
	rows, err := d.client.QueryContext(ctx, q, args[:len(args)-btoi(d.project != nil)]...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	byID := map[string][]pulid.ID{}
	inProject := map[string]bool{}
	for rows.Next() {
		var id, project, notes string
		if err := rows.Scan(&id, &project, &notes); err != nil {
			return nil, err
		}
		m := residentID.FindStringSubmatch(notes)
		if m == nil {
			continue
		}
		rid := strings.ToUpper(m[1])
		byID[rid] = append(byID[rid], pulid.ID(id))
		if d.project != nil && project == string(*d.project) {
			inProject[rid] = true
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var rids []string
	for rid, ids := range byID {
		if len(ids) > 1 && (d.project == nil || inProject[rid]) {
			rids = append(rids, rid)
		}
	}
	slices.Sort(rids)
	var out []*Candidate
	for _, rid := range rids {
		out = append(out, &Candidate{Reason: SameResidentID, ids: byID[rid]})
	}
	return out, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// load reads the candidates' customers as the viewer reads them (phones
// masked), in one statement.
func (d dupQuery) load(ctx context.Context, cs []*Candidate) error {
	var ids []pulid.ID
	for _, c := range cs {
		ids = append(ids, c.ids...)
	}
	if len(ids) == 0 {
		return nil
	}
	rows, err := d.client.Customer.Query().Where(customer.IDIn(ids...)).All(ctx)
	if err != nil {
		return err
	}
	byID := make(map[pulid.ID]*ent.Customer, len(rows))
	for _, c := range rows {
		byID[c.ID] = c
	}
	for _, c := range cs {
		for _, id := range c.ids {
			if r, ok := byID[id]; ok {
				c.Customers = append(c.Customers, r)
			}
		}
	}
	return nil
}
