package main

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/lib/pq"
	"github.com/oklog/ulid/v2"
)

// What one step of -scale adds: 10,000 customers with about 10 visits
// each, and one project of 2,000 units (20 towers of 25 floors, 4 flats a
// floor) with a manager and 10 agents. -scale 100 is the data set:
// 1 M customers, 200 k units, 10 M visits.
const (
	scaleCustomers = 10_000
	scaleBuildings = 20
	scaleFloors    = 25
	scalePerFloor  = 4
	scaleUnits     = scaleBuildings * scaleFloors * scalePerFloor
	scaleAgents    = 10
	scaleMaxVisits = 22 // a customer has 0 (one in ten) or 1..scaleMaxVisits+1 contacts, fewer if registered lately: about 10 on average
	protectionDays = 30 // the schema's default, which the scale projects keep
)

// scaleStats says what addScale wrote and how long it took.
type scaleStats struct {
	rows    map[string]int64
	load    time.Duration // generating and copying the rows
	index   time.Duration // rebuilding the indexes and foreign keys (zero when they stayed in place)
	analyze time.Duration
	size    int64 // the database's size afterwards, in bytes
}

func (s *scaleStats) total() int64 {
	var n int64
	for _, r := range s.rows {
		n += r
	}
	return n
}

func (s *scaleStats) String() string {
	secs := s.load.Seconds()
	return fmt.Sprintf("scale data: %d customers, %d visits, %d units, %d deals, %d complaints, %d surveys (%d rows) copied in %.1f s (%.0f rows/s), indexes and foreign keys rebuilt in %.1f s, VACUUM (ANALYZE) %.1f s; total %.1f s; database %.0f MiB",
		s.rows["customers"], s.rows["visits"], s.rows["units"], s.rows["deals"], s.rows["complaints"], s.rows["surveys"], s.total(), secs, float64(s.total())/secs,
		s.index.Seconds(), s.analyze.Seconds(), (s.load + s.index + s.analyze).Seconds(), float64(s.size)/(1<<20))
}

// addScale adds scale × (10,000 customers, ~100,000 visits, one project of
// 2,000 units with its staff) to the seeded data, written with COPY from
// rows generated here (nothing goes row by row). The data is the same on
// every run of the same day: a fixed random seed, every time relative to
// today's midnight (UTC), so that protection and follow-ups stay current.
//
// The rows obey the model: ids are prefixed ULIDs of their creation time;
// phones are E.164 mainland mobiles, unique, with prefixes the demo seed
// never makes; a customer's stage, last contact, protection (last contact
// + 30 days) and next follow-up follow from their visits; a unit is
// RESERVED or CONTRACTED exactly when a deal of that stage for a customer
// of its project (in that stage too) says so, DELIVERED when its contracted
// deal's buyer became an OWNER, and no unit is held. The contracted and
// delivered units draw complaints and the desk's surveys
// (scale_aftersales.go).
// Customers are spread over the demo projects (owned by the demo agents,
// whom the benchmark's requests ask as) and the new ones (owned by their
// agents), registered evenly over the last two years: those last contacted
// more than 30 days ago (most, as in a CRM that has run that long) are in
// the public pool.
//
// With rebuild, the secondary indexes and foreign keys of customers, units
// and visits are dropped before the copy and recreated after it from the
// definitions PostgreSQL reports for them (pg_get_indexdef,
// pg_get_constraintdef), so they come back exactly as the migrations made
// them; building an index once is cheaper than maintaining it row by row.
func addScale(ctx context.Context, db *sql.DB, scale int, grid string, rebuild bool) (*scaleStats, error) {
	st := &scaleStats{rows: map[string]int64{}}
	if scale <= 0 {
		return st, nil
	}
	g, err := newGenerator(ctx, db, scale, grid)
	if err != nil {
		return nil, err
	}
	var restore []string
	if rebuild {
		if restore, err = dropForLoad(ctx, db, "customers", "units", "visits"); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	if err := g.load(ctx, db, st); err != nil {
		return nil, err
	}
	st.load = time.Since(start)
	start = time.Now()
	if err := recreate(ctx, db, restore); err != nil {
		return nil, err
	}
	st.index = time.Since(start)
	start = time.Now()
	// Fresh statistics, so that the planner knows the tables' new sizes,
	// and the visibility map set, as autovacuum does after that many
	// inserts (PostgreSQL 13 and later): without it no index-only scan
	// is one (each row's heap page is read to check it), which production
	// would not see but this machine, with autovacuum off, would.
	if _, err := db.ExecContext(ctx, `VACUUM (ANALYZE)`); err != nil {
		return nil, err
	}
	st.analyze = time.Since(start)
	err = db.QueryRowContext(ctx, `SELECT pg_database_size(current_database())`).Scan(&st.size)
	return st, err
}

// dropForLoad drops the secondary indexes (those backing no constraint)
// and the foreign keys of tables, and returns the statements that recreate
// them as they were.
func dropForLoad(ctx context.Context, db *sql.DB, tables ...string) ([]string, error) {
	var restore, drop []string
	rows, err := db.QueryContext(ctx, `
SELECT 'ALTER TABLE ' || conrelid::regclass || ' ADD CONSTRAINT ' || quote_ident(conname) || ' ' || pg_get_constraintdef(oid),
  'ALTER TABLE ' || conrelid::regclass || ' DROP CONSTRAINT ' || quote_ident(conname), 1
FROM pg_constraint WHERE contype = 'f' AND conrelid::regclass::text = ANY($1)
UNION ALL
SELECT pg_get_indexdef(i.indexrelid), 'DROP INDEX ' || i.indexrelid::regclass, 0
FROM pg_index i WHERE i.indrelid::regclass::text = ANY($1) AND NOT i.indisprimary
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
ORDER BY 3, 1`, pq.Array(tables))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var create, del string
		var kind int
		if err := rows.Scan(&create, &del, &kind); err != nil {
			return nil, err
		}
		restore, drop = append(restore, create), append(drop, del)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// Indexes (kind 0) are restored before the foreign keys that check
	// against them, and the keys are dropped first.
	for i := len(drop) - 1; i >= 0; i-- {
		if _, err := db.ExecContext(ctx, drop[i]); err != nil {
			return nil, fmt.Errorf("before the load: %w", err)
		}
	}
	return restore, nil
}

// recreate runs the statements of dropForLoad, with memory enough to sort
// an index of 10 M rows without spilling much (a setting of this session
// only).
func recreate(ctx context.Context, db *sql.DB, stmts []string) error {
	if len(stmts) == 0 {
		return nil
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SET maintenance_work_mem = '512MB'`); err != nil {
		return err
	}
	for _, s := range stmts {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("after the load: %s: %w", s, err)
		}
	}
	return nil
}

// staffProject is a project whose customers the generator spreads over its agents.
type staffProject struct {
	id      string
	agents  []string
	manager string // the new projects' manager (assigns complaints)
	scale   int    // index among the new projects, -1 for a seeded one
}

// generator makes the rows. It draws from one random source in a fixed
// order, so the rows are the same on every run.
type generator struct {
	r        *rand.Rand
	anchor   time.Time // today, 00:00 UTC: every time is relative to it
	scale    int
	hash     sql.NullString // the demo agents' password hash, for the new staff
	projects []*staffProject
	buyers   [][]buyer // by new project
	sales    []sale    // the contracted deals of the new projects (loadUnits), for loadAftersales
}

// buyer is a customer of a new project who reserved a unit.
type buyer struct {
	customer, agent, project string
	reserved                 time.Time
	contracted               *time.Time
	delivered                *time.Time // the unit handed over: the buyer is an OWNER
}

func newGenerator(ctx context.Context, db *sql.DB, scale int, grid string) (*generator, error) {
	g := &generator{r: rand.New(rand.NewPCG(2026, 10)), anchor: time.Now().UTC().Truncate(24 * time.Hour), scale: scale,
		buyers: make([][]buyer, scale)}
	rows, err := db.QueryContext(ctx, `SELECT up.project_id, u.id FROM users u JOIN user_projects up ON up.user_id = u.id
		WHERE u.role = 'AGENT' AND u.active AND up.project_id <> $1 ORDER BY up.project_id, u.id`, grid)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var p, a string
		if err := rows.Scan(&p, &a); err != nil {
			return nil, err
		}
		if n := len(g.projects); n == 0 || g.projects[n-1].id != p {
			g.projects = append(g.projects, &staffProject{id: p, scale: -1})
		}
		last := g.projects[len(g.projects)-1]
		last.agents = append(last.agents, a)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if err := db.QueryRowContext(ctx, `SELECT (SELECT password_hash FROM users WHERE role = 'AGENT' AND password_hash IS NOT NULL ORDER BY id LIMIT 1)`).Scan(&g.hash); err != nil {
		return nil, err
	}
	return g, nil
}

// id returns a prefixed ULID of time t.
func (g *generator) id(prefix string, t time.Time) string {
	var u ulid.ULID
	_ = u.SetTime(ulid.Timestamp(t))
	binary.BigEndian.PutUint64(u[6:14], g.r.Uint64())
	binary.BigEndian.PutUint16(u[14:], uint16(g.r.Uint32()))
	return prefix + u.String()
}

func (g *generator) between(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(g.r.Int64N(int64((hi-lo)/time.Second)+1))*time.Second
}

// copier streams the rows of one table with COPY, in a transaction of its own.
type copier struct {
	table string
	tx    *sql.Tx
	stmt  *sql.Stmt
	rows  int64
}

func newCopier(ctx context.Context, db *sql.DB, table string, cols ...string) (*copier, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	stmt, err := tx.PrepareContext(ctx, pq.CopyIn(table, cols...))
	if err != nil {
		_ = tx.Rollback()
		return nil, fmt.Errorf("copy %s: %w", table, err)
	}
	return &copier{table: table, tx: tx, stmt: stmt}, nil
}

func (c *copier) add(vals ...any) error {
	c.rows++
	if _, err := c.stmt.Exec(vals...); err != nil {
		return fmt.Errorf("copy %s: %w", c.table, err)
	}
	return nil
}

// finish ends the copy and commits it, adding the rows to st.
func (c *copier) finish(st *scaleStats) error {
	if _, err := c.stmt.Exec(); err != nil {
		_ = c.tx.Rollback()
		return fmt.Errorf("copy %s: %w", c.table, err)
	}
	if err := c.stmt.Close(); err != nil {
		_ = c.tx.Rollback()
		return err
	}
	st.rows[c.table] += c.rows
	return c.tx.Commit()
}

func (c *copier) abort() { _ = c.stmt.Close(); _ = c.tx.Rollback() }

var timeCols = []string{"id", "created_at", "updated_at"}

// load writes the staff and projects, then the customers and their visits
// (two COPY streams at once), then the units and their deals.
func (g *generator) load(ctx context.Context, db *sql.DB, st *scaleStats) error {
	if err := g.loadProjects(ctx, db, st); err != nil {
		return err
	}
	if err := g.loadCustomers(ctx, db, st); err != nil {
		return err
	}
	if err := g.loadUnits(ctx, db, st); err != nil {
		return err
	}
	return g.loadAftersales(ctx, db, st)
}

var cities = []struct{ city, district string }{
	{"杭州", "滨江区"}, {"杭州", "余杭区"}, {"上海", "浦东新区"}, {"南京", "建邺区"}, {"苏州", "工业园区"}, {"宁波", "鄞州区"},
}

// projectCreated is when new project k was set up: before any of its customers.
func (g *generator) projectCreated(k int) time.Time {
	return g.anchor.Add(-800*24*time.Hour + time.Duration(k)*time.Hour)
}

func (g *generator) loadProjects(ctx context.Context, db *sql.DB, st *scaleStats) error {
	projects, err := newCopier(ctx, db, "projects", append(timeCols, "name", "city", "district", "status", "published", "launch_date")...)
	if err != nil {
		return err
	}
	defer projects.abort()
	var users [][]any
	var staff [][2]string
	for k := range g.scale {
		t := g.projectCreated(k)
		c := cities[k%len(cities)]
		p := &staffProject{id: g.id("PJ", t), scale: k}
		// Three in four are published, so that the portal sees most of them.
		if err := projects.add(p.id, t, t, fmt.Sprintf("规模·%s%03d", c.city, k+1), c.city, c.district, "SELLING", k%4 != 3, t.Add(60*24*time.Hour)); err != nil {
			return err
		}
		m := g.id("US", t)
		users = append(users, []any{m, t, t, fmt.Sprintf("经理%03d", k+1), fmt.Sprintf("scale.manager%03d", k+1), g.hash, "MANAGER"})
		staff = append(staff, [2]string{m, p.id})
		p.manager = m
		for a := range scaleAgents {
			id := g.id("US", t)
			users = append(users, []any{id, t, t, fmt.Sprintf("顾问%03d-%02d", k+1, a+1), fmt.Sprintf("scale.agent%03d.%02d", k+1, a+1), g.hash, "AGENT"})
			staff = append(staff, [2]string{id, p.id})
			p.agents = append(p.agents, id)
		}
		g.projects = append(g.projects, p)
	}
	if err := projects.finish(st); err != nil {
		return err
	}
	uc, err := newCopier(ctx, db, "users", append(timeCols, "name", "login", "password_hash", "role")...)
	if err != nil {
		return err
	}
	defer uc.abort()
	for _, u := range users {
		if err := uc.add(u...); err != nil {
			return err
		}
	}
	if err := uc.finish(st); err != nil {
		return err
	}
	up, err := newCopier(ctx, db, "user_projects", "user_id", "project_id")
	if err != nil {
		return err
	}
	defer up.abort()
	for _, s := range staff {
		if err := up.add(s[0], s[1]); err != nil {
			return err
		}
	}
	if err := up.finish(st); err != nil {
		return err
	}
	bc, err := newCopier(ctx, db, "buildings", append(timeCols, "name", "floors", "units_per_floor", "project_id")...)
	if err != nil {
		return err
	}
	defer bc.abort()
	for _, p := range g.projects[len(g.projects)-g.scale:] {
		t := g.projectCreated(p.scale)
		for b := range scaleBuildings {
			if err := bc.add(g.buildingID(p.scale, b), t, t, fmt.Sprintf("%d幢", b+1), scaleFloors, scalePerFloor, p.id); err != nil {
				return err
			}
		}
	}
	return bc.finish(st)
}

// buildingID is the id of building b of new project k: the units refer to
// it long after it was written, so it is computed rather than kept.
func (g *generator) buildingID(k, b int) string {
	var u ulid.ULID
	_ = u.SetTime(ulid.Timestamp(g.projectCreated(k)))
	binary.BigEndian.PutUint64(u[6:14], uint64(k)<<16|uint64(b))
	return "BD" + u.String()
}

// Phones: prefixes of mainland mobiles that the demo seed never makes
// (seed/data.go), followed by an affine bijection of the customer's number
// modulo 10^8, so that every phone differs and the last four digits (the
// lookup at the door) are spread evenly.
var scalePrefixes = []string{"134", "145", "147", "149", "175", "184", "196", "197"}

func scalePhone(i int) string {
	n := (uint64(i)*7919 + 12345) % 100_000_000
	return "+86" + scalePrefixes[i%len(scalePrefixes)] + fmt.Sprintf("%08d", n)
}

var (
	surnames  = []string{"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "林", "罗", "高"}
	givenM    = []string{"伟", "强", "磊", "军", "洋", "勇", "杰", "涛", "明", "超", "浩", "鹏", "斌", "宇", "辉"}
	givenF    = []string{"芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "婷", "雪", "琳", "颖", "倩", "晶", "玲"}
	sources   = []string{"WALK_IN", "WALK_IN", "WALK_IN", "REFERRAL", "ONLINE_AD", "ONLINE_AD", "SOCIAL", "PORTAL", "EVENT", "HOTLINE", "OTHER"}
	laterKind = []string{"REVISIT", "REVISIT", "PHONE_CALL", "PHONE_CALL", "PHONE_CALL", "PHONE_CALL", "MESSAGE", "MESSAGE", "MESSAGE", "ONLINE", "HOME_VISIT"}
	notesBy   = map[string][]string{
		"FIRST_VISIT": {"首次到访，看了沙盘和样板间", "自然到访，关注学区", "朋友推荐来看房，预算偏紧"},
		"REVISIT":     {"复访，带家人看样板间", "复访，重点看楼层和朝向", "复访，谈付款方式"},
		"PHONE_CALL":  {"电话回访，还在比较", "电话沟通价格", "电话邀约周末到访", "首次电话沟通，留资客户"},
		"MESSAGE":     {"微信发送户型图", "微信推送优惠信息", "短信提醒开盘时间"},
		"ONLINE":      {"线上VR看房", "视频讲解户型"},
		"HOME_VISIT":  {"上门拜访，了解家庭需求"},
	}
	actions = []string{"电话回访", "邀约复访", "发送价格单", "确认贷款方案", "邀请参加暖场活动"}
)

// visitRow is one planned contact.
type visitRow struct {
	kind string
	at   time.Time
}

// loadCustomers writes the customers and their visits, each through its
// own COPY stream at the same time; the buyers among the customers of the
// new projects are kept for loadUnits.
func (g *generator) loadCustomers(ctx context.Context, db *sql.DB, st *scaleStats) error {
	cc, err := newCopier(ctx, db, "customers", append(timeCols, "name", "phone", "phone_last4", "gender", "source", "stage", "grade",
		"project_id", "owner_id", "attribution_rule", "owned_since", "protected_until", "last_contact_at", "next_follow_up_at",
		"next_follow_up_action", "contact_consent", "consent_at", "consent_channels", "budget_min", "budget_max", "wanted_bedrooms")...)
	if err != nil {
		return err
	}
	defer cc.abort()
	vc, err := newCopier(ctx, db, "visits", append(timeCols, "kind", "occurred_at", "duration_minutes", "touchpoints", "notes",
		"grade_after", "next_follow_up_at", "next_follow_up_action", "customer_id", "project_id", "agent_id")...)
	if err != nil {
		return err
	}
	defer vc.abort()
	n := g.scale * scaleCustomers
	const span = 720 * 24 * time.Hour
	step := span / time.Duration(n)
	var visits []visitRow
	for i := range n {
		if i%50_000 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		p := g.projects[i%len(g.projects)]
		agent := p.agents[(i/len(g.projects))%len(p.agents)]
		created := g.anchor.Add(-span + time.Duration(i)*step).Truncate(time.Second)
		source := sources[g.r.IntN(len(sources))]
		// The contacts: none for one lead in ten, else a first contact at
		// registration and then every 1 to 14 days, none after today.
		visits = visits[:0]
		if g.r.IntN(10) != 0 {
			count := 1 + g.r.IntN(scaleMaxVisits+1)
			at := created.Add(g.between(0, 2*time.Hour))
			first := "PHONE_CALL"
			if source == "WALK_IN" || source == "REFERRAL" || source == "EVENT" {
				first = "FIRST_VISIT"
			}
			for k := 0; k < count && at.Before(g.anchor); k++ {
				kind := first
				if k > 0 {
					kind = laterKind[g.r.IntN(len(laterKind))]
				}
				visits = append(visits, visitRow{kind, at})
				at = at.Add(g.between(24*time.Hour, 14*24*time.Hour))
			}
		}
		id := g.id("CU", created)
		lastContact := created
		var lastAt any
		inPerson := false
		for _, v := range visits {
			lastContact = v.at
			inPerson = inPerson || v.kind == "FIRST_VISIT" || v.kind == "REVISIT"
		}
		if len(visits) > 0 {
			lastAt = lastContact
		}
		protected := lastContact.Add(protectionDays * 24 * time.Hour)
		stage, grade := "LEAD", "C"
		switch {
		case inPerson && g.r.IntN(5) == 0:
			stage, grade = "NEGOTIATING", "A"
		case inPerson:
			stage, grade = "VISITED", "B"
		case len(visits) == 0 && g.r.IntN(3) == 0:
			grade = "D"
		}
		if stage == "VISITED" && protected.Before(g.anchor.Add(-180*24*time.Hour)) && g.r.IntN(2) == 0 {
			stage, grade = "LOST", "D"
		}
		// A buyer of a new project: a negotiating customer who reserved on
		// their last visit and signed a week later.
		if stage == "NEGOTIATING" && p.scale >= 0 && len(visits) >= 2 && len(g.buyers[p.scale]) < scaleUnits/5 && g.r.Float64() < 0.5 {
			b := buyer{customer: id, agent: agent, project: p.id, reserved: lastContact}
			stage = "RESERVED"
			if c := lastContact.Add(7 * 24 * time.Hour); c.Before(g.anchor) {
				b.contracted, stage = &c, "CONTRACTED"
				// Most units signed for more than a quarter ago have been
				// handed over (sales.DeliverUnit): the buyer is an OWNER.
				if d := c.Add(g.between(60*24*time.Hour, 150*24*time.Hour)); d.Before(g.anchor.Add(-24*time.Hour)) && g.r.IntN(10) < 7 {
					b.delivered, stage = &d, "OWNER"
				}
			}
			g.buyers[p.scale] = append(g.buyers[p.scale], b)
		}
		// A follow-up is planned while the customer is protected and still
		// being worked: some overdue, some today, most ahead.
		var next, action any
		if protected.After(g.anchor) && stage != "LOST" && stage != "CONTRACTED" && stage != "OWNER" {
			t := lastContact.Add(g.between(24*time.Hour, 10*24*time.Hour)).Truncate(time.Hour)
			next, action = t, actions[g.r.IntN(len(actions))]
		}
		gender, given := "MALE", givenM
		if g.r.IntN(2) == 0 {
			gender, given = "FEMALE", givenF
		}
		name := surnames[g.r.IntN(len(surnames))] + given[g.r.IntN(len(given))]
		if g.r.IntN(2) == 0 {
			name += given[g.r.IntN(len(given))]
		}
		var consentAt, channels any
		consent := g.r.IntN(5) != 0
		if consent {
			consentAt, channels = created, `["PHONE","WECHAT"]`
		}
		var bmin, bmax, beds any
		if g.r.IntN(5) < 3 {
			lo := int64(150+g.r.IntN(600)) * 1_000_000 // 万元 → fen: 1.5 to 7.5 million yuan
			bmin, bmax, beds = lo, lo+int64(50+g.r.IntN(150))*1_000_000, "["+strconv.Itoa(2+g.r.IntN(3))+"]"
		}
		phone := scalePhone(i)
		updated := created
		if len(visits) > 0 {
			updated = lastContact
		}
		if err := cc.add(id, created, updated, name, phone, phone[len(phone)-4:], gender, source, stage, grade,
			p.id, agent, "REGISTERED", created, protected, lastAt, next, action,
			consent, consentAt, channels, bmin, bmax, beds); err != nil {
			return err
		}
		for k, v := range visits {
			var minutes, touch, gradeAfter, vnext, vaction any
			switch v.kind {
			case "FIRST_VISIT", "REVISIT":
				minutes, touch = 30+g.r.IntN(90), `["RECEPTION","SAND_TABLE","SHOW_FLAT"]`
			case "PHONE_CALL", "ONLINE", "HOME_VISIT":
				minutes = 2 + g.r.IntN(40)
			}
			if k == len(visits)-1 {
				gradeAfter, vnext, vaction = grade, next, action
			}
			notes := notesBy[v.kind]
			if err := vc.add(g.id("VS", v.at), v.at, v.at, v.kind, v.at, minutes, touch, notes[g.r.IntN(len(notes))],
				gradeAfter, vnext, vaction, id, p.id, agent); err != nil {
				return err
			}
		}
	}
	if err := cc.finish(st); err != nil {
		return err
	}
	return vc.finish(st)
}

// loadUnits writes the units of the new projects and the deals of their
// buyers: buyer b of a project has every fifth unit from the first.
func (g *generator) loadUnits(ctx context.Context, db *sql.DB, st *scaleStats) error {
	uc, err := newCopier(ctx, db, "units", append(timeCols, "floor", "number", "bedrooms", "living_rooms", "bathrooms",
		"gross_area", "net_area", "orientation", "decoration", "list_price", "status", "published", "building_id", "project_id")...)
	if err != nil {
		return err
	}
	defer uc.abort()
	type deal struct {
		b     buyer
		unit  string
		price int64
	}
	var deals []deal
	orient := []string{"SOUTH", "SOUTH", "EAST", "WEST"}
	gross := []float64{89, 118, 128, 143}
	beds := []int{2, 3, 3, 4}
	for _, p := range g.projects[len(g.projects)-g.scale:] {
		t := g.projectCreated(p.scale)
		base := 15_000 + 1_000*(p.scale%30) // yuan per m², by project
		buyers := g.buyers[p.scale]
		j := 0
		for b := range scaleBuildings {
			for f := 1; f <= scaleFloors; f++ {
				for k := range scalePerFloor {
					price := int64(math.Round(float64(base+200*f+500*k)*gross[k]/100)) * 100 * 100 // whole hundreds of yuan, in fen
					status, updated := "AVAILABLE", t
					id := g.id("UN", t)
					if j%5 == 0 && j/5 < len(buyers) {
						by := buyers[j/5]
						status, updated = "RESERVED", by.reserved
						if by.contracted != nil {
							status, updated = "CONTRACTED", *by.contracted
						}
						if by.delivered != nil {
							status, updated = "DELIVERED", *by.delivered
						}
						deals = append(deals, deal{by, id, price})
					}
					decoration := "BARE"
					if b%3 == 2 {
						decoration = "FURNISHED"
					}
					if err := uc.add(id, t, updated, f, strconv.Itoa(f*100+k+1), beds[k], 2, 1+beds[k]/3,
						gross[k], math.Round(gross[k]*78)/100, orient[k], decoration, price, status, f <= scaleFloors-2,
						g.buildingID(p.scale, b), p.id); err != nil {
						return err
					}
					j++
				}
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	if err := uc.finish(st); err != nil {
		return err
	}
	dc, err := newCopier(ctx, db, "deals", append(timeCols, "stage", "price", "discount_bp", "payment_method", "deposit",
		"reserved_at", "contracted_at", "customer_id", "project_id", "unit_id", "agent_id")...)
	if err != nil {
		return err
	}
	defer dc.abort()
	payments := []string{"MORTGAGE", "MORTGAGE", "MORTGAGE", "PROVIDENT_FUND", "FULL", "INSTALMENTS"}
	for _, d := range deals {
		discount := 50 * g.r.IntN(7) // within the agents' cap of 3%
		stage, updated := "RESERVED", d.b.reserved
		var contracted any
		if d.b.contracted != nil {
			stage, updated, contracted = "CONTRACTED", *d.b.contracted, *d.b.contracted
		}
		id := g.id("DL", d.b.reserved)
		if d.b.contracted != nil {
			g.sales = append(g.sales, sale{deal: id, unit: d.unit, b: d.b})
		}
		if err := dc.add(id, d.b.reserved, updated, stage, d.price*int64(10_000-discount)/10_000, discount,
			payments[g.r.IntN(len(payments))], int64(50_000_00), d.b.reserved, contracted, d.b.customer, d.b.project, d.unit, d.b.agent); err != nil {
			return err
		}
	}
	return dc.finish(st)
}
