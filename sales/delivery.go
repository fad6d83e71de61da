package sales

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"estatecrm/apperr"
	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/activationcode"
	"estatecrm/ent/customer"
	"estatecrm/ent/deal"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/unit"
	"estatecrm/ent/user"
)

// ActivationTTL is how long a homeowner's activation code is good.
const ActivationTTL = 14 * 24 * time.Hour

// codeAlphabet has no 0/O or 1/I/L: codes are read aloud and typed on phones.
const codeAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

// Delivery is a delivered unit and the code its homeowner activates with.
type Delivery struct {
	Unit           *ent.Unit
	ActivationCode string
	ExpiresAt      time.Time
}

// DeliverUnit hands a contracted unit over (a manager's act): the unit is
// DELIVERED, its buyer becomes an OWNER, and a one-time activation code for
// the homeowner's login is made, shown here once and kept only hashed.
func DeliverUnit(ctx context.Context, client *ent.Client, unitID pulid.ID, now time.Time) (*Delivery, error) {
	u, err := client.Unit.Get(ctx, unitID)
	if err != nil {
		return nil, err
	}
	d, err := client.Deal.Query().Where(deal.UnitID(u.ID), deal.StageEQ(deal.StageCONTRACTED)).Only(auth.SystemContext(ctx))
	if err != nil {
		if ent.IsNotFound(err) {
			return nil, apperr.New(apperr.Conflict, "only a contracted unit is delivered")
		}
		return nil, err
	}
	n, err := client.Unit.Update().Where(unit.ID(u.ID), unit.StatusEQ(unit.StatusCONTRACTED)).
		SetStatus(unit.StatusDELIVERED).Save(ctx)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, apperr.New(apperr.Conflict, "only a contracted unit is delivered")
	}
	if err := advanceCustomer(ctx, client, d.CustomerID, customer.StageOWNER); err != nil {
		return nil, err
	}
	code := newCode()
	exp := now.Add(ActivationTTL)
	err = client.ActivationCode.Create().SetCodeHash(hashCode(code)).SetCustomerID(d.CustomerID).
		SetUnitID(u.ID).SetExpiresAt(exp).Exec(auth.SystemContext(ctx))
	if err != nil {
		return nil, err
	}
	u, err = client.Unit.Get(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	return &Delivery{Unit: u, ActivationCode: code, ExpiresAt: exp}, nil
}

// Activation is the input of ActivateOwner.
type Activation struct {
	Code     string
	Login    string
	Password string
}

// ActivateOwner opens a homeowner's login with the code from their
// delivery. The code is the only credential: it is good once, until it
// expires, and every failure answers alike.
func ActivateOwner(ctx context.Context, client *ent.Client, in Activation, now time.Time) (*ent.User, error) {
	sys := auth.SystemContext(ctx)
	bad := apperr.Input("input.code", "this activation code is not valid, used, or expired")
	ac, err := client.ActivationCode.Query().Where(activationcode.CodeHash(hashCode(normalCode(in.Code)))).Only(sys)
	if ent.IsNotFound(err) {
		return nil, bad
	}
	if err != nil {
		return nil, err
	}
	if ac.UsedAt != nil || !now.Before(ac.ExpiresAt) {
		return nil, bad
	}
	if err := auth.ValidatePassword("input.password", in.Password); err != nil {
		return nil, err
	}
	has, err := client.User.Query().Where(user.CustomerID(ac.CustomerID)).Exist(sys)
	if err != nil {
		return nil, err
	}
	if has {
		return nil, apperr.New(apperr.Conflict, "this homeowner already has a login: sign in")
	}
	// Spend the code only if nobody did in between.
	n, err := client.ActivationCode.Update().Where(activationcode.ID(ac.ID), activationcode.UsedAtIsNil()).
		SetUsedAt(now).Save(sys)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, bad
	}
	hash, err := auth.HashPassword(in.Password)
	if err != nil {
		return nil, err
	}
	c, err := client.Customer.Get(sys, ac.CustomerID)
	if err != nil {
		return nil, err
	}
	return client.User.Create().SetName(c.Name).SetLogin(in.Login).SetPasswordHash(hash).
		SetRole(user.RoleOWNER).SetCustomerID(c.ID).Save(sys)
}

func newCode() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = codeAlphabet[int(b[i])%len(codeAlphabet)]
	}
	return string(b)
}

// normalCode forgives case and spaces: codes are typed from paper.
func normalCode(s string) string {
	return strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), " ", ""))
}

func hashCode(code string) string {
	sum := sha256.Sum256([]byte(code))
	return hex.EncodeToString(sum[:])
}
