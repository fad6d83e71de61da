package account

import (
	"context"

	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/schema/pulid"
)

// NewAPIKey is the input of CreateAPIKey.
type NewAPIKey struct {
	Name               string
	RateLimitPerMinute *int
	// CostBudget and CostRestoreRate are the key's query-cost budget
	// (package cost); nil takes the defaults.
	CostBudget      *int
	CostRestoreRate *int
}

// CreatedAPIKey is a new key with its secret, shown once.
type CreatedAPIKey struct {
	APIKey *ent.APIKey
	Key    string
}

// CreateAPIKey creates a portal's key; only its hash is stored.
func CreateAPIKey(ctx context.Context, client *ent.Client, in NewAPIKey) (*CreatedAPIKey, error) {
	key, prefix, hash := auth.NewAPIKey()
	k, err := client.APIKey.Create().
		SetName(in.Name).SetKeyPrefix(prefix).SetSecretHash(hash).
		SetNillableRateLimitPerMinute(in.RateLimitPerMinute).
		SetNillableCostBudget(in.CostBudget).SetNillableCostRestoreRate(in.CostRestoreRate).
		Save(ctx)
	if err != nil {
		return nil, err
	}
	return &CreatedAPIKey{APIKey: k, Key: key}, nil
}

// RevokeAPIKey turns a key off at once.
func RevokeAPIKey(ctx context.Context, client *ent.Client, id pulid.ID) (*ent.APIKey, error) {
	return client.APIKey.UpdateOneID(id).SetActive(false).Save(ctx)
}

// APIKeyChange is the input of UpdateAPIKey: nil fields are left alone.
type APIKeyChange struct {
	ID                 pulid.ID
	Name               *string
	RateLimitPerMinute *int
	CostBudget         *int
	CostRestoreRate    *int
}

// UpdateAPIKey changes a key's name, request limit or query-cost budget.
// The ent schema bounds each value and the privacy rules leave it to admins.
func UpdateAPIKey(ctx context.Context, client *ent.Client, in APIKeyChange) (*ent.APIKey, error) {
	return client.APIKey.UpdateOneID(in.ID).
		SetNillableName(in.Name).SetNillableRateLimitPerMinute(in.RateLimitPerMinute).
		SetNillableCostBudget(in.CostBudget).SetNillableCostRestoreRate(in.CostRestoreRate).
		Save(ctx)
}
