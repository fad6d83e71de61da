package auth_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"estatecrm/auth"
	"estatecrm/database"
	"estatecrm/database/dbtest"
	"estatecrm/ent"
	"estatecrm/ent/user"
)

// revocationsFixture is a Revocations over a database of the test's own, on
// a clock the test moves, counting the statements it runs.
type revocationsFixture struct {
	client  *ent.Client
	counter *dbtest.Counter
	r       *auth.Revocations
	skew    atomic.Int64
}

func newRevocationsFixture(t *testing.T) *revocationsFixture {
	db := dbtest.Open(t)
	f := &revocationsFixture{client: database.NewClient(db.Driver), counter: dbtest.NewCounter(db.Driver)}
	now := func() time.Time { return time.Now().Add(time.Duration(f.skew.Load())) }
	f.r = auth.NewRevocations(database.NewClient(f.counter), time.Second, now)
	return f
}

// pastTTL moves the clock past what the checker trusts.
func (f *revocationsFixture) pastTTL() { f.skew.Add(int64(f.r.TTL() + time.Millisecond)) }

// check returns Check's answer and the statements it ran.
func (f *revocationsFixture) check(t *testing.T, v *auth.Viewer) (error, int64) {
	t.Helper()
	f.counter.Reset()
	err := f.r.Check(context.Background(), v)
	if err != nil && !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatal(err)
	}
	return err, f.counter.Count()
}

func TestRevocations(t *testing.T) {
	f := newRevocationsFixture(t)
	ctx := auth.SystemContext(context.Background())
	u := f.client.User.Create().SetName("agent").SetLogin("agent").SetRole("AGENT").SaveX(ctx)
	session := func(family string, tokens int) {
		for i := range tokens {
			f.client.RefreshToken.Create().SetUserID(u.ID).SetFamily(family).SetTokenHash(family + string(rune('a'+i))).
				SetExpiresAt(time.Now().Add(time.Hour)).ExecX(ctx)
		}
	}
	session("RF1", 2) // rotated once
	session("RF2", 1)
	v1 := &auth.Viewer{UserID: u.ID, Role: auth.RoleAgent, SessionID: "RF1"}
	v2 := &auth.Viewer{UserID: u.ID, Role: auth.RoleAgent, SessionID: "RF2"}
	noSession := &auth.Viewer{UserID: u.ID, Role: auth.RoleAgent}

	for _, v := range []*auth.Viewer{v1, v2, noSession} {
		if err, n := f.check(t, v); err != nil || n != 1 {
			t.Fatalf("session %q: %v after %d statements; want good after 1", v.SessionID, err, n)
		}
		if err, n := f.check(t, v); err != nil || n != 0 {
			t.Fatalf("session %q asked again within the TTL: %v after %d statements; want the cached answer", v.SessionID, err, n)
		}
	}

	// A password change made in session 2 ends session 1 only.
	if err := auth.EndSessions(ctx, f.client, u.ID, "RF2"); err != nil {
		t.Fatal(err)
	}
	f.pastTTL()
	if err, _ := f.check(t, v1); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("an ended session: %v", err)
	}
	if err, _ := f.check(t, v2); err != nil {
		t.Fatalf("the session that changed the password: %v", err)
	}
	if err, _ := f.check(t, &auth.Viewer{UserID: u.ID, SessionID: "RF-unknown"}); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("a session that never was: %v", err)
	}

	// A disabled user is out, whatever the session.
	f.client.User.UpdateOne(u).SetActive(false).ExecX(ctx)
	f.pastTTL()
	for _, v := range []*auth.Viewer{v2, noSession} {
		if err, _ := f.check(t, v); !errors.Is(err, auth.ErrInvalidToken) {
			t.Fatalf("a disabled user's session %q: %v", v.SessionID, err)
		}
	}

	// Keys: active, then revoked.
	k := f.client.APIKey.Create().SetName("portal").SetKeyPrefix("0123456789abcdef").SetSecretHash("x").SaveX(ctx)
	portal := &auth.Viewer{Role: auth.RolePortal, APIKeyID: k.ID}
	if err, _ := f.check(t, portal); err != nil {
		t.Fatalf("an active key: %v", err)
	}
	f.client.APIKey.UpdateOne(k).SetActive(false).ExecX(ctx)
	f.pastTTL()
	if err, _ := f.check(t, portal); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("a revoked key: %v", err)
	}

	// The system has no credentials to revoke, and costs nothing.
	if err, n := f.check(t, &auth.Viewer{Role: auth.RoleSystem}); err != nil || n != 0 {
		t.Fatalf("the system: %v after %d statements", err, n)
	}
}

// failing is a driver whose queries fail while fail is set.
type failing struct {
	dialect.Driver
	fail atomic.Bool
}

func (d *failing) Query(ctx context.Context, query string, args, v any) error {
	if d.fail.Load() {
		return errors.New("connection refused")
	}
	return d.Driver.Query(ctx, query, args, v)
}

// A check the database cannot answer is an error of its own (not a
// revocation) and is not remembered: the next one asks again.
func TestRevocationsDoNotRememberFailures(t *testing.T) {
	db := dbtest.Open(t)
	drv := &failing{Driver: db.Driver}
	r := auth.NewRevocations(database.NewClient(drv), time.Minute, nil)
	ctx := auth.SystemContext(context.Background())
	u := database.NewClient(db.Driver).User.Create().SetName("agent").SetLogin("agent").SetRole("AGENT").SaveX(ctx)
	v := &auth.Viewer{UserID: u.ID, Role: auth.RoleAgent}
	drv.fail.Store(true)
	if err := r.Check(context.Background(), v); err == nil || errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("a check the database could not answer: %v", err)
	}
	drv.fail.Store(false)
	if err := r.Check(context.Background(), v); err != nil {
		t.Fatalf("the next check, with the database back: %v", err)
	}
}

// What a request pays for the check when the answer is cached (every
// request of a user but one per TTL): go test ./auth -run - -bench Revocations
func BenchmarkRevocationsCheck(b *testing.B) {
	db := dbtest.Open(b)
	client := database.NewClient(db.Driver)
	ctx := auth.SystemContext(context.Background())
	u := client.User.Create().SetName("agent").SetLogin("agent").SetRole("AGENT").SaveX(ctx)
	client.RefreshToken.Create().SetUserID(u.ID).SetFamily("RF1").SetTokenHash("h").SetExpiresAt(time.Now().Add(time.Hour)).ExecX(ctx)
	r := auth.NewRevocations(client, time.Hour, nil)
	v := &auth.Viewer{UserID: u.ID, Role: auth.RoleAgent, SessionID: "RF1"}
	b.Run("cached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := r.Check(context.Background(), v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("query", func(b *testing.B) { // a fresh checker: the query every TTL
		b.ReportAllocs()
		for b.Loop() {
			if err := auth.NewRevocations(client, time.Hour, nil).Check(context.Background(), v); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// A change of what a user may see (role, projects, customer record) ends
// the access tokens issued before it, whatever their session; a change of
// anything else (the name) does not.
func TestAccessChangeEndsOlderTokens(t *testing.T) {
	ctx := auth.SystemContext(context.Background())
	for _, tc := range []struct {
		name   string
		change func(c *ent.Client, u *ent.User, p *ent.Project)
		ends   bool
	}{
		{"role", func(c *ent.Client, u *ent.User, _ *ent.Project) { c.User.UpdateOne(u).SetRole("MANAGER").ExecX(ctx) }, true},
		{"projects replaced", func(c *ent.Client, u *ent.User, _ *ent.Project) { c.User.UpdateOne(u).ClearProjects().ExecX(ctx) }, true},
		{"removed from the project's staff", func(c *ent.Client, u *ent.User, p *ent.Project) {
			c.Project.UpdateOne(p).RemoveStaff(u).ExecX(ctx)
		}, true},
		{"the project's staff cleared", func(c *ent.Client, _ *ent.User, p *ent.Project) { c.Project.UpdateOne(p).ClearStaff().ExecX(ctx) }, true},
		{"name", func(c *ent.Client, u *ent.User, _ *ent.Project) { c.User.UpdateOne(u).SetName("renamed").ExecX(ctx) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newRevocationsFixture(t)
			p := f.client.Project.Create().SetName("滨江·云玺").SetCity("杭州").SaveX(ctx)
			u := f.client.User.Create().SetName("agent").SetLogin("agent").SetRole("AGENT").AddProjects(p).SaveX(ctx)
			old := auth.ViewerOf(f.client.User.Query().Where(user.ID(u.ID)).WithProjects().OnlyX(ctx))
			if err, _ := f.check(t, old); err != nil {
				t.Fatalf("before the change: %v", err)
			}
			tc.change(f.client, u, p)
			f.pastTTL()
			err, _ := f.check(t, old)
			if ended := errors.Is(err, auth.ErrInvalidToken); ended != tc.ends {
				t.Fatalf("a token issued before the change: %v, want ended %v", err, tc.ends)
			}
			// A token issued after it (a refresh reads the user again) is good.
			now := auth.ViewerOf(f.client.User.Query().Where(user.ID(u.ID)).WithProjects().OnlyX(ctx))
			if err, _ := f.check(t, now); err != nil {
				t.Fatalf("a token issued after the change: %v", err)
			}
		})
	}
}
