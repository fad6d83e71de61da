// Package webhook pushes the listing change log (package listing) to portals
// as signed webhooks (Standard Webhooks: webhook-id, webhook-timestamp,
// webhook-signature over "id.timestamp.body" with HMAC-SHA256).
//
// An admin registers an endpoint (Create): a URL whose host is on the
// allowlist, perhaps tied to a portal's API key, whose projects then limit
// what it receives. Its secret is shown once and kept to sign.
//
// Deliveries go through an outbox (Worker): for each numbered change an
// endpoint may see, in sequence order, a WebhookDelivery row; the worker
// sends each endpoint's rows one at a time, in order, retrying a failure
// with exponential backoff and jitter for 24 hours (then FAILED, and the next
// one goes), so each change arrives at least once and change N+1 never
// before N succeeded or was given up. One worker at a time delivers to an
// endpoint: it holds a lease on the endpoint's row (see Worker).
package webhook

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net"
	"net/url"
	"strings"
	"time"

	"estatecrm/apperr"
	"estatecrm/auth"
	"estatecrm/clock"
	"estatecrm/ent"
	"estatecrm/ent/apikey"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/webhookdelivery"
	"estatecrm/ent/webhookendpoint"
	"estatecrm/rule"
)

// Window is how long a delivery is retried before it is given up (FAILED).
const Window = 24 * time.Hour

// RotationOverlap is how long deliveries are signed with the previous
// secret too after a rotation, so a receiver can switch without a gap.
const RotationOverlap = 24 * time.Hour

// secretPrefix marks a Standard Webhooks secret.
const secretPrefix = "whsec_"

// Allowlist is the hosts endpoints may point to (WEBHOOK_ALLOWED_HOSTS): a
// host name or address matches itself; "*.example.com" matches its
// subdomains (not example.com). Empty allows none.
type Allowlist []string

// ParseAllowlist reads a comma-separated list of hosts.
func ParseAllowlist(s string) Allowlist {
	var a Allowlist
	for _, h := range strings.Split(s, ",") {
		if h = strings.ToLower(strings.TrimSpace(h)); h != "" {
			a = append(a, h)
		}
	}
	return a
}

// Check refuses a URL that is not http(s), carries credentials or whose host
// is not on the list (BAD_USER_INPUT on field).
func (a Allowlist) Check(field, raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Opaque != "":
		return apperr.Input(field, "an http or https URL")
	case u.User != nil:
		return apperr.Input(field, "no user or password in the URL: the signature authenticates the sender")
	case u.Fragment != "" || len(raw) > 2000:
		return apperr.Input(field, "no fragment, at most 2000 characters")
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	for _, h := range a {
		if h == host || (strings.HasPrefix(h, "*.") && strings.HasSuffix(host, h[1:]) && net.ParseIP(host) == nil) {
			return nil
		}
	}
	return apperr.Input(field, "the host %q is not on the webhook allowlist (WEBHOOK_ALLOWED_HOSTS)", host)
}

// NewEndpoint is the input of Create.
type NewEndpoint struct {
	URL string
	// APIKeyID ties the endpoint to a portal's key: it receives the changes
	// of the key's projects only, and nothing while the key is revoked.
	APIKeyID    *pulid.ID
	Description *string
}

// Created is an endpoint with its secret, shown once (on creation and
// on rotation; empty otherwise).
type Created struct {
	WebhookEndpoint *ent.WebhookEndpoint
	Secret          *string
}

// Create registers an endpoint (admin). It receives the changes numbered
// after its creation.
func Create(ctx context.Context, client *ent.Client, allow Allowlist, in NewEndpoint) (*Created, error) {
	if err := mayManage(ctx); err != nil {
		return nil, err
	}
	if err := allow.Check("input.url", in.URL); err != nil {
		return nil, err
	}
	if in.APIKeyID != nil {
		if err := checkKey(ctx, client, *in.APIKeyID); err != nil {
			return nil, err
		}
	}
	if in.Description != nil && len([]rune(*in.Description)) > 500 {
		return nil, apperr.Input("input.description", "at most 500 characters")
	}
	head, err := headSeq(ctx, client)
	if err != nil {
		return nil, err
	}
	secret := NewSecret()
	e, err := client.WebhookEndpoint.Create().
		SetURL(in.URL).SetNillableDescription(in.Description).SetSecret(secret).
		SetNillableAPIKeyID(in.APIKeyID).SetCursor(head).
		Save(ctx)
	if err != nil {
		return nil, err
	}
	return &Created{WebhookEndpoint: e, Secret: &secret}, nil
}

func checkKey(ctx context.Context, client *ent.Client, id pulid.ID) error {
	if !ent.IDOfType(id, apikey.Table) {
		return apperr.Input("input.apiKeyId", "not the ID of an API key")
	}
	ok, err := client.APIKey.Query().Where(apikey.ID(id)).Exist(ctx)
	if err != nil {
		return err
	}
	if !ok {
		return apperr.Input("input.apiKeyId", "no such API key")
	}
	return nil
}

// headSeq is where a new endpoint starts following the change log (a
// position in the outbox, whose events the log's lines are): after every
// event visible now, numbered or not. The sequencer numbers events
// in insertion order after the largest number, so the k lines still
// unnumbered get numbers from top+1 on, or larger when lines of
// transactions in flight get numbers among them: MAX(seq) + COUNT(unnumbered)
// is at most the largest number they will get, and every later change's
// is larger. Both read in one statement (one snapshot): an earlier change
// may be sent once, a later one is never skipped.
func headSeq(ctx context.Context, client *ent.Client) (int64, error) {
	rows, err := client.QueryContext(ctx, `SELECT (SELECT COALESCE(MAX(seq), 0) FROM outbox_events) +
  (SELECT COUNT(*) FROM outbox_events WHERE seq IS NULL)`)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var head int64
	if rows.Next() {
		if err := rows.Scan(&head); err != nil {
			return 0, err
		}
	}
	return head, rows.Err()
}

// NewSecret is a Standard Webhooks secret: whsec_ and 32 random bytes in base64.
func NewSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return secretPrefix + base64.StdEncoding.EncodeToString(b)
}

// Change is the input of Update: the fields given change.
type Change struct {
	ID          pulid.ID
	URL         *string
	Enabled     *bool
	Description *string
	// RotateSecret makes a new secret (shown once, in the answer); the old
	// one signs too for RotationOverlap.
	RotateSecret *bool
}

// Update changes an endpoint (admin).
func Update(ctx context.Context, client *ent.Client, allow Allowlist, in Change) (*Created, error) {
	if err := mayManage(ctx); err != nil {
		return nil, err
	}
	if in.URL != nil {
		if err := allow.Check("input.url", *in.URL); err != nil {
			return nil, err
		}
	}
	if in.Description != nil && len([]rune(*in.Description)) > 500 {
		return nil, apperr.Input("input.description", "at most 500 characters")
	}
	old, err := client.WebhookEndpoint.Get(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	u := old.Update().SetNillableURL(in.URL).SetNillableEnabled(in.Enabled).SetNillableDescription(in.Description)
	var secret *string
	if in.RotateSecret != nil && *in.RotateSecret {
		s := NewSecret()
		secret = &s
		u.SetSecret(s).SetPreviousSecret(old.Secret).SetPreviousSecretUntil(clock.Now(ctx).Add(RotationOverlap).UTC())
	}
	e, err := u.Save(ctx)
	if err != nil {
		return nil, err
	}
	return &Created{WebhookEndpoint: e, Secret: secret}, nil
}

// Delete removes an endpoint and its delivery log (admin).
func Delete(ctx context.Context, client *ent.Client, id pulid.ID) error {
	if err := mayManage(ctx); err != nil {
		return err
	}
	return client.WebhookEndpoint.DeleteOneID(id).Exec(ctx)
}

// Replay sends a delivery again (admin): PENDING at once, with a new window
// of retries. Order holds: it goes before the endpoint's later pending ones.
func Replay(ctx context.Context, client *ent.Client, id pulid.ID) (*ent.WebhookDelivery, error) {
	if err := mayManage(ctx); err != nil {
		return nil, err
	}
	now := clock.Now(ctx).UTC()
	return client.WebhookDelivery.UpdateOneID(id).
		SetStatus(webhookdelivery.StatusPENDING).SetAttempts(0).ClearLastError().ClearDeliveredAt().
		SetNextAttemptAt(now).SetGiveUpAt(now.Add(Window)).
		Save(ctx)
}

// Endpoints lists the endpoints (admin), oldest first.
func Endpoints(ctx context.Context, client *ent.Client) ([]*ent.WebhookEndpoint, error) {
	if err := mayManage(ctx); err != nil {
		return nil, err
	}
	return client.WebhookEndpoint.Query().Order(ent.Asc(webhookendpoint.FieldCreatedAt), ent.Asc(webhookendpoint.FieldID)).All(ctx)
}

// MaxPage is the largest page of deliveries.
const MaxPage = 100

// Page is a page of an endpoint's delivery log, newest change first.
type Page struct {
	Deliveries []*ent.WebhookDelivery
	HasNext    bool
}

// Deliveries reads an endpoint's delivery log (admin), newest change first,
// after the delivery whose id is after, perhaps of one status.
func Deliveries(ctx context.Context, client *ent.Client, endpointID pulid.ID, first int, after *pulid.ID, status *webhookdelivery.Status) (*Page, error) {
	if err := mayManage(ctx); err != nil {
		return nil, err
	}
	if first < 0 || first > MaxPage {
		return nil, apperr.Input("first", "between 0 and %d", MaxPage)
	}
	if _, err := client.WebhookEndpoint.Get(ctx, endpointID); err != nil {
		return nil, err
	}
	q := client.WebhookDelivery.Query().Where(webhookdelivery.EndpointID(endpointID))
	if after != nil {
		d, err := client.WebhookDelivery.Query().Where(webhookdelivery.ID(*after), webhookdelivery.EndpointID(endpointID)).Only(ctx)
		if err != nil {
			return nil, apperr.Input("after", "not a delivery of this endpoint")
		}
		q.Where(webhookdelivery.SeqLT(d.Seq))
	}
	if status != nil {
		q.Where(webhookdelivery.StatusEQ(*status))
	}
	rows, err := q.Order(ent.Desc(webhookdelivery.FieldSeq)).Limit(first + 1).All(ctx)
	if err != nil {
		return nil, err
	}
	p := &Page{Deliveries: rows}
	if len(rows) > first {
		p.HasNext, p.Deliveries = true, rows[:first]
	}
	return p, nil
}

// mayManage lets admins manage webhooks; anyone else is refused before
// anything is read (the policies would show them nothing anyway).
func mayManage(ctx context.Context) error {
	v := auth.FromContext(ctx)
	switch {
	case v == nil:
		return rule.ErrUnauthenticated
	case v.Role == auth.RoleAdmin || v.Role == auth.RoleSystem:
		return nil
	}
	return apperr.New(apperr.Forbidden, "webhooks are managed by admins")
}
