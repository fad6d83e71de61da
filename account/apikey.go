package account

import (
	"context"
	"fmt"

	"estatecrm/apperr"
	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/project"
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

// SetAPIKeyProjects limits a portal's key to some projects, or lifts the
// limit with none. The key's policy lets only an admin change it; each
// project must exist, or nothing changes (the request's transaction is
// rolled back on the error).
func SetAPIKeyProjects(ctx context.Context, client *ent.Client, id pulid.ID, projects []pulid.ID) (*ent.APIKey, error) {
	seen := map[pulid.ID]bool{}
	var ids []pulid.ID
	for i, p := range projects {
		if !ent.IDOfType(p, project.Table) {
			return nil, apperr.Input(fmt.Sprintf("input.projectIds[%d]", i), "not the ID of a project")
		}
		if !seen[p] {
			seen[p] = true
			ids = append(ids, p)
		}
	}
	u := client.APIKey.UpdateOneID(id)
	if len(ids) == 0 {
		u.ClearProjectIds()
	} else {
		u.SetProjectIds(ids)
	}
	k, err := u.Save(ctx) // first: whoever may not is refused before learning which projects exist
	if err != nil {
		return nil, err
	}
	if len(ids) > 0 {
		n, err := client.Project.Query().Where(project.IDIn(ids...)).Count(ctx)
		if err != nil {
			return nil, err
		}
		if n != len(ids) {
			return nil, apperr.Input("input.projectIds", "no such project")
		}
	}
	return k, nil
}
