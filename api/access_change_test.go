package api_test

import (
	"testing"

	"estatecrm/api/apitest"
	"estatecrm/ent/unit"
	"estatecrm/ent/user"
)

// An admin's change of what a user may see ends the access tokens issued
// before it within the revocation TTL, over HTTP and on an open WebSocket,
// as a deactivation does (SPEC.md §3.4): the token carries the role and
// projects it was issued with. The session lives on: a refresh gives a
// token of what the user may see now. A change of the name alone ends
// nothing.
func TestAccessChangeEndsTheTokensIssuedBeforeIt(t *testing.T) {
	const update = `mutation($in: UpdateUserInput!) { updateUser(input: $in) { user { id } } }`
	const unitNode = `query($id: ID!) { node(id: $id) { id } }`
	const me = `{ me { role } }`
	for _, tc := range []struct {
		name  string
		input func(id, kept any) map[string]any
		// ends says whether tokens issued before the change stop; sees
		// whether the user may then see a unit of the project they leave;
		// role is their role after it.
		ends, sees bool
		role       string
	}{
		{"moved out of a project", func(id, kept any) map[string]any { return map[string]any{"id": id, "projectIds": []any{kept}} }, true, false, "AGENT"},
		{"made a manager", func(id, _ any) map[string]any { return map[string]any{"id": id, "role": "MANAGER"} }, true, true, "MANAGER"},
		{"renamed", func(id, _ any) map[string]any { return map[string]any{"id": id, "name": "王经理"} }, false, true, "AGENT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := apitest.New(t)
			forward := movableClock(env)
			left, kept := env.Project(t, "滨江·云玺", 1, 1, 1), env.Project(t, "西溪·雅苑", 1, 1, 1)
			u, _ := env.User(t, user.RoleAGENT, "agent.hz1", left, kept)
			unitID := env.Client.Unit.Query().Where(unit.ProjectID(left.ID)).OnlyIDX(apitest.System())
			s := loggedIn(t, env, "agent.hz1")
			ws := subscribedWith(t, env, s.AccessToken, left.ID)
			if res := bearer(env, s.AccessToken).Query(t, unitNode, map[string]any{"id": unitID}); len(res.Errors) != 0 {
				t.Fatalf("before: the unit of their project: %s", res.Body)
			}

			env.Query(t, update, map[string]any{"in": tc.input(u.ID, kept.ID)}).Decode(t, &struct{}{})
			forward(pastTTL)

			if !tc.ends {
				works(t, bearer(env, s.AccessToken), "the token issued before the change")
				return
			}
			unauthenticated(t, bearer(env, s.AccessToken), "the token issued before the change")
			if code := closedWith(ws); code != closeUnauthorized {
				t.Fatalf("the subscription's socket closed with %d, want %d", code, closeUnauthorized)
			}
			var out struct{ RefreshToken struct{ AccessToken string } }
			refresh(t, env, s.RefreshToken).Decode(t, &out)
			now := bearer(env, out.RefreshToken.AccessToken)
			var who struct{ Me struct{ Role string } }
			now.Query(t, me, nil).Decode(t, &who)
			if who.Me.Role != tc.role {
				t.Fatalf("after a refresh the role is %s, want %s", who.Me.Role, tc.role)
			}
			res := now.Query(t, unitNode, map[string]any{"id": unitID})
			if sees := len(res.Errors) == 0; sees != tc.sees {
				t.Fatalf("after a refresh, the unit of the project left: %s; want seen %v", res.Body, tc.sees)
			}
			if !tc.sees && res.OnlyError(t).Code() != "NOT_FOUND" {
				t.Fatalf("after a refresh, the unit of the project left: %s; want NOT_FOUND", res.Body)
			}
		})
	}
}
