package api_test

import (
	"net/http"
	"testing"
	"time"

	"estatecrm/account"
	"estatecrm/api/apitest"
	"estatecrm/auth"
	"estatecrm/database/dbtest"
)

// TestRevokedKeyNotCachedAgainByLastUsed: the once-a-minute last_used_at
// write must not put back in the cache the (possibly stale) row it had, or
// a key revoked through another process works for up to twice the TTL.
// Found in review.
func TestRevokedKeyNotCachedAgainByLastUsed(t *testing.T) {
	if !dbtest.OnPostgres() {
		t.Skip("two server processes need PostgreSQL; set TEST_DATABASE_URL")
	}
	one := apitest.New(t)
	costWorld(t, one)
	two := one.Second(t)
	forward := movableClock(one)
	key, err := account.CreateAPIKey(apitest.System(), one.Client, account.NewAPIKey{Name: "portal"})
	if err != nil {
		t.Fatal(err)
	}
	ask := func() int { return portalQuery(t, one.Handler, key.Key, `{ __typename }`).status }
	ttl := auth.DefaultRevocationTTL
	if s := ask(); s != http.StatusOK { // last used now, the row cached
		t.Fatalf("first: %d", s)
	}
	// Just under a minute later the row is read again (past the TTL) and
	// cached, last used almost a minute ago.
	forward(time.Minute - ttl/4)
	if s := ask(); s != http.StatusOK {
		t.Fatalf("a minute later: %d", s)
	}
	if _, err := account.RevokeAPIKey(apitest.System(), two.Client, key.APIKey.ID); err != nil {
		t.Fatal(err)
	}
	// Within the TTL of that read, and past a minute since the last use:
	// the last_used_at write happens now, and sees the revocation.
	forward(ttl / 2)
	ask()
	// Past the TTL of the read before the revocation: refused.
	forward(ttl/2 + ttl/4)
	if s := ask(); s != http.StatusUnauthorized {
		t.Fatalf("revoked through the other server %v ago, past the TTL: %d, want 401", ttl*5/4, s)
	}
}
