// Package account manages logins: users and their roles, passwords and
// projects, and the API keys of listing portals. Who may do what is decided
// by the privacy rules (admins, and a user changing their own password);
// every change of role, password or projects is audited by a User hook.
package account

import (
	"context"

	"estatecrm/apperr"
	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/user"
	"estatecrm/rule"
)

// NewUser is the input of CreateUser.
type NewUser struct {
	Name       string
	Login      string
	Password   string
	Role       user.Role
	ProjectIDs []pulid.ID
	CustomerID *pulid.ID
}

// UserChange is the input of UpdateUser; nil fields stay as they are.
type UserChange struct {
	ID         pulid.ID
	Name       *string
	Role       *user.Role
	ProjectIDs []pulid.ID
	Active     *bool
}

// PasswordReset is the input of ResetPassword.
type PasswordReset struct {
	ID       pulid.ID
	Password string
}

// PasswordChange is the input of ChangePassword.
type PasswordChange struct {
	CurrentPassword string
	NewPassword     string
}

// CreateUser creates a login.
func CreateUser(ctx context.Context, client *ent.Client, in NewUser) (*ent.User, error) {
	hash, err := newPasswordHash("input.password", in.Password)
	if err != nil {
		return nil, err
	}
	return client.User.Create().
		SetName(in.Name).SetLogin(in.Login).SetPasswordHash(hash).SetRole(in.Role).
		AddProjectIDs(in.ProjectIDs...).SetNillableCustomerID(in.CustomerID).
		Save(ctx)
}

// UpdateUser changes a user's name, role, projects or active flag.
func UpdateUser(ctx context.Context, client *ent.Client, in UserChange) (*ent.User, error) {
	upd := client.User.UpdateOneID(in.ID).SetNillableName(in.Name).SetNillableRole(in.Role).SetNillableActive(in.Active)
	if in.ProjectIDs != nil {
		upd.ClearProjects().AddProjectIDs(in.ProjectIDs...)
	}
	u, err := upd.Save(ctx)
	if err != nil || in.Active == nil || *in.Active {
		return u, err
	}
	// A disabled user's tokens stop at their next check (the row says so);
	// ending the sessions too means turning the user on again does not
	// bring back whoever held them.
	return u, auth.EndSessions(ctx, client, u.ID, "")
}

// ResetPassword sets a user's password (an admin's act).
func ResetPassword(ctx context.Context, client *ent.Client, in PasswordReset) (*ent.User, error) {
	hash, err := newPasswordHash("input.password", in.Password)
	if err != nil {
		return nil, err
	}
	u, err := client.User.UpdateOneID(in.ID).SetPasswordHash(hash).Save(ctx)
	if err != nil {
		return nil, err
	}
	// A new password signs out whoever knew the old one, except an admin's
	// own session when they reset their own password.
	return u, auth.EndSessions(ctx, client, u.ID, ownSession(ctx, u.ID))
}

// ChangePassword lets the signed-in user replace their own password after
// proving they know the current one.
func ChangePassword(ctx context.Context, client *ent.Client, in PasswordChange) (*ent.User, error) {
	v := auth.FromContext(ctx)
	if v == nil || v.UserID == "" {
		return nil, apperr.New(apperr.Unauthenticated, "sign in to change your password")
	}
	u, err := client.User.Get(ctx, v.UserID) // every user may read their own row
	if err != nil {
		return nil, err
	}
	if ok, err := auth.CheckPassword(u.PasswordHash, in.CurrentPassword); err != nil || !ok {
		return nil, apperr.Input("input.currentPassword", "the current password is wrong")
	}
	hash, err := newPasswordHash("input.newPassword", in.NewPassword)
	if err != nil {
		return nil, err
	}
	changed, err := client.User.UpdateOneID(v.UserID).SetPasswordHash(hash).Save(rule.WithPasswordProof(ctx))
	if err != nil {
		return nil, err
	}
	// Every other session ends (whoever knew the old password is out); the
	// one making the change goes on.
	return changed, auth.EndSessions(ctx, client, changed.ID, v.SessionID)
}

// ownSession is the viewer's session if the viewer is user id, else "".
func ownSession(ctx context.Context, id pulid.ID) string {
	if v := auth.FromContext(ctx); v != nil && v.UserID == id {
		return v.SessionID
	}
	return ""
}

// newPasswordHash checks a new password against the policy and hashes it.
func newPasswordHash(field, password string) (string, error) {
	if err := auth.ValidatePassword(field, password); err != nil {
		return "", err
	}
	return auth.HashPassword(password)
}

// Me returns the signed-in user, or nil for a portal.
func Me(ctx context.Context, client *ent.Client) (*ent.User, error) {
	v := auth.FromContext(ctx)
	if v == nil {
		return nil, apperr.New(apperr.Unauthenticated, "authentication required")
	}
	if v.UserID == "" {
		return nil, nil
	}
	return client.User.Get(ctx, v.UserID)
}
