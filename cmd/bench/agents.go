package main

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"estatecrm/auth"
	"estatecrm/database"
	"estatecrm/ent"
	"estatecrm/ent/customer"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/unit"
	"estatecrm/ent/user"
	"estatecrm/seed"
)

// benchCustomers is how many protected customers each bench agent owns.
const benchCustomers = 5

// benchStaff is who sends the write requests: a sales floor of n agents of
// the grid project, so that each write client is one agent's phone (holds
// count per agent, at most 3; protection and visits are per customer and
// owner), and a manager of the project who cancels the reservations.
type benchStaff struct {
	agents  []benchAgent
	manager string // login
}

// benchAgent is one agent of the floor, with what its requests need.
type benchAgent struct {
	login     string
	customers []string // protected customers of theirs in the grid project
	unit      string   // a unit of the grid project that only they hold
}

// addBenchStaff adds to the scratch database n agents and a manager of the
// grid project, with the demo password, each agent owning benchCustomers
// customers protected for 30 days, and gives each agent a unit of the
// project of its own for holds. It goes through the ent client with its
// hooks and rules, as the seed does (roles, password hashes and audit are
// real); the agents log in through the API like any phone. Their
// customers' phones start +86146, which neither the seed nor -scale makes.
func addBenchStaff(ctx context.Context, dbURL, grid string, n int) (*benchStaff, error) {
	db, err := database.Open(ctx, dbURL, database.Pool{MaxOpen: 2, MaxIdle: 2})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	// One argon2id hash of the demo password for every bench login: each
	// hash costs 19 MiB and tens of milliseconds, and a hash with its own
	// salt checks the same for every user who has it.
	hash, err := auth.HashPassword(seed.DemoPassword)
	if err != nil {
		return nil, err
	}
	sys := auth.SystemContext(ctx)
	tx, err := db.Client().Tx(sys)
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback() }()
	c := tx.Client()
	units, err := c.Unit.Query().Where(unit.ProjectID(pulid.ID(grid)), unit.StatusEQ(unit.StatusAVAILABLE)).
		Order(unit.ByID()).Limit(n).IDs(sys)
	if err != nil {
		return nil, err
	}
	if len(units) < n {
		return nil, fmt.Errorf("the grid project has %d available units for %d hold clients: raise -grid-units", len(units), n)
	}
	staff := &benchStaff{manager: "bench.manager"}
	if err := c.User.Create().SetName("基准经理").SetLogin(staff.manager).SetPasswordHash(hash).
		SetRole(user.RoleMANAGER).AddProjectIDs(pulid.ID(grid)).Exec(sys); err != nil {
		return nil, fmt.Errorf("bench manager: %w", err)
	}
	until := time.Now().Add(30 * 24 * time.Hour)
	for i := range n {
		a := benchAgent{login: fmt.Sprintf("bench.agent%03d", i+1), unit: string(units[i])}
		u, err := c.User.Create().SetName(fmt.Sprintf("基准顾问%03d", i+1)).SetLogin(a.login).SetPasswordHash(hash).
			SetRole(user.RoleAGENT).AddProjectIDs(pulid.ID(grid)).Save(sys)
		if err != nil {
			return nil, fmt.Errorf("bench agent: %w", err)
		}
		rows := make([]*ent.CustomerCreate, benchCustomers)
		for k := range rows {
			rows[k] = c.Customer.Create().SetProjectID(pulid.ID(grid)).SetName(fmt.Sprintf("基准客户%03d-%d", i+1, k+1)).
				SetPhone(fmt.Sprintf("146%04d%04d", i+1, k+1)).SetSource(customer.SourceWALK_IN).
				SetOwnerID(u.ID).SetOwnedSince(time.Now()).SetProtectedUntil(until).
				SetAttributionRule(customer.AttributionRuleREGISTERED)
		}
		cs, err := c.Customer.CreateBulk(rows...).Save(sys)
		if err != nil {
			return nil, fmt.Errorf("bench customers: %w", err)
		}
		for _, cu := range cs {
			a.customers = append(a.customers, string(cu.ID))
		}
		staff.agents = append(staff.agents, a)
	}
	return staff, tx.Commit()
}

// findBench finds in a database this command kept (-keep, reused with -db)
// the grid project and its sales floor that addGridProject and
// addBenchStaff made: the project named for its units, the bench manager,
// and n bench agents with their customers and their units (the first
// available units of the project by id, as addBenchStaff gave them, or the
// one the agent holds if a run stopped before releasing it).
func findBench(ctx context.Context, db *sql.DB, n int) (grid string, staff *benchStaff, err error) {
	if err := db.QueryRowContext(ctx, `SELECT p.id FROM projects p JOIN user_projects up ON up.project_id = p.id
		JOIN users u ON u.id = up.user_id WHERE u.login = 'bench.manager' ORDER BY p.id LIMIT 1`).Scan(&grid); err != nil {
		return "", nil, fmt.Errorf("no bench manager and grid project in the database (was it kept by this command?): %w", err)
	}
	staff = &benchStaff{manager: "bench.manager"}
	var units []string
	if err := column(ctx, db, &units, `SELECT id FROM units WHERE project_id = $1 AND (status = 'AVAILABLE' OR
		held_by_id IN (SELECT id FROM users WHERE login LIKE 'bench.agent%')) ORDER BY id LIMIT $2`, grid, n); err != nil {
		return "", nil, err
	}
	for i := range n {
		a := benchAgent{login: fmt.Sprintf("bench.agent%03d", i+1)}
		if err := column(ctx, db, &a.customers, `SELECT c.id FROM customers c JOIN users u ON u.id = c.owner_id
			WHERE u.login = $1 AND c.project_id = $2 AND c.phone LIKE '+86146%' ORDER BY c.id`, a.login, grid); err != nil {
			return "", nil, err
		}
		if len(a.customers) == 0 || i >= len(units) {
			return "", nil, fmt.Errorf("the database has no bench agent %s with customers and a unit: -write-clients is more than the run that kept it had", a.login)
		}
		a.unit = units[i]
		staff.agents = append(staff.agents, a)
	}
	return grid, staff, nil
}
