// Package seed fills an empty database with realistic demo data: two projects
// with their towers and ~600 units, staff and homeowner logins, ~2,000
// customers with their visits and follow-ups, deals in every stage and
// homeowners' complaints with their timelines.
//
// Everything is planned in memory first (so that a customer's stage, their
// deal, their unit's status and their visit history agree), then written in
// dependency order inside one transaction. Randomness has a fixed seed and
// every time is relative to the now passed in, so the demo is the same on
// every machine and looks fresh on any day.
package seed

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"estatecrm/aftersales"
	"estatecrm/auth"
	"estatecrm/catalogue"
	"estatecrm/clock"
	"estatecrm/ent"
	"estatecrm/ent/attributionevent"
	"estatecrm/ent/complaint"
	"estatecrm/ent/complaintevent"
	"estatecrm/ent/customer"
	"estatecrm/ent/deal"
	"estatecrm/ent/project"
	"estatecrm/ent/schema/schematype"
	"estatecrm/ent/unit"
	"estatecrm/ent/user"
	"estatecrm/ent/visit"
	"estatecrm/money"
	"estatecrm/rule"
)

// Login is a demo login printed at start-up.
type Login struct{ Role, Login, Password, Name, Note string }

// Result says what Run did.
type Result struct {
	Created bool
	Logins  []Login
}

// DemoPassword is the password of every demo login.
const DemoPassword = "demo-2026"

// DemoAPIKey is the key of the demo listing portal. Demo data only: a real
// key is made by the createAPIKey mutation and shown once.
const DemoAPIKey = "ek_d3a0d3a0d3a0d3a0_demo-portal-key-of-the-embedded-demo-only"

// ErrNotEmpty is returned when the database holds users or projects but not
// the demo admin: demo customers must never be mixed into real data.
var ErrNotEmpty = errors.New("seed: the database already holds data that is not the demo data; not seeding")

const (
	adminLogin = "admin"
	// The per-project rules, the schema defaults (SPEC §2).
	protectionDays = 30
	holdMinutes    = 30
	discountCapBp  = 300
	// batchSize keeps one INSERT well under SQLite's and PostgreSQL's limits
	// on bound parameters.
	batchSize = 200
	day       = 24 * time.Hour
)

// cst is the company's zone, Asia/Shanghai. It has had no daylight saving
// since 1991, so a fixed zone is exact and needs no tzdata on the host.
var cst = time.FixedZone("CST", 8*60*60)

// Run fills an empty database with demo data in one transaction, so a
// failure leaves the database as it was. When the demo data is already there
// (the "admin" login exists) it creates nothing and returns Created=false,
// still with the logins.
func Run(ctx context.Context, client *ent.Client, now time.Time) (*Result, error) {
	res := &Result{Logins: demoLogins()}
	tx, err := client.Tx(ctx)
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			_ = tx.Rollback()
		}
	}()
	c := tx.Client()
	seeded, err := alreadySeeded(ctx, c)
	if err != nil {
		return nil, err
	}
	if seeded {
		return res, nil
	}
	// One hash for every demo user: argon2id is deliberately slow.
	hash, err := auth.HashPassword(DemoPassword)
	if err != nil {
		return nil, fmt.Errorf("seed: hash the demo password: %w", err)
	}
	// Whole seconds: PostgreSQL keeps microseconds, SQLite nanoseconds; the
	// demo should read the same on both.
	// The transaction and its client in the context, as in a request: the
	// operations that open their own when called alone (submitComplaint)
	// join it, and what is audited on a read is written in it.
	s := &seeder{ctx: ent.NewContext(ent.NewTxContext(ctx, tx), c), c: c, now: now.UTC().Truncate(time.Second), hash: hash,
		r: rand.New(rand.NewPCG(2026, 11)), answers: rand.New(rand.NewPCG(2026, answerSeed)), phones: map[string]bool{}}
	if err := s.seed(); err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("seed: commit: %w", err)
	}
	committed = true
	res.Created = true
	return res, nil
}

// alreadySeeded reports whether the demo data is there, and refuses a
// database holding anything else.
func alreadySeeded(ctx context.Context, c *ent.Client) (bool, error) {
	admin, err := c.User.Query().Where(user.Login(adminLogin)).Exist(ctx)
	if err != nil || admin {
		return admin, err
	}
	users, err := c.User.Query().Exist(ctx)
	if err != nil {
		return false, err
	}
	projects, err := c.Project.Query().Exist(ctx)
	if err != nil {
		return false, err
	}
	if users || projects {
		return false, ErrNotEmpty
	}
	return false, nil
}

func managerLogin(p *projectSpec) string      { return "manager." + p.key }
func agentLogin(p *projectSpec, i int) string { return "agent." + p.key + strconv.Itoa(i+1) }
func ownerLogin(p *projectSpec, i int) string { return "owner." + p.key + strconv.Itoa(i+1) }
func demoLogin(role user.Role, login, name, note string) Login {
	return Login{Role: string(role), Login: login, Password: DemoPassword, Name: name, Note: note}
}

// demoLogins lists every demo login; it follows from the fixed specs alone,
// so it is the same whether or not this run created them.
func demoLogins() []Login {
	ls := []Login{demoLogin(user.RoleADMIN, adminLogin, adminName, "系统管理员：用户、项目、API Key")}
	for i := range projectSpecs {
		p := &projectSpecs[i]
		ls = append(ls, demoLogin(user.RoleMANAGER, managerLogin(p), p.manager.name, p.name+" 销售经理"))
		for j, a := range p.agents {
			ls = append(ls, demoLogin(user.RoleAGENT, agentLogin(p, j), a.name, p.name+" 置业顾问"))
		}
	}
	for i := range projectSpecs {
		p := &projectSpecs[i]
		for j, h := range p.homeowners {
			ls = append(ls, demoLogin(user.RoleOWNER, ownerLogin(p, j), h.name, p.name+" 业主（已交付，有投诉工单）"))
		}
	}
	return ls
}

// seeder carries one run.
type seeder struct {
	ctx        context.Context
	c          *ent.Client
	r          *rand.Rand
	answers    *rand.Rand // the app owners' and survey answers' own (survey.go)
	now        time.Time
	hash       string
	phones     map[string]bool
	complaints int // complaints planned so far, to cycle through every status, category and severity
}

// site is one project being seeded.
type site struct {
	spec       *projectSpec
	project    *ent.Project
	created    time.Time
	launch     time.Time
	delivery   time.Time
	manager    *ent.User
	agents     []*ent.User
	buildings  []*ent.Building
	units      []*unitPlan
	byBedrooms map[int][]*unitPlan
	customers  []*customerPlan
	deals      []*dealPlan
	homeowners []*homeowner
	// appOwners are the other buyers of delivered units who opened their
	// login (the app), to answer their surveys (answerSurveys).
	appOwners  []*homeowner
	complaints []*complaintPlan
	// priceChange is the manager's price adjustment (调价), if any.
	priceChange *priceChange
}

type unitPlan struct {
	building    *ent.Building
	floor, pos  int
	stack       stack
	net         float64
	decoration  unit.Decoration
	launchPrice money.Fen // the list price it was entered with
	price       money.Fen // the list price now (after priceChange)
	status      unit.Status
	listed      bool // published on launch day (the top floors are held back)
	published   bool
	changedAt   time.Time
	holdExpires time.Time
	heldBy      *ent.User
	heldFor     *customerPlan
	row         *ent.Unit
}

// number is the door number: 1802 is the second flat of the 18th floor.
func (u *unitPlan) number() string { return strconv.Itoa(u.floor*100 + u.pos) }

// label names a unit the way agents say it: 1栋1802.
func (u *unitPlan) label() string { return u.building.Name + u.number() }

type customerPlan struct {
	name                 string
	gender               customer.Gender
	phone                string
	age                  *customer.AgeBand
	family               *customer.FamilyStructure
	occupation           string
	source               customer.Source
	purpose              *customer.Purpose
	budgetMin, budgetMax *money.Fen
	bedrooms             []int
	areaMin, areaMax     *float64
	focus                []schematype.FocusFactor
	stage                customer.Stage
	grade                customer.Grade
	owner                *ent.User
	consent              bool
	channels             []schematype.ContactChannel
	tags                 []string
	notes                string
	createdAt            time.Time
	lastContact          time.Time
	protectedUntil       time.Time
	nextFollowUp         time.Time
	action               string
	deal                 *dealPlan
	held                 *unitPlan
	visits               []*visitPlan
	seq                  int // the customer's place in the plan of their project
	row                  *ent.Customer
}

type visitPlan struct {
	kind        visit.Kind
	at          time.Time
	minutes     *int
	touchpoints []schematype.Touchpoint
	notes       string
	grade       *visit.GradeAfter
	next        time.Time
	action      string
	units       []*unitPlan
}

type dealPlan struct {
	unit         *unitPlan
	customer     *customerPlan
	stage        deal.Stage
	discountBp   int
	price        money.Fen
	deposit      money.Fen
	payment      deal.PaymentMethod
	reservedAt   time.Time
	contractedAt time.Time
	cancelledAt  time.Time
	cancelReason string
	row          *ent.Deal
}

// homeowner is the buyer of a delivered unit who got a login.
type homeowner struct {
	customer *customerPlan
	unit     *unitPlan
	login    string
	// opensAfter is when after the handover they opened their login.
	opensAfter time.Duration
	user       *ent.User
}

// activatedAt is when the homeowner opened their login.
func (h *homeowner) activatedAt() time.Time { return h.unit.changedAt.Add(h.opensAfter) }

type complaintPlan struct {
	unit       *unitPlan
	customer   *customerPlan
	filer      *ent.User
	homeowner  *ent.User // nil when staff filed it for an owner without a login
	category   complaint.Category
	severity   complaint.Severity
	status     complaint.Status
	department complaint.Department
	assignee   *ent.User
	text       complaintText
	createdAt  time.Time
	ackAt      time.Time
	resolvedAt time.Time
	reopenedAt time.Time
	ratedAt    time.Time
	closedAt   time.Time
	rating     int
	comment    string
	events     []eventPlan
	row        *ent.Complaint
}

type eventPlan struct {
	kind     complaintevent.Kind
	actor    *ent.User
	from, to complaint.Status
	note     string
	internal bool
	at       time.Time
}

// seed plans and writes everything. The plan of each project uses the random
// source in a fixed order, so the demo is the same on every run.
func (s *seeder) seed() error {
	if err := s.createAdmin(); err != nil {
		return err
	}
	if err := s.createPortalKey(); err != nil {
		return err
	}
	for i := range projectSpecs {
		st, err := s.createSite(&projectSpecs[i])
		if err != nil {
			return err
		}
		s.planUnits(st)
		s.planSales(st)
		s.planAppOwners(st)
		s.planPriceChange(st)
		s.planPipeline(st)
		for _, c := range st.customers {
			s.planHistory(st, c)
		}
		steps := []func(*site) error{
			s.createUnits, s.createCustomers, s.createConsentHistories, s.createVisits, s.replay, s.fixTimes, s.createComplaints,
			s.answerSurveys,
		}
		for _, step := range steps {
			if err := step(st); err != nil {
				return fmt.Errorf("%s: %w", st.spec.name, err)
			}
		}
	}
	return nil
}

// --- random and time helpers ---

func (s *seeder) intn(lo, hi int) int           { return lo + s.r.IntN(hi-lo+1) }
func (s *seeder) chance(p float64) bool         { return s.r.Float64() < p }
func (s *seeder) ago(d time.Duration) time.Time { return s.now.Add(-d) }

func (s *seeder) between(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(s.r.Int64N(int64((hi-lo)/time.Second)+1))*time.Second
}

// frac returns a random share of d between lo and hi.
func (s *seeder) frac(d time.Duration, lo, hi float64) time.Duration {
	return time.Duration(float64(d) * (lo + (hi-lo)*s.r.Float64())).Round(time.Second)
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// pickSkewed favours the front of xs, for lists ordered by frequency.
func pickSkewed[T any](r *rand.Rand, xs []T) T {
	u := r.Float64()
	return xs[int(float64(len(xs))*u*u)]
}

func pickWeighted[T any](r *rand.Rand, ws []weighted[T]) T {
	total := 0
	for _, w := range ws {
		total += w.w
	}
	n := r.IntN(total)
	for _, w := range ws {
		if n < w.w {
			return w.v
		}
		n -= w.w
	}
	return ws[len(ws)-1].v
}

func ptr[T any](v T) *T { return &v }

// localDay returns midnight of t's day in the company's zone, as UTC.
func localDay(t time.Time) time.Time {
	l := t.In(cst)
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, cst).UTC()
}

// officeHours moves t into the sales office's opening hours (9:00–21:00 in
// the company's zone) on the same day: nobody logs a visit at 3 a.m.
func (s *seeder) officeHours(t time.Time) time.Time {
	l := t.In(cst)
	if h := l.Hour(); h >= 9 && h < 21 {
		return t
	}
	return time.Date(l.Year(), l.Month(), l.Day(), s.intn(9, 20), s.r.IntN(60), s.r.IntN(60), 0, cst).UTC()
}

// past keeps t before now, a day at a time so it stays in office hours.
func (s *seeder) past(t time.Time) time.Time {
	for !t.Before(s.now) {
		t = t.Add(-day)
	}
	return t
}

// spread returns n moments from from to to (which is kept as is and is the
// last), in office hours and in order.
func (s *seeder) spread(from, to time.Time, n int) []time.Time {
	ts := make([]time.Time, 0, n)
	for i := 0; i < n-1; i++ {
		t := from
		if i > 0 {
			t = from.Add(s.between(0, to.Sub(from)))
		}
		t = s.past(s.officeHours(t))
		if !t.Before(to) { // moved past the last contact by the office-hours rule
			t = to.Add(-s.between(30*time.Minute, 3*time.Hour))
		}
		ts = append(ts, t)
	}
	slices.SortFunc(ts, time.Time.Compare)
	return append(ts, to)
}

// --- users, projects, buildings ---

func (s *seeder) createAdmin() error {
	since := localDay(s.ago(900 * day)).Add(10 * time.Hour)
	_, err := s.c.User.Create().
		SetName(adminName).SetLogin(adminLogin).SetPasswordHash(s.hash).SetRole(user.RoleADMIN).
		SetCreatedAt(since).SetUpdatedAt(since).
		Save(s.ctx)
	return err
}

// createPortalKey writes the demo portal's API key.
func (s *seeder) createPortalKey() error {
	prefix, _ := auth.APIKeyPrefix(DemoAPIKey)
	return s.c.APIKey.Create().SetName("演示房产门户 (demo portal)").SetKeyPrefix(prefix).
		SetSecretHash(auth.HashAPIKey(DemoAPIKey)).SetRateLimitPerMinute(600).Exec(s.ctx)
}

// createSite writes a project, its staff and its buildings.
func (s *seeder) createSite(spec *projectSpec) (*site, error) {
	st := &site{
		spec:     spec,
		launch:   localDay(s.ago(time.Duration(spec.launchDaysAgo) * day)),
		delivery: localDay(s.ago(time.Duration(spec.deliveryDaysAgo) * day)),
	}
	st.created = st.launch.Add(-75 * day).Add(3 * time.Hour)
	// The project is entered as an admin would (catalogue.CreateProject),
	// on the day it was; then published, as the sales office did later.
	status, permit := project.StatusSELLING, fmt.Sprintf(spec.permitFmt, st.launch.In(cst).Year())
	protection, hold, capBp := protectionDays, holdMinutes, discountCapBp
	amenities := make([]*schematype.Amenity, len(spec.amenities))
	for i := range spec.amenities {
		amenities[i] = &spec.amenities[i]
	}
	p, err := catalogue.CreateProject(s.at(st.created), s.c, catalogue.NewProject{
		Name: spec.name, City: spec.city, District: &spec.district, Address: &spec.address,
		Latitude: &spec.lat, Longitude: &spec.lng, Status: &status, PresalePermit: &permit,
		LaunchDate: &st.launch, DeliveryDate: &st.delivery, Amenities: amenities,
		ProtectionDays: &protection, HoldMinutes: &hold, AgentDiscountCapBp: &capBp,
	})
	if err != nil {
		return nil, fmt.Errorf("project %s: %w", spec.name, err)
	}
	st.project = p
	if err := s.createStaff(st); err != nil {
		return nil, fmt.Errorf("staff of %s: %w", spec.name, err)
	}
	if err := s.createBuildings(st); err != nil {
		return nil, fmt.Errorf("buildings of %s: %w", spec.name, err)
	}
	return st, nil
}

func (s *seeder) staffUser(st *site, p person, login string, role user.Role) *ent.UserCreate {
	return s.c.User.Create().
		SetName(p.name).SetLogin(login).SetPasswordHash(s.hash).SetRole(role).
		AddProjectIDs(st.project.ID).
		SetCreatedAt(st.created).SetUpdatedAt(st.created)
}

func (s *seeder) createStaff(st *site) error {
	bs := []*ent.UserCreate{s.staffUser(st, st.spec.manager, managerLogin(st.spec), user.RoleMANAGER)}
	for i, a := range st.spec.agents {
		bs = append(bs, s.staffUser(st, a, agentLogin(st.spec, i), user.RoleAGENT))
	}
	rows, err := s.c.User.CreateBulk(bs...).Save(s.ctx)
	if err != nil {
		return err
	}
	st.manager, st.agents = rows[0], rows[1:]
	return nil
}

// createBuildings enters the project's towers through catalogue.CreateBuilding.
func (s *seeder) createBuildings(st *site) error {
	ctx := s.at(st.created)
	for _, b := range st.spec.buildings {
		perFloor := len(b.stacks)
		row, err := catalogue.CreateBuilding(ctx, s.c, catalogue.NewBuilding{
			ProjectID: st.project.ID, Name: b.name, Floors: b.floors, UnitsPerFloor: &perFloor,
		})
		if err != nil {
			return err
		}
		st.buildings = append(st.buildings, row)
	}
	return nil
}

// at is the seeder's context with its clock stopped at t: what the
// catalogue enters is dated then.
func (s *seeder) at(t time.Time) context.Context {
	return clock.NewContext(s.ctx, func() time.Time { return t })
}

// --- units ---

// planUnits lays out every flat of every tower, all on sale for now.
func (s *seeder) planUnits(st *site) {
	st.byBedrooms = map[int][]*unitPlan{}
	for bi, b := range st.spec.buildings {
		for floor := 1; floor <= b.floors; floor++ {
			for pos, k := range b.stacks {
				price := s.listPrice(st.spec, k, floor)
				u := &unitPlan{
					building: st.buildings[bi], floor: floor, pos: pos + 1, stack: k,
					// 套内 is about 78% of 建筑面积; the share differs a little by flat type.
					net:         math.Round(k.gross*(0.765+0.01*float64(pos%3))*100) / 100,
					decoration:  b.decoration,
					launchPrice: price, price: price,
					status:    unit.StatusAVAILABLE,
					changedAt: st.launch,
					// Developers hold back the top two floors (保留房) until late in the sale.
					listed:    floor <= b.floors-2,
					published: floor <= b.floors-2,
				}
				st.units = append(st.units, u)
				st.byBedrooms[k.bedrooms] = append(st.byBedrooms[k.bedrooms], u)
			}
		}
	}
}

// listPrice is the gross area times a price per m² that rises with the floor
// and with a better flat type, rounded to 100 yuan as price lists are.
func (s *seeder) listPrice(spec *projectSpec, k stack, floor int) money.Fen {
	perM2 := spec.yuanPerM2 * k.premium * (1 + spec.floorPremium*float64(floor-1)) * (0.995 + 0.01*s.r.Float64())
	return money.Yuan(int64(math.Round(perM2*k.gross/100)) * 100)
}

// --- sales: the units sold, reserved or held, and their buyers ---

// planSales picks the units that are sold, reserved, held or had a deal
// cancelled, and plans a buyer and a deal for each, so that unit status,
// deal stage and customer stage agree.
func (s *seeder) planSales(st *site) {
	spec := st.spec
	order := s.r.Perm(len(st.units))
	take := func(n int) []*unitPlan {
		us := make([]*unitPlan, n)
		for i := range us {
			us[i] = st.units[order[0]]
			order = order[1:]
		}
		return us
	}
	for i, u := range take(spec.delivered) {
		c := s.buyer(st, u, customer.StageOWNER, customer.GradeA)
		if i < len(spec.homeowners) {
			c.name, c.gender = spec.homeowners[i].name, spec.homeowners[i].gender
			st.homeowners = append(st.homeowners, &homeowner{customer: c, unit: u, login: ownerLogin(spec, i), opensAfter: 2 * time.Hour})
		}
		s.planDeal(st, c, u, unit.StatusDELIVERED, deal.StageCONTRACTED)
	}
	for _, u := range take(spec.contracted) {
		s.planDeal(st, s.buyer(st, u, customer.StageCONTRACTED, customer.GradeA), u, unit.StatusCONTRACTED, deal.StageCONTRACTED)
	}
	for _, u := range take(spec.reserved) {
		s.planDeal(st, s.buyer(st, u, customer.StageRESERVED, customer.GradeA), u, unit.StatusRESERVED, deal.StageRESERVED)
	}
	for i, u := range take(spec.held) {
		s.planHold(st, u, st.agents[i%len(st.agents)])
	}
	for i, u := range take(spec.cancelled) {
		// Most buyers who cancel are gone; one is choosing another flat
		// (VISITED: where CancelDeal puts a customer who came in person).
		stage, grade := customer.StageLOST, customer.GradeC
		if i == 0 {
			stage, grade = customer.StageVISITED, customer.GradeB
		}
		d := s.planDeal(st, s.buyer(st, u, stage, grade), u, unit.StatusAVAILABLE, deal.StageCANCELLED)
		if i == 0 {
			d.cancelReason = "想换更大的户型，退订后重新选房"
		}
	}
}

// buyer is a customer whose wishes and budget fit the unit they bought.
func (s *seeder) buyer(st *site, u *unitPlan, stage customer.Stage, grade customer.Grade) *customerPlan {
	c := s.newCustomer(st, stage, grade, "")
	c.bedrooms = []int{u.stack.bedrooms}
	if s.chance(0.4) && u.stack.bedrooms < 4 {
		c.bedrooms = append(c.bedrooms, u.stack.bedrooms+1)
	}
	c.areaMin = ptr(roundTo(u.stack.gross-15, 5))
	c.areaMax = ptr(roundTo(u.stack.gross+15, 5))
	s.setBudget(c, float64(u.price)/100)
	c.notes = s.customerNote(st, c)
	return c
}

// planDeal plans a deal on u for c and moves the unit to unitStatus, with
// dates that fit the project's history.
func (s *seeder) planDeal(st *site, c *customerPlan, u *unitPlan, unitStatus unit.Status, stage deal.Stage) *dealPlan {
	d := &dealPlan{
		unit: u, customer: c, stage: stage,
		discountBp: s.discount(),
		deposit:    money.Yuan(pick(s.r, st.spec.depositsYuan)),
		payment: pickWeighted(s.r, []weighted[deal.PaymentMethod]{
			{deal.PaymentMethodMORTGAGE, 63}, {deal.PaymentMethodPROVIDENT_FUND, 17},
			{deal.PaymentMethodFULL, 12}, {deal.PaymentMethodINSTALMENTS, 8},
		}),
	}
	d.price = dealPrice(u.price, d.discountBp)
	switch {
	case unitStatus == unit.StatusDELIVERED: // sold off plan, handed over at delivery
		window := st.delivery.Sub(st.launch) - 70*day
		d.contractedAt = s.officeHours(st.launch.Add(25*day + s.between(0, window)))
		d.reservedAt = s.officeHours(d.contractedAt.Add(-s.between(5*day, 20*day)))
		u.changedAt = s.past(s.officeHours(st.delivery.Add(s.between(0, 30*day))))
	case unitStatus == unit.StatusCONTRACTED: // signed recently, handover after the loan is paid out
		d.reservedAt = s.officeHours(s.ago(s.between(12*day, 85*day)))
		d.contractedAt = s.past(s.officeHours(d.reservedAt.Add(s.between(5*day, 10*day))))
		u.changedAt = d.contractedAt
	case unitStatus == unit.StatusRESERVED: // 认购 turns into a contract within a month or is cancelled
		d.reservedAt = s.past(s.officeHours(s.ago(s.between(day, 25*day))))
		u.changedAt = d.reservedAt
	default: // cancelled: the unit is back on sale
		d.reservedAt = s.officeHours(s.ago(s.between(20*day, 85*day)))
		d.cancelledAt = s.past(s.officeHours(d.reservedAt.Add(s.between(3*day, 15*day))))
		d.cancelReason = pick(s.r, cancelReasons)
		u.changedAt = d.cancelledAt
	}
	if stage != deal.StageCANCELLED {
		u.status, u.published = unitStatus, true
	}
	if d.payment == deal.PaymentMethodFULL {
		c.tags = appendNew(c.tags, "全款客户")
	}
	c.deal = d
	st.deals = append(st.deals, d)
	return d
}

// discount is mostly within the agent's cap; one deal in ten got a
// manager-approved discount above it, one in ten none.
func (s *seeder) discount() int {
	switch x := s.r.IntN(10); x {
	case 0:
		return 0
	case 9:
		return discountCapBp + 50*s.intn(1, 4)
	default:
		return 50 * s.intn(1, discountCapBp/50)
	}
}

// planHold puts a unit on hold for a customer negotiating right now: a hold
// lasts the project's hold minutes, so it started minutes ago.
func (s *seeder) planHold(st *site, u *unitPlan, agent *ent.User) {
	c := s.buyer(st, u, customer.StageNEGOTIATING, customer.GradeA)
	c.owner = agent
	start := s.ago(s.between(2*time.Minute, 25*time.Minute))
	u.status, u.published, u.changedAt = unit.StatusHELD, true, start
	u.holdExpires = start.Add(holdMinutes * time.Minute)
	u.heldBy, u.heldFor = agent, c
	c.held = u
}

// --- customers ---

// planPipeline adds the customers without a deal: fresh leads not yet
// assigned to an agent, then leads, visitors, negotiators and lost ones.
func (s *seeder) planPipeline(st *site) {
	for range 30 {
		src := pick(s.r, []customer.Source{customer.SourceONLINE_AD, customer.SourcePORTAL, customer.SourceHOTLINE, customer.SourceSOCIAL})
		c := s.newCustomer(st, customer.StageLEAD, customer.GradeC, src)
		c.owner = nil
	}
	for len(st.customers) < st.spec.customers {
		stage := pickWeighted(s.r, []weighted[customer.Stage]{
			{customer.StageLEAD, 18}, {customer.StageVISITED, 40}, {customer.StageNEGOTIATING, 15}, {customer.StageLOST, 27},
		})
		s.newCustomer(st, stage, s.gradeFor(stage), "")
	}
}

// gradeFor is the grade an agent typically gives a customer in a stage.
func (s *seeder) gradeFor(stage customer.Stage) customer.Grade {
	var ws []weighted[customer.Grade]
	switch stage {
	case customer.StageLEAD:
		ws = []weighted[customer.Grade]{{customer.GradeC, 60}, {customer.GradeB, 25}, {customer.GradeD, 15}}
	case customer.StageVISITED:
		ws = []weighted[customer.Grade]{{customer.GradeB, 40}, {customer.GradeC, 50}, {customer.GradeA, 5}, {customer.GradeD, 5}}
	case customer.StageNEGOTIATING:
		ws = []weighted[customer.Grade]{{customer.GradeA, 55}, {customer.GradeB, 45}}
	case customer.StageLOST:
		ws = []weighted[customer.Grade]{{customer.GradeD, 55}, {customer.GradeC, 45}}
	default:
		return customer.GradeA
	}
	return pickWeighted(s.r, ws)
}

// newCustomer makes a customer of the project owned by one of its agents.
// An empty source picks one.
func (s *seeder) newCustomer(st *site, stage customer.Stage, grade customer.Grade, source customer.Source) *customerPlan {
	c := &customerPlan{stage: stage, grade: grade, source: source, owner: pick(s.r, st.agents)}
	// Someone who never came to the office cannot have walked in.
	for c.source == "" || (c.source == customer.SourceWALK_IN && neverVisits(stage, grade)) {
		c.source = pickWeighted(s.r, sourceWeights)
	}
	// A lead from an ad often leaves little but a phone number.
	sparse := (stage == customer.StageLEAD && s.chance(0.35)) || (grade == customer.GradeD && s.chance(0.5))
	s.identity(c, sparse)
	if !sparse {
		s.profile(st, c)
	}
	s.consent(c)
	s.tag(c)
	c.notes = s.customerNote(st, c)
	c.seq = len(st.customers)
	st.customers = append(st.customers, c)
	return c
}

// neverVisits says whether customers of a stage and grade have only been
// called: leads, and invalid numbers given up on.
func neverVisits(stage customer.Stage, grade customer.Grade) bool {
	return stage == customer.StageLEAD || (stage == customer.StageLOST && grade == customer.GradeD)
}

// identity gives a name, gender and a phone no other customer has.
func (s *seeder) identity(c *customerPlan, sparse bool) {
	surname := pickSkewed(s.r, surnames)
	c.gender = customer.GenderMALE
	if s.chance(0.48) {
		c.gender = customer.GenderFEMALE
	}
	switch {
	case sparse && s.chance(0.4): // "王先生": all a caller gave
		c.name = surname + map[customer.Gender]string{customer.GenderMALE: "先生", customer.GenderFEMALE: "女士"}[c.gender]
	case c.gender == customer.GenderMALE:
		c.name = surname + pickSkewed(s.r, maleGiven)
	default:
		c.name = surname + pickSkewed(s.r, femaleGiven)
	}
	if sparse && s.chance(0.3) {
		c.gender = customer.GenderUNKNOWN
	}
	c.phone = s.phone()
}

// phone returns a new mainland mobile number, written the ways agents type
// them; the customer hook stores them as +86….
func (s *seeder) phone() string {
	for {
		d := pick(s.r, mobilePrefixes) + fmt.Sprintf("%08d", s.r.IntN(100_000_000))
		if s.phones[d] {
			continue
		}
		s.phones[d] = true
		switch s.r.IntN(10) {
		case 0:
			return "+86 " + d[:3] + "-" + d[3:7] + "-" + d[7:]
		case 1, 2:
			return d[:3] + " " + d[3:7] + " " + d[7:]
		default:
			return d
		}
	}
}

// profile fills in who the customer is and what they want, each answer
// following from the previous ones (a young single wants two bedrooms).
func (s *seeder) profile(st *site, c *customerPlan) {
	age := pickWeighted(s.r, ageWeights)
	c.age = &age
	fam := s.family(age)
	c.family = &fam
	c.purpose = ptr(s.purpose(age))
	c.occupation = pick(s.r, occupations)
	if age == customer.AgeBandFROM_55 && s.chance(0.5) {
		c.occupation = "退休"
	} else if c.occupation == "退休" {
		c.occupation = "企业职员"
	}
	c.bedrooms = s.wantedBedrooms(fam)
	lo, hi := areaRanges[c.bedrooms[0]], areaRanges[c.bedrooms[len(c.bedrooms)-1]]
	c.areaMin = ptr(roundTo(lo[0]+float64(s.intn(-1, 1))*5, 5))
	c.areaMax = ptr(roundTo(hi[1]+float64(s.intn(-2, 0))*5, 5))
	mid := (*c.areaMin + *c.areaMax) / 2
	// Buyers' budgets sit around what such a flat costs, some hopeful, some generous.
	s.setBudget(c, mid*st.spec.yuanPerM2*1.08*(0.8+0.4*s.r.Float64()))
	c.focus = s.focus(c)
}

// areaRanges are the gross areas (m²) buyers look for, by bedrooms.
var areaRanges = map[int][2]float64{2: {75, 95}, 3: {95, 135}, 4: {130, 180}}

func roundTo(x, step float64) float64 { return math.Round(x/step) * step }

// setBudget sets a budget range around yuan, in round 十万 as buyers say it.
func (s *seeder) setBudget(c *customerPlan, yuan float64) {
	const step = 100_000
	lo := money.Yuan(int64(math.Floor(yuan*0.88/step)) * step)
	hi := money.Yuan(int64(math.Ceil(yuan*1.1/step)) * step)
	c.budgetMin, c.budgetMax = &lo, &hi
}

func (s *seeder) family(age customer.AgeBand) customer.FamilyStructure {
	const (
		single   = customer.FamilyStructureSINGLE
		couple   = customer.FamilyStructureCOUPLE
		children = customer.FamilyStructureCOUPLE_WITH_CHILDREN
		three    = customer.FamilyStructureTHREE_GENERATIONS
		other    = customer.FamilyStructureOTHER
	)
	ws := map[customer.AgeBand][]weighted[customer.FamilyStructure]{
		customer.AgeBandUNDER_25:      {{single, 60}, {couple, 40}},
		customer.AgeBandFROM_25_TO_34: {{single, 25}, {couple, 35}, {children, 35}, {other, 5}},
		customer.AgeBandFROM_35_TO_44: {{couple, 10}, {children, 60}, {three, 28}, {other, 2}},
		customer.AgeBandFROM_45_TO_54: {{couple, 25}, {children, 45}, {three, 25}, {other, 5}},
		customer.AgeBandFROM_55:       {{couple, 50}, {three, 35}, {other, 15}},
	}[age]
	return pickWeighted(s.r, ws)
}

func (s *seeder) purpose(age customer.AgeBand) customer.Purpose {
	const (
		first   = customer.PurposeFIRST_HOME
		upgrade = customer.PurposeUPGRADE
		invest  = customer.PurposeINVESTMENT
		retire  = customer.PurposeVACATION
	)
	ws := map[customer.AgeBand][]weighted[customer.Purpose]{
		customer.AgeBandUNDER_25:      {{first, 80}, {upgrade, 15}, {invest, 5}},
		customer.AgeBandFROM_25_TO_34: {{first, 65}, {upgrade, 30}, {invest, 5}},
		customer.AgeBandFROM_35_TO_44: {{first, 20}, {upgrade, 65}, {invest, 15}},
		customer.AgeBandFROM_45_TO_54: {{first, 10}, {upgrade, 50}, {invest, 35}, {retire, 5}},
		customer.AgeBandFROM_55:       {{upgrade, 30}, {invest, 40}, {retire, 30}},
	}[age]
	return pickWeighted(s.r, ws)
}

func (s *seeder) wantedBedrooms(fam customer.FamilyStructure) []int {
	options := map[customer.FamilyStructure][][]int{
		customer.FamilyStructureSINGLE:               {{2}},
		customer.FamilyStructureCOUPLE:               {{2}, {2, 3}, {3}},
		customer.FamilyStructureCOUPLE_WITH_CHILDREN: {{3}, {3}, {3, 4}},
		customer.FamilyStructureTHREE_GENERATIONS:    {{4}, {3, 4}},
		customer.FamilyStructureOTHER:                {{3}, {2, 3}},
	}[fam]
	return slices.Clone(pick(s.r, options))
}

// focus picks one to three things the customer cares most about, weighted
// by who they are.
func (s *seeder) focus(c *customerPlan) []schematype.FocusFactor {
	w := map[schematype.FocusFactor]int{
		"SCHOOL": 2, "TRANSPORT": 4, "ENVIRONMENT": 3, "PRICE": 4, "PROPERTY_MANAGEMENT": 2,
		"LAYOUT": 3, "DEVELOPER_BRAND": 2, "COMMERCE": 2, "HOSPITAL": 1,
	}
	if f := *c.family; f == customer.FamilyStructureCOUPLE_WITH_CHILDREN || f == customer.FamilyStructureTHREE_GENERATIONS {
		w["SCHOOL"] += 8
	}
	switch *c.purpose {
	case customer.PurposeFIRST_HOME:
		w["PRICE"] += 4
		w["TRANSPORT"] += 2
	case customer.PurposeINVESTMENT:
		w["COMMERCE"] += 4
		w["TRANSPORT"] += 3
	case customer.PurposeUPGRADE:
		w["ENVIRONMENT"] += 3
		w["LAYOUT"] += 3
		w["PROPERTY_MANAGEMENT"] += 2
	}
	if *c.age == customer.AgeBandFROM_55 {
		w["HOSPITAL"] += 5
	}
	var ws []weighted[schematype.FocusFactor]
	for _, f := range schematype.FocusFactors { // in a fixed order: map order is random
		ws = append(ws, weighted[schematype.FocusFactor]{f, w[f]})
	}
	var out []schematype.FocusFactor
	for n := s.intn(1, 3); len(out) < n; {
		out = appendNew(out, pickWeighted(s.r, ws))
	}
	return out
}

// consent: leads left their number to be called back; some walk-ins agreed
// to nothing (PIPL), and their agent only meets them at the office.
func (s *seeder) consent(c *customerPlan) {
	walkIn := c.source == customer.SourceWALK_IN
	if walkIn && (c.stage == customer.StageVISITED || c.stage == customer.StageNEGOTIATING) && s.chance(0.3) {
		return
	}
	c.consent = true
	c.channels = []schematype.ContactChannel{"PHONE"}
	if s.chance(0.85) {
		c.channels = append(c.channels, "WECHAT")
	}
	if s.chance(0.5) {
		c.channels = append(c.channels, "SMS")
	}
	if s.chance(0.08) {
		c.channels = append(c.channels, "EMAIL")
	}
}

func (s *seeder) tag(c *customerPlan) {
	if c.source == customer.SourceREFERRAL {
		c.tags = append(c.tags, "老带新")
	}
	if slices.Contains(c.focus, "SCHOOL") {
		c.tags = append(c.tags, "学区需求")
	}
	if c.family != nil && *c.family == customer.FamilyStructureTHREE_GENERATIONS {
		c.tags = append(c.tags, "三代同堂")
	}
	if c.purpose != nil {
		switch *c.purpose {
		case customer.PurposeFIRST_HOME:
			c.tags = append(c.tags, "刚需")
		case customer.PurposeUPGRADE:
			c.tags = append(c.tags, "改善")
			if s.chance(0.5) {
				c.tags = append(c.tags, "需卖旧房")
			}
		case customer.PurposeINVESTMENT:
			c.tags = append(c.tags, "投资客")
		}
	}
	if c.purpose != nil && c.grade != customer.GradeD && s.chance(0.5) {
		c.tags = appendNew(c.tags, pick(s.r, customerTags))
	}
}

func appendNew[T comparable](xs []T, x T) []T {
	if slices.Contains(xs, x) {
		return xs
	}
	return append(xs, x)
}

func bedroomsText(bs []int) string {
	if len(bs) == 0 {
		return "房子"
	}
	if len(bs) == 1 {
		return strconv.Itoa(bs[0]) + "房"
	}
	return strconv.Itoa(bs[0]) + "-" + strconv.Itoa(bs[len(bs)-1]) + "房"
}

// customerNote is the agent's summary on the customer card.
func (s *seeder) customerNote(st *site, c *customerPlan) string {
	if c.purpose == nil {
		return pick(s.r, []string{"线上留资，信息待完善。", "来电咨询，只留了电话。", ""})
	}
	work := pick(s.r, st.spec.workplaces)
	if c.occupation == "退休" {
		work = "已退休"
	}
	housing := map[customer.Purpose]string{
		customer.PurposeFIRST_HOME: "目前租房，想买" + bedroomsText(c.bedrooms) + "自住",
		customer.PurposeUPGRADE:    "现住老小区的小两房，想换" + bedroomsText(c.bedrooms) + "改善",
		customer.PurposeINVESTMENT: "名下已有住房，看" + bedroomsText(c.bedrooms) + "做投资",
		customer.PurposeVACATION:   "想买" + bedroomsText(c.bedrooms) + "养老，离子女近一些",
	}[*c.purpose]
	return fmt.Sprintf("%s，%s，预算%s万左右。", work, housing, wan(*c.budgetMax))
}

// wan formats an amount in 万元, as Chinese buyers talk about prices.
func wan(f money.Fen) string {
	return strconv.FormatFloat(math.Round(float64(f)/10_000)/100, 'f', -1, 64)
}

// --- visit and follow-up history ---

// planHistory plans a customer's visits and follow-ups and derives their
// last contact, next follow-up and protection from them.
func (s *seeder) planHistory(st *site, c *customerPlan) {
	switch {
	case c.owner == nil: // a fresh lead waiting to be assigned: no contact yet
		c.createdAt = s.ago(s.between(time.Hour, 10*day))
		return
	case c.deal != nil:
		s.dealHistory(st, c)
	case c.held != nil:
		s.holdHistory(st, c)
	default:
		s.pipelineHistory(st, c)
	}
	s.finishHistory(st, c)
}

// pipelineHistory is the history of a customer without a deal, all within
// the last 90 days.
func (s *seeder) pipelineHistory(st *site, c *customerPlan) {
	var lastAgo time.Duration
	var n int
	switch c.stage {
	case customer.StageLEAD:
		lastAgo, n = s.between(0, 45*day), s.intn(1, 3)
	case customer.StageVISITED:
		lastAgo, n = s.between(0, 80*day), s.intn(1, 6)
	case customer.StageNEGOTIATING:
		lastAgo, n = s.between(0, 14*day), s.intn(4, 8)
	default: // lost
		lastAgo, n = s.between(10*day, 80*day), s.intn(2, 5)
		if c.grade == customer.GradeD { // an invalid number or a rival's spy: a call or two
			n = s.intn(1, 2)
		}
	}
	inPerson := !neverVisits(c.stage, c.grade)
	if !c.consent { // no calls or messages: only visits to the office
		n = min(n, 2)
	}
	last := s.past(s.officeHours(s.ago(lastAgo)))
	span := s.between(time.Duration(n-1)*day, min(40*day, 85*day-lastAgo))
	times := s.spread(last.Add(-span), last, n)
	kinds := s.kinds(c, n, inPerson)
	for i, t := range times {
		c.visits = append(c.visits, s.visit(st, c, kinds[i], t))
	}
}

// kinds are the kinds of n contacts in order: the first visit to the office
// comes first (later ones are revisits); a lead has only been called.
func (s *seeder) kinds(c *customerPlan, n int, inPerson bool) []visit.Kind {
	ks := make([]visit.Kind, n)
	var palette []weighted[visit.Kind]
	switch {
	case !inPerson && c.grade == customer.GradeD:
		palette = []weighted[visit.Kind]{{visit.KindPHONE_CALL, 1}}
	case !inPerson:
		palette = []weighted[visit.Kind]{{visit.KindPHONE_CALL, 55}, {visit.KindMESSAGE, 30}, {visit.KindONLINE, 15}}
	case !c.consent:
		palette = []weighted[visit.Kind]{{visit.KindREVISIT, 1}}
	case c.stage == customer.StageVISITED:
		palette = []weighted[visit.Kind]{{visit.KindPHONE_CALL, 40}, {visit.KindMESSAGE, 30}, {visit.KindREVISIT, 15}, {visit.KindONLINE, 10}, {visit.KindHOME_VISIT, 5}}
	case c.stage == customer.StageLOST:
		palette = []weighted[visit.Kind]{{visit.KindPHONE_CALL, 50}, {visit.KindMESSAGE, 30}, {visit.KindREVISIT, 20}}
	default:
		palette = []weighted[visit.Kind]{{visit.KindREVISIT, 35}, {visit.KindPHONE_CALL, 30}, {visit.KindMESSAGE, 20}, {visit.KindHOME_VISIT, 8}, {visit.KindONLINE, 7}}
	}
	for i := range ks {
		ks[i] = pickWeighted(s.r, palette)
	}
	if inPerson {
		ks[0] = visit.KindFIRST_VISIT
	}
	return ks
}

// dealHistory is the history of a buyer: visits up to the reservation (认购)
// in the negotiation area, the signing, a cancellation call or the handover
// call. For units delivered months ago it starts before the last 90 days.
func (s *seeder) dealHistory(st *site, c *customerPlan) {
	d := c.deal
	u := d.unit
	n := s.intn(3, 6)
	times := s.spread(d.reservedAt.Add(-s.between(7*day, 45*day)), d.reservedAt, n)
	kinds := s.kinds(c, n, true)
	for i, t := range times[:n-1] {
		c.visits = append(c.visits, s.visit(st, c, kinds[i], t))
	}
	c.visits = append(c.visits, s.milestone(st, c, d.reservedAt, fmt.Sprintf(
		"在洽谈区签署认购书，认购%s，成交价%s万元（%s），定金%s万元已付。",
		u.label(), wan(d.price), discountText(d.discountBp), wan(d.deposit)), u, 2))
	if !d.contractedAt.IsZero() {
		c.visits = append(c.visits, s.milestone(st, c, d.contractedAt, fmt.Sprintf(
			"签署《商品房买卖合同》，%s，已办理网签备案。", paymentText[d.payment]), u, 0))
	}
	switch {
	case !d.cancelledAt.IsZero():
		c.visits = append(c.visits, s.call(d.cancelledAt, "客户来电要求退订："+d.cancelReason+"。已报经理审批，定金按认购书约定处理。"))
	case u.status == unit.StatusRESERVED && s.chance(0.6):
		if t := s.past(s.officeHours(d.reservedAt.Add(s.between(day, 3*day)))); t.After(d.reservedAt) {
			c.visits = append(c.visits, s.call(t, "提醒客户签约需带身份证、户口本、婚姻证明和首付款凭证。"))
		}
	case u.status == unit.StatusDELIVERED && (s.chance(0.6) || s.isHomeowner(st, c)):
		t := s.past(s.officeHours(u.changedAt.Add(s.between(2*day, 20*day))))
		c.visits = append(c.visits, s.call(t, "交付回访：业主已收房，对"+pick(s.r, []string{"园林", "精装质量", "物业服务", "户型实际效果"})+"比较满意，提醒办理产权证。"))
	}
}

func (s *seeder) isHomeowner(st *site, c *customerPlan) bool {
	return slices.ContainsFunc(st.homeowners, func(h *homeowner) bool { return h.customer == c })
}

var paymentText = map[deal.PaymentMethod]string{
	deal.PaymentMethodFULL:           "全款付清",
	deal.PaymentMethodMORTGAGE:       "首付三成，其余商业贷款",
	deal.PaymentMethodPROVIDENT_FUND: "首付三成，公积金贷款",
	deal.PaymentMethodINSTALMENTS:    "首付分期，三个月内付清",
}

func discountText(bp int) string {
	if bp == 0 {
		return "无折扣"
	}
	return "优惠" + strconv.FormatFloat(float64(bp)/100, 'f', -1, 64) + "%"
}

// holdHistory ends with the revisit going on now, in which the agent held
// the unit for the customer.
func (s *seeder) holdHistory(st *site, c *customerPlan) {
	u := c.held
	last := u.changedAt.Add(-s.between(5*time.Minute, 25*time.Minute))
	n := s.intn(3, 6)
	times := s.spread(last.Add(-s.between(5*day, 40*day)), last, n)
	kinds := s.kinds(c, n, true)
	for i, t := range times[:n-1] {
		c.visits = append(c.visits, s.visit(st, c, kinds[i], t))
	}
	c.visits = append(c.visits, s.milestone(st, c, last, fmt.Sprintf(
		"复访看中%s，已为客户锁定房源%d分钟，等家人视频确认后认购。", u.label(), holdMinutes), u, 2))
}

// visit plans one contact of a kind; its note comes once the grade is known.
func (s *seeder) visit(st *site, c *customerPlan, kind visit.Kind, at time.Time) *visitPlan {
	v := &visitPlan{kind: kind, at: at}
	switch kind {
	case visit.KindFIRST_VISIT:
		v.minutes = ptr(s.intn(40, 120))
		v.touchpoints = s.some([]schematype.Touchpoint{"RECEPTION", "SAND_TABLE"},
			maybe{0.9, "SHOW_FLAT"}, maybe{0.3, "VIDEO_ROOM"}, maybe{0.2, "CONSTRUCTION_SITE"}, maybe{0.5, "NEGOTIATION_AREA"})
		v.units = s.showUnits(st, c, s.intn(1, 3))
	case visit.KindREVISIT:
		v.minutes = ptr(s.intn(30, 150))
		v.touchpoints = s.some(nil,
			maybe{0.2, "SAND_TABLE"}, maybe{0.5, "SHOW_FLAT"}, maybe{0.3, "CONSTRUCTION_SITE"}, maybe{0.9, "NEGOTIATION_AREA"})
		v.units = s.showUnits(st, c, s.intn(1, 3))
	case visit.KindONLINE:
		v.minutes = ptr(s.intn(15, 45))
		v.touchpoints = []schematype.Touchpoint{"ONLINE_VR"}
		v.units = s.showUnits(st, c, s.intn(1, 2))
	case visit.KindHOME_VISIT:
		v.minutes = ptr(s.intn(30, 75))
	case visit.KindPHONE_CALL:
		v.minutes = ptr(s.intn(2, 15))
	}
	return v
}

// maybe is a touchpoint a visitor is shown with probability p.
type maybe struct {
	p  float64
	tp schematype.Touchpoint
}

// some appends each optional touchpoint with its probability.
func (s *seeder) some(tps []schematype.Touchpoint, opts ...maybe) []schematype.Touchpoint {
	for _, o := range opts {
		if s.chance(o.p) {
			tps = append(tps, o.tp)
		}
	}
	return tps
}

// milestone is the in-person visit of a reservation, a signing or a hold:
// the unit, and maybe a few others compared with it.
func (s *seeder) milestone(st *site, c *customerPlan, at time.Time, note string, u *unitPlan, compared int) *visitPlan {
	v := s.visit(st, c, visit.KindREVISIT, at)
	v.minutes = ptr(s.intn(60, 180))
	v.touchpoints = []schematype.Touchpoint{"SHOW_FLAT", "NEGOTIATION_AREA"}
	others := slices.DeleteFunc(v.units, func(x *unitPlan) bool { return x == u })
	v.units = append([]*unitPlan{u}, others[:min(len(others), compared)]...)
	v.grade = ptr(visit.GradeAfterA) // ready to buy, whatever happened later
	v.notes = note
	return v
}

func (s *seeder) call(at time.Time, note string) *visitPlan {
	return &visitPlan{kind: visit.KindPHONE_CALL, at: at, minutes: ptr(s.intn(3, 12)), notes: note}
}

// showUnits picks units of the layouts the customer wants.
func (s *seeder) showUnits(st *site, c *customerPlan, n int) []*unitPlan {
	var pool []*unitPlan
	for _, b := range c.bedrooms {
		pool = append(pool, st.byBedrooms[b]...)
	}
	if len(pool) == 0 {
		pool = st.units
	}
	var out []*unitPlan
	for len(out) < n {
		out = appendNew(out, pick(s.r, pool))
	}
	return out
}

// finishHistory orders the contacts, grades them, chains their follow-ups
// and derives the customer's dates from them.
func (s *seeder) finishHistory(st *site, c *customerPlan) {
	slices.SortStableFunc(c.visits, func(a, b *visitPlan) int { return a.at.Compare(b.at) })
	first, last := c.visits[0], c.visits[len(c.visits)-1]
	c.createdAt = first.at
	if first.kind != visit.KindFIRST_VISIT || !slices.Contains([]customer.Source{customer.SourceWALK_IN, customer.SourceREFERRAL, customer.SourceEVENT}, c.source) {
		// Registered as a lead before the first contact; walk-ins are registered at the door.
		c.createdAt = first.at.Add(-s.between(time.Hour, 5*day))
	}
	c.lastContact = last.at
	// Rule 1: every contact extends the owning agent's protection.
	c.protectedUntil = c.lastContact.Add(protectionDays * day)
	c.nextFollowUp, c.action = s.nextFollowUp(c)
	// A buyer was an A before the deal, even one who cancelled it since.
	before := c.grade
	if c.deal != nil {
		before = customer.GradeA
	}
	for i, v := range c.visits {
		if i == len(c.visits)-1 {
			v.grade = ptr(visit.GradeAfter(c.grade))
			v.next, v.action = c.nextFollowUp, c.action
		} else {
			if v.grade == nil && v.kind != visit.KindMESSAGE { // a message does not change the agent's view
				v.grade = ptr(visit.GradeAfter(s.earlierGrade(before)))
			}
			v.next, v.action = c.visits[i+1].at, nextActions[c.visits[i+1].kind]
		}
		if v.notes == "" {
			v.notes = s.visitNote(st, c, v)
		}
	}
	if c.stage == customer.StageLOST && c.deal == nil {
		last.notes = s.lostNote(st, c, last)
	}
}

var nextActions = map[visit.Kind]string{
	visit.KindFIRST_VISIT: "电话邀约到访",
	visit.KindREVISIT:     "邀约复访",
	visit.KindPHONE_CALL:  "电话回访",
	visit.KindMESSAGE:     "微信发送资料",
	visit.KindHOME_VISIT:  "上门拜访",
	visit.KindONLINE:      "线上视频讲解",
}

// earlierGrade is a grade a customer had before: the same or one worse.
func (s *seeder) earlierGrade(g customer.Grade) customer.Grade {
	if s.chance(0.6) {
		return g
	}
	switch g {
	case customer.GradeA:
		return customer.GradeB
	default:
		return customer.GradeC
	}
}

// nextFollowUp spreads follow-ups over the past week (overdue) and the
// coming week, never before the last contact.
func (s *seeder) nextFollowUp(c *customerPlan) (time.Time, string) {
	actions, ok := followUpActions[c.stage]
	if !ok || (c.stage == customer.StageOWNER && s.chance(0.7)) {
		return time.Time{}, ""
	}
	t := s.officeHours(s.now.Add(s.between(-7*day, 7*day))).Truncate(time.Minute)
	if !t.After(c.lastContact) {
		t = s.officeHours(c.lastContact.Add(s.between(day, 3*day))).Truncate(time.Minute)
	}
	return t, pick(s.r, actions)
}

func (s *seeder) visitNote(st *site, c *customerPlan, v *visitPlan) string {
	g := c.grade
	if v.grade != nil {
		g = customer.Grade(*v.grade)
	}
	plan := pick(s.r, plansByGrade[g])
	shown := unitsText(v.units)
	switch v.kind {
	case visit.KindFIRST_VISIT:
		party := "和朋友一起来"
		if c.family != nil {
			party = parties[*c.family]
		}
		concern := "整体印象不错"
		if len(c.focus) > 0 {
			concern = concerns[c.focus[0]]
		}
		return fmt.Sprintf("%s，%s。主要看%s，看了%s，%s。%s。", arrivals[c.source], party, bedroomsText(c.bedrooms), shown, concern, plan)
	case visit.KindREVISIT:
		return fmt.Sprintf("复访，%s再看了%s，%s。%s。", pick(s.r, revisitParties), shown, pick(s.r, revisitTopics), plan)
	case visit.KindPHONE_CALL:
		return "电话回访，" + pick(s.r, callReplies) + "。"
	case visit.KindMESSAGE:
		return "微信发送了" + pick(s.r, messageContents) + "，" + pick(s.r, messageReplies) + "。"
	case visit.KindHOME_VISIT:
		return "上门拜访，送了项目资料和伴手礼，和客户详细聊了购房计划。" + plan + "。"
	default:
		return "视频连线讲解户型和小区规划，VR带看了" + shown + "。" + plan + "。"
	}
}

func unitsText(us []*unitPlan) string {
	if len(us) == 0 {
		return "沙盘和样板间"
	}
	labels := make([]string, len(us))
	for i, u := range us {
		labels[i] = u.label()
	}
	return strings.Join(labels, "、")
}

// lostNote says why the agent gave up, on the last contact.
func (s *seeder) lostNote(st *site, c *customerPlan, v *visitPlan) string {
	prefix := "电话回访，"
	if v.kind != visit.KindPHONE_CALL {
		prefix = ""
	}
	if c.grade == customer.GradeD {
		return prefix + pick(s.r, lostReasonsD) + "。"
	}
	reason := pick(s.r, lostReasonsC)
	if strings.Contains(reason, "%s") {
		reason = fmt.Sprintf(reason, pick(s.r, st.spec.competitors))
	}
	return prefix + reason + "。"
}

// --- writing ---

// inBatches calls fn on successive slices of at most batchSize items.
func inBatches[T any](items []T, fn func([]T) error) error {
	for len(items) > 0 {
		n := min(batchSize, len(items))
		if err := fn(items[:n]); err != nil {
			return err
		}
		items = items[n:]
	}
	return nil
}

// createCustomers writes the customers not replayed (see replay.go), in
// bulk, each with the first line of its attribution history.
func (s *seeder) createCustomers(st *site) error {
	// In order of registration, so that IDs (ULIDs) sort like created_at.
	slices.SortStableFunc(st.customers, func(a, b *customerPlan) int { return a.createdAt.Compare(b.createdAt) })
	var bulk []*customerPlan
	for _, c := range st.customers {
		if !replayed(c) {
			bulk = append(bulk, c)
		}
	}
	return inBatches(bulk, func(cs []*customerPlan) error {
		bs := make([]*ent.CustomerCreate, len(cs))
		for i, c := range cs {
			bs[i] = s.customerCreate(st, c)
		}
		rows, err := s.c.Customer.CreateBulk(bs...).Save(s.ctx)
		if err != nil {
			return fmt.Errorf("customers: %w", err)
		}
		var history []*ent.AttributionEventCreate
		for i, c := range cs {
			c.row = rows[i]
			if c.owner != nil {
				history = append(history, s.registeredEvent(st, c))
			}
		}
		if err := s.c.AttributionEvent.CreateBulk(history...).Exec(s.ctx); err != nil {
			return fmt.Errorf("attribution history: %w", err)
		}
		return nil
	})
}

// registeredEvent is the first line of an owned customer's attribution
// history: their agent registered them when they were created (owned_since),
// protected for the project's protection days from then.
func (s *seeder) registeredEvent(st *site, c *customerPlan) *ent.AttributionEventCreate {
	days := 30
	if st.project.ProtectionDays != nil {
		days = *st.project.ProtectionDays
	}
	return s.c.AttributionEvent.Create().
		SetCustomerID(c.row.ID).SetProjectID(st.project.ID).SetKind(attributionevent.KindREGISTERED).
		SetToID(c.owner.ID).SetActorID(c.owner.ID).SetAt(c.createdAt).
		SetProtectedUntil(c.createdAt.Add(time.Duration(days) * 24 * time.Hour))
}

func (s *seeder) customerCreate(st *site, c *customerPlan) *ent.CustomerCreate {
	b := s.c.Customer.Create().
		SetProjectID(st.project.ID).
		SetName(c.name).SetPhone(c.phone).SetGender(c.gender).
		SetNillableAgeBand(c.age).SetOccupation(c.occupation).SetNillableFamilyStructure(c.family).
		SetSource(c.source).SetNillablePurpose(c.purpose).
		SetNillableBudgetMin(c.budgetMin).SetNillableBudgetMax(c.budgetMax).
		SetNillableWantedAreaMin(c.areaMin).SetNillableWantedAreaMax(c.areaMax).
		SetStage(c.stage).SetGrade(c.grade).
		SetContactConsent(c.consent).
		SetNotes(c.notes).
		SetCreatedAt(c.createdAt).SetUpdatedAt(latest(c.createdAt, c.lastContact))
	if len(c.bedrooms) > 0 {
		b.SetWantedBedrooms(c.bedrooms)
	}
	if len(c.focus) > 0 {
		b.SetFocusFactors(c.focus)
	}
	if len(c.tags) > 0 {
		b.SetTags(c.tags)
	}
	if c.consent {
		b.SetConsentAt(c.createdAt).SetConsentChannels(c.channels)
	}
	if c.owner != nil {
		b.SetOwnerID(c.owner.ID).SetOwnedSince(c.createdAt).SetAttributionRule(customer.AttributionRuleREGISTERED)
	}
	if !c.lastContact.IsZero() {
		b.SetLastContactAt(c.lastContact).SetProtectedUntil(c.protectedUntil)
	}
	if !c.nextFollowUp.IsZero() {
		b.SetNextFollowUpAt(c.nextFollowUp).SetNextFollowUpAction(c.action)
	}
	return b
}

func latest(ts ...time.Time) time.Time {
	var l time.Time
	for _, t := range ts {
		if t.After(l) {
			l = t
		}
	}
	return l
}

// createUnits enters every unit as the sales-control sheet had it on the
// day the project was set up (catalogue.AddUnits: available, unpublished,
// at its launch list price); replay then publishes, reprices, holds and
// sells them.
func (s *seeder) createUnits(st *site) error {
	in := make([]catalogue.NewUnit, len(st.units))
	for i, u := range st.units {
		in[i] = catalogue.NewUnit{
			BuildingID: u.building.ID, Floor: u.floor, Number: u.number(),
			Bedrooms: u.stack.bedrooms, LivingRooms: u.stack.living, Bathrooms: u.stack.bathrooms,
			GrossArea: u.stack.gross, NetArea: u.net,
			Orientation: u.stack.orientation, Decoration: u.decoration, ListPrice: u.launchPrice,
		}
	}
	rows, err := catalogue.AddUnits(rule.WithBuildingsRead(s.at(st.created), st.buildings...), s.c, st.project.ID, in)
	if err != nil {
		return fmt.Errorf("units: %w", err)
	}
	for i, u := range st.units {
		u.row = rows[i]
	}
	return nil
}

// createVisits writes the visits of the customers not replayed, in bulk.
func (s *seeder) createVisits(st *site) error {
	type owned struct {
		c *customerPlan
		v *visitPlan
	}
	var all []owned
	for _, c := range st.customers {
		if replayed(c) {
			continue
		}
		for _, v := range c.visits {
			all = append(all, owned{c, v})
		}
	}
	slices.SortStableFunc(all, func(a, b owned) int { return a.v.at.Compare(b.v.at) })
	return inBatches(all, func(vs []owned) error {
		bs := make([]*ent.VisitCreate, len(vs))
		for i, o := range vs {
			c, v := o.c, o.v
			b := s.c.Visit.Create().
				SetCustomerID(c.row.ID).SetAgentID(c.owner.ID).SetProjectID(st.project.ID).
				SetKind(v.kind).SetOccurredAt(v.at).SetNillableDurationMinutes(v.minutes).
				SetNotes(v.notes).SetNillableGradeAfter(v.grade).
				SetCreatedAt(v.at).SetUpdatedAt(v.at)
			if len(v.touchpoints) > 0 {
				b.SetTouchpoints(v.touchpoints)
			}
			if !v.next.IsZero() {
				b.SetNextFollowUpAt(v.next).SetNextFollowUpAction(v.action)
			}
			for _, u := range v.units {
				b.AddUnitsShownIDs(u.row.ID)
			}
			bs[i] = b
		}
		if _, err := s.c.Visit.CreateBulk(bs...).Save(s.ctx); err != nil {
			return fmt.Errorf("visits: %w", err)
		}
		return nil
	})
}

// --- complaints ---

var (
	complaintStatuses = []complaint.Status{
		complaint.StatusSUBMITTED, complaint.StatusACKNOWLEDGED, complaint.StatusIN_PROGRESS,
		complaint.StatusRESOLVED, complaint.StatusCLOSED, planReopened,
	}
	complaintCategories = []complaint.Category{
		complaint.CategoryLEAK, complaint.CategoryCRACK, complaint.CategoryFITTINGS, complaint.CategoryOTHER_QUALITY,
		complaint.CategoryPROPERTY_SERVICE, complaint.CategoryDELIVERY, complaint.CategoryCONTRACT_PRICE,
		complaint.CategorySALES_SERVICE, complaint.CategoryOTHER,
	}
	severities = []complaint.Severity{complaint.SeverityURGENT, complaint.SeverityNORMAL, complaint.SeverityLOW}
)

// planReopened plans a complaint that was resolved and reopened: it is back
// IN_PROGRESS with its resolution clock restarted (rule 3).
const planReopened complaint.Status = "REOPENED"

// slaWindows are the response and resolution windows of a severity (rule 3).
func slaWindows(sev complaint.Severity) (respond, resolve time.Duration) {
	w := aftersales.DefaultPolicy().Window(sev)
	return w.Response, w.Resolution
}

// createComplaints files and works the planned complaints through the
// after-sales desk (package aftersales), each step at its time by whoever
// took it: the homeowner files, rates, closes or reopens; the manager
// acknowledges and routes; the assignee starts, notes and resolves. The SLA
// clocks, reopen counts and timelines are the desk's.
func (s *seeder) createComplaints(st *site) error {
	s.planComplaints(st)
	desk := &aftersales.Desk{}
	var tl timeline
	for _, cp := range st.complaints {
		for i := 0; i < len(cp.events); i++ {
			e := cp.events[i]
			if e.kind == complaintevent.KindRATED {
				i++ // the rating closes or reopens it: the next event is the rating's
			}
			tl.add(e.at, func() error {
				if err := s.complaintStep(st, desk, cp, e); err != nil {
					return fmt.Errorf("complaint %q, %s at %v: %w", cp.text.title, e.kind, e.at, err)
				}
				return nil
			})
		}
	}
	return tl.run()
}

// complaintStep takes one step of a complaint's timeline through the desk.
func (s *seeder) complaintStep(st *site, desk *aftersales.Desk, cp *complaintPlan, e eventPlan) error {
	ctx := s.as(st, e.actor, e.at)
	if e.actor.Role == user.RoleOWNER {
		ctx = auth.NewContext(s.at(e.at), &auth.Viewer{UserID: e.actor.ID, Role: auth.RoleOwner, CustomerID: cp.customer.row.ID})
	}
	step := aftersales.Step{Note: &e.note}
	if cp.row != nil {
		step.ComplaintID = cp.row.ID
	}
	var err error
	switch e.kind {
	case complaintevent.KindSUBMITTED:
		f := aftersales.Filing{UnitID: cp.unit.row.ID, Category: cp.category, Severity: &cp.severity,
			Title: cp.text.title, Description: cp.text.description}
		if cp.homeowner == nil {
			f.CustomerID = &cp.customer.row.ID
		}
		cp.row, err = desk.Submit(ctx, s.c, f, e.at)
	case complaintevent.KindACKNOWLEDGED:
		_, err = desk.Acknowledge(ctx, s.c, step, e.at)
	case complaintevent.KindASSIGNED:
		_, err = desk.Assign(ctx, s.c, aftersales.Assignment{ComplaintID: cp.row.ID, Department: cp.department,
			AssigneeID: cp.assignee.ID, Note: &e.note}, e.at)
	case complaintevent.KindSTARTED:
		_, err = desk.Start(ctx, s.c, step, e.at)
	case complaintevent.KindNOTE:
		internal := e.internal
		_, err = desk.AddNote(ctx, s.c, aftersales.Note{ComplaintID: cp.row.ID, Note: e.note, Internal: &internal}, e.at)
	case complaintevent.KindRESOLVED:
		_, err = desk.Resolve(ctx, s.c, step, e.at)
	case complaintevent.KindRATED:
		_, err = desk.Rate(ctx, s.c, aftersales.Rating{ComplaintID: cp.row.ID, Rating: cp.rating, Comment: &cp.comment}, e.at)
	case complaintevent.KindCLOSED:
		_, err = desk.Close(ctx, s.c, step, e.at)
	case complaintevent.KindREOPENED:
		_, err = desk.Reopen(ctx, s.c, step, e.at)
	default:
		err = fmt.Errorf("no step for %s", e.kind)
	}
	return err
}

// planComplaints: each homeowner with a login files three complaints about
// their unit; staff file a few for owners who have no login.
func (s *seeder) planComplaints(st *site) {
	for _, h := range st.homeowners {
		for range 3 {
			s.planComplaint(st, h.customer, h.unit, h.user, h.user)
		}
	}
	n := 0
	for _, d := range st.deals {
		if n == st.spec.onBehalfComplaints {
			break
		}
		if d.unit.status == unit.StatusDELIVERED && !s.isHomeowner(st, d.customer) {
			s.planComplaint(st, d.customer, d.unit, st.manager, nil)
			n++
		}
	}
}

// planComplaint cycles through statuses, categories and severities so that
// every one of them is present, and lets every fifth complaint miss its SLA.
func (s *seeder) planComplaint(st *site, c *customerPlan, u *unitPlan, filer, owner *ent.User) {
	i := s.complaints
	s.complaints++
	cp := &complaintPlan{
		unit: u, customer: c, filer: filer, homeowner: owner,
		status:   complaintStatuses[i%len(complaintStatuses)],
		category: complaintCategories[i%len(complaintCategories)],
		severity: severities[(i+i/len(complaintStatuses))%len(severities)],
	}
	cp.text = complaintTexts[cp.category]
	cp.department = departmentFor(cp.category)
	cp.assignee = st.manager // there are no engineering or property staff logins: the manager coordinates
	if cp.department == complaint.DepartmentSALES {
		cp.assignee = c.owner // the agent who sold the unit answers for the price
	}
	s.planTimeline(st, cp, i%5 == 2)
	st.complaints = append(st.complaints, cp)
}

// planTimeline plans the steps a complaint went through to reach its status,
// and files it long enough ago for them to have happened by now.
func (s *seeder) planTimeline(st *site, cp *complaintPlan, breached bool) {
	respond, resolve := slaWindows(cp.severity)
	// Offsets from filing of each step.
	ack := s.frac(respond, 0.1, 0.7)
	if breached {
		ack = s.frac(respond, 1.2, 2)
	}
	assign := ack + s.between(5*time.Minute, 40*time.Minute)
	start := assign + s.between(2*time.Hour, 20*time.Hour)
	if cp.severity == complaint.SeverityURGENT {
		start = assign + s.between(20*time.Minute, 90*time.Minute)
	}
	fixed := s.frac(resolve, 0.5, 0.95)
	if breached {
		fixed = s.frac(resolve, 1.1, 1.8)
	}
	fixed = max(fixed, start+s.between(time.Hour, 4*time.Hour))
	rated := fixed + s.between(2*time.Hour, 48*time.Hour)
	reopened := fixed + s.between(6*time.Hour, 72*time.Hour)

	// How long ago it was filed: its last step, then a while in its status.
	var last, tail time.Duration
	switch cp.status {
	case complaint.StatusSUBMITTED:
		tail = s.frac(respond, 0.05, 0.5)
		if breached {
			tail = s.frac(respond, 1.1, 1.6)
		}
	case complaint.StatusACKNOWLEDGED:
		last, tail = assign, s.between(30*time.Minute, 6*time.Hour)
	case complaint.StatusIN_PROGRESS:
		last, tail = start+time.Hour, s.between(30*time.Minute, 6*time.Hour)
	case complaint.StatusRESOLVED:
		last, tail = fixed, s.between(2*time.Hour, 40*time.Hour)
	case complaint.StatusCLOSED:
		last, tail = rated+time.Minute, s.between(day, 30*day)
	case planReopened:
		last, tail = reopened+2*time.Hour, s.between(30*time.Minute, 6*time.Hour)
	}
	open := cp.status == complaint.StatusACKNOWLEDGED || cp.status == complaint.StatusIN_PROGRESS || cp.status == planReopened
	if breached && open { // still open past its resolution deadline
		tail += max(0, s.frac(resolve, 1.1, 1.4)-last)
	}
	cp.createdAt = s.now.Add(-(last + tail)).Truncate(time.Second)
	at := func(d time.Duration) time.Time { return cp.createdAt.Add(d) }

	filed := "业主通过App提交。"
	if cp.homeowner == nil {
		filed = "业主来电反映，由" + cp.filer.Name + "代为登记。"
	}
	cp.event(complaintevent.KindSUBMITTED, cp.filer, "", complaint.StatusSUBMITTED, filed, false, at(0))
	if cp.status == complaint.StatusSUBMITTED {
		return
	}
	cp.ackAt = at(ack)
	cp.event(complaintevent.KindACKNOWLEDGED, st.manager, complaint.StatusSUBMITTED, complaint.StatusACKNOWLEDGED, ackNotes[cp.severity], false, at(ack))
	cp.event(complaintevent.KindASSIGNED, st.manager, "", "",
		fmt.Sprintf("派单至%s，负责人：%s。", departmentNames[cp.department], cp.assignee.Name), false, at(assign))
	if cp.status == complaint.StatusACKNOWLEDGED {
		return
	}
	cp.event(complaintevent.KindSTARTED, cp.assignee, complaint.StatusACKNOWLEDGED, complaint.StatusIN_PROGRESS, cp.text.progress, false, at(start))
	noteAt := start + (fixed-start)/2
	if cp.status == complaint.StatusIN_PROGRESS {
		noteAt = start + s.between(10*time.Minute, time.Hour)
	}
	cp.event(complaintevent.KindNOTE, cp.assignee, "", "", cp.text.internal, true, at(noteAt))
	if cp.status == complaint.StatusIN_PROGRESS {
		return
	}
	cp.event(complaintevent.KindRESOLVED, cp.assignee, complaint.StatusIN_PROGRESS, complaint.StatusRESOLVED, cp.text.resolution, false, at(fixed))
	cp.resolvedAt = at(fixed)
	switch cp.status {
	case complaint.StatusCLOSED:
		s.planClose(st, cp, at(rated))
	case planReopened:
		s.planReopen(st, cp, at(reopened))
	}
}

var ackNotes = map[complaint.Severity]string{
	complaint.SeverityURGENT: "紧急工单，已电话联系业主，2小时内安排人员处理。",
	complaint.SeverityNORMAL: "已受理，已联系业主约定上门时间。",
	complaint.SeverityLOW:    "已受理，会在本周内安排处理。",
}

// planClose: a homeowner rates the resolution and closes it; for an owner
// without a login, the manager closes it after a call back.
func (s *seeder) planClose(st *site, cp *complaintPlan, at time.Time) {
	cp.closedAt = at.Add(time.Minute)
	if cp.homeowner == nil {
		cp.event(complaintevent.KindCLOSED, st.manager, complaint.StatusRESOLVED, complaint.StatusCLOSED, "电话回访业主，确认问题已解决，结单。", false, cp.closedAt)
		return
	}
	cp.rating = pickWeighted(s.r, []weighted[int]{{5, 50}, {4, 35}, {3, 15}})
	cp.comment = pick(s.r, complaintComments[cp.rating])
	cp.ratedAt = at
	cp.event(complaintevent.KindRATED, cp.homeowner, "", "", fmt.Sprintf("%d星：%s", cp.rating, cp.comment), false, at)
	cp.event(complaintevent.KindCLOSED, cp.homeowner, complaint.StatusRESOLVED, complaint.StatusCLOSED, "业主确认问题已解决。", false, cp.closedAt)
}

// planReopen: the problem came back. A homeowner either reopens it or rates
// the fix 1–2 stars, which reopens it too (rule 3).
func (s *seeder) planReopen(st *site, cp *complaintPlan, at time.Time) {
	cp.resolvedAt = time.Time{} // no longer resolved; the timeline keeps the earlier fix
	actor, note := cp.homeowner, cp.text.reopen
	if actor == nil {
		actor, note = st.manager, "业主来电反映："+cp.text.reopen
	} else if s.chance(0.5) {
		cp.rating = s.intn(1, 2)
		cp.comment = pick(s.r, complaintComments[cp.rating])
		cp.ratedAt = at.Add(-time.Minute)
		cp.event(complaintevent.KindRATED, actor, "", "", fmt.Sprintf("%d星：%s", cp.rating, cp.comment), false, cp.ratedAt)
	}
	cp.reopenedAt = at
	cp.event(complaintevent.KindREOPENED, actor, complaint.StatusRESOLVED, complaint.StatusIN_PROGRESS, note, false, at)
	cp.event(complaintevent.KindNOTE, cp.assignee, "", "", "已重新派单，安排复查。", true, at.Add(s.between(30*time.Minute, 2*time.Hour)))
}

func (cp *complaintPlan) event(kind complaintevent.Kind, actor *ent.User, from, to complaint.Status, note string, internal bool, at time.Time) {
	cp.events = append(cp.events, eventPlan{kind: kind, actor: actor, from: from, to: to, note: note, internal: internal, at: at})
}
