package api_test

import (
	"testing"

	"estatecrm/api/apitest"
	"estatecrm/ent/user"
)

const loginMutation = `mutation($l: String!, $p: String!) {
  login(input: {login: $l, password: $p}) { accessToken refreshToken accessTokenExpiresAt user { login role } }
}`

type authPayload struct {
	AccessToken, RefreshToken, AccessTokenExpiresAt string
	User                                            struct{ Login, Role string }
}

func TestLoginThenQuery(t *testing.T) {
	env := apitest.New(t)
	p := env.Project(t, "滨江·云玺", 1, 1, 2)
	env.User(t, user.RoleAGENT, "agent.hz1", p)

	var out struct{ Login authPayload }
	env.Anonymous().Query(t, loginMutation, map[string]any{"l": "Agent.HZ1", "p": apitest.Password}).Decode(t, &out)
	if out.Login.AccessToken == "" || out.Login.RefreshToken == "" || out.Login.User.Role != "AGENT" {
		t.Fatalf("login = %+v", out.Login)
	}
	var units struct{ Units struct{ TotalCount int } }
	env.WithHeader("Authorization", "Bearer "+out.Login.AccessToken).
		Query(t, `{ units(first: 10) { totalCount } }`, nil).Decode(t, &units)
	if units.Units.TotalCount != 2 {
		t.Fatalf("the agent sees %d units of their project, want 2", units.Units.TotalCount)
	}
}
