package sales

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"estatecrm/apperr"
	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/customer"
	"estatecrm/ent/deal"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/unit"
	"estatecrm/rule"
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
// the homeowner's login is made, shown here once and kept only hashed, and
// the homeowner is sent the delivery's satisfaction survey.
func DeliverUnit(ctx context.Context, client *ent.Client, unitID pulid.ID, now time.Time) (*Delivery, error) {
	u, err := client.Unit.Get(ctx, unitID)
	if err != nil {
		return nil, err
	}
	// The status change first: the rules refuse it to anyone but a manager
	// (FORBIDDEN) before anything else is learnt. An error rolls it back.
	n, err := client.Unit.Update().Where(unit.ID(u.ID), unit.StatusEQ(unit.StatusCONTRACTED)).
		SetStatus(unit.StatusDELIVERED).Save(ctx)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, apperr.New(apperr.Conflict, "only a contracted unit is delivered")
	}
	d, err := client.Deal.Query().Where(deal.UnitID(u.ID), deal.StageEQ(deal.StageCONTRACTED)).Only(ctx)
	if err != nil {
		if ent.IsNotFound(err) {
			return nil, apperr.New(apperr.Conflict, "only a contracted unit is delivered")
		}
		return nil, err
	}
	if err := advanceCustomer(ctx, client, d.CustomerID, customer.StageOWNER); err != nil {
		return nil, err
	}
	code := newCode()
	exp := now.Add(ActivationTTL)
	if err := rule.IssueActivationCode(ctx, client, u.ID, hashCode(code), exp); err != nil {
		return nil, err
	}
	// The homeowner's delivery survey, answered once they have a login.
	if err := rule.IssueDeliverySurvey(ctx, client, u.ID, now); err != nil {
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
// expires (on the request's clock, which the rule reads), and every failure
// answers alike.
func ActivateOwner(ctx context.Context, client *ent.Client, in Activation, _ time.Time) (*ent.User, error) {
	password := func() (string, error) {
		if err := auth.ValidatePassword("input.password", in.Password); err != nil {
			return "", err
		}
		return auth.HashPassword(in.Password)
	}
	u, err := rule.ActivateHomeowner(ctx, client, hashCode(normalCode(in.Code)), in.Login, password)
	switch {
	case errors.Is(err, rule.ErrActivationCode):
		return nil, apperr.Input("input.code", "this activation code is not valid, used, or expired")
	case errors.Is(err, rule.ErrHasLogin):
		return nil, apperr.New(apperr.Conflict, "this homeowner already has a login: sign in")
	}
	return u, err
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
