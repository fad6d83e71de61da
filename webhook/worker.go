package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"entgo.io/ent/dialect/sql"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/webhookdelivery"
	"estatecrm/ent/webhookendpoint"
	"estatecrm/listing"
	"estatecrm/outbox"
	"estatecrm/tracing"
)

// Defaults of a Worker.
const (
	DefaultPoll    = time.Second
	DefaultLease   = time.Minute
	DefaultTimeout = 15 * time.Second
	// FirstRetry is the delay after a first failure; each next one doubles,
	// up to MaxRetry (with jitter: between half and all of it).
	FirstRetry = 5 * time.Second
	MaxRetry   = time.Hour
	// fillBatch is the most changes one step copies into an endpoint's deliveries.
	fillBatch = 500
	// sendBatch is the most deliveries one claim of an endpoint sends.
	sendBatch = 100
	// parallel is the most endpoints one worker sends to at once.
	parallel = 8
	// recordTimeout bounds the recording of an attempt made as the worker stops.
	recordTimeout = 5 * time.Second
)

// Worker fills the endpoints' deliveries from the change log (the outbox's
// listing events) and sends them. Several
// workers (processes) may run on one database: each endpoint's deliveries
// are sent by one of them at a time, the holder of a lease on the
// endpoint's row, taken by a conditional UPDATE (lease free or expired)
// that PostgreSQL's row lock serialises (and SQLite's single writer). A
// lease, not `SELECT … FOR UPDATE SKIP LOCKED` on deliveries: order per
// endpoint needs one sender per endpoint, not per delivery (a second
// worker skipping a locked change N would send N+1 first), and the HTTP
// call must not run inside a database transaction. A lease rather than an
// advisory lock: it works the same on SQLite, and a process that dies
// leaves a lease that expires instead of a session to time out. Every
// result is recorded only while the lease is still the worker's (renewed on
// each record); a worker that lost it stops, and at worst the new holder
// sends that one change again (at least once).
type Worker struct {
	Client *ent.Client
	// HTTP sends the requests; nil means a client with DefaultTimeout that
	// follows no redirect.
	HTTP *http.Client
	// Now is the worker's clock; nil means time.Now.
	Now func() time.Time
	// Jitter returns a number in [0, 1) that places a retry between half
	// and all of its backoff; nil means a random one.
	Jitter func() float64
	// Poll is the pause between two rounds; 0 means DefaultPoll.
	Poll time.Duration
	// Lease is how long a worker holds an endpoint without recording a
	// result; 0 means DefaultLease. It must exceed the HTTP timeout.
	Lease  time.Duration
	Logger *slog.Logger
	// Tracer, if not nil, gives each endpoint's turn of sending a trace of
	// its own (see package tracing).
	Tracer trace.TracerProvider
	// Wake, when set, starts a round before the poll's pause is over: the
	// live hub signals each event of the outbox that may change a listing
	// (live.Hub.ListingsChanged), so that a change is sent in
	// milliseconds, not up to a Poll later. The poll stays the safety net.
	Wake <-chan struct{}

	once  sync.Once
	owner string
}

func (w *Worker) init() {
	w.once.Do(func() {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		w.owner = hex.EncodeToString(b)
		if w.HTTP == nil {
			w.HTTP = &http.Client{Timeout: DefaultTimeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		}
		if w.Now == nil {
			w.Now = time.Now
		}
		if w.Jitter == nil {
			w.Jitter = mrand.Float64
		}
		if w.Poll <= 0 {
			w.Poll = DefaultPoll
		}
		if w.Lease <= 0 {
			w.Lease = DefaultLease
		}
		if w.Logger == nil {
			w.Logger = slog.Default()
		}
	})
}

// Run runs rounds every Poll (at once again after one that sent
// something), and prunes the log hourly, until ctx ends.
func (w *Worker) Run(ctx context.Context) {
	w.init()
	t := time.NewTicker(w.Poll)
	defer t.Stop()
	var pruned time.Time
	number := true
	for {
		if now := w.now(); now.Sub(pruned) >= time.Hour {
			if _, err := Prune(auth.SystemContext(ctx), w.Client, now); err != nil && ctx.Err() == nil {
				w.Logger.Warn("pruning webhook deliveries", "err", err.Error())
			}
			pruned = now
		}
		// Rounds follow one another while they find work (a claim sends at
		// most sendBatch), then pause.
		for {
			n, err := w.round(ctx, number)
			number = true
			if err != nil && ctx.Err() == nil {
				w.Logger.Warn("webhook deliveries", "err", err.Error())
			}
			if n == 0 || err != nil || ctx.Err() != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-w.Wake:
			// The hub signals an event it read, numbered: the listing
			// lines of its transaction were numbered in the same run, so
			// the round needs no run of the sequencer. Under a stream of
			// writes such runs were a third of the sequencer's, waited on
			// the hub's for the advisory lock, and each that numbered
			// something woke the hub (its NOTIFY carries no hub's token),
			// whose read woke the worker again: a loop that cost a fifth
			// of the processor time of a hold (issue 10).
			number = false
		}
	}
}

// Retention is how long the log keeps a delivery once it succeeded or
// failed, as long as the change log keeps its change.
const Retention = listing.Retention

// Prune removes the deliveries done (SUCCEEDED or FAILED) more than
// Retention before now; pending ones stay, whatever their age.
func Prune(ctx context.Context, client *ent.Client, now time.Time) (int, error) {
	return client.WebhookDelivery.Delete().
		Where(webhookdelivery.StatusNEQ(webhookdelivery.StatusPENDING), webhookdelivery.UpdatedAtLT(now.Add(-Retention))).
		Exec(ctx)
}

// Round fills the deliveries (Fill) and sends what is due (Send); it returns
// how many deliveries were attempted.
func (w *Worker) Round(ctx context.Context) (int, error) { return w.round(ctx, true) }

// round is Round; number says whether Fill numbers the outbox first.
func (w *Worker) round(ctx context.Context, number bool) (int, error) {
	if _, err := w.fillAll(ctx, number); err != nil {
		return 0, err
	}
	return w.Send(ctx)
}

// Fill numbers the outbox's waiting events (outbox.Sequence) and writes a
// delivery for each numbered line of the listing change log (package
// listing: events of the outbox) after each enabled endpoint's cursor (a
// position in the outbox) that the endpoint may see, in sequence order,
// advancing the cursor in the same transaction (a compare-and-set: of two
// workers filling at once, one writes, the other finds the cursor moved and
// leaves it). It returns how many deliveries it wrote. The event stays the
// outbox's; a delivery row is its sending to one endpoint (attempts,
// retries, status).
func (w *Worker) Fill(ctx context.Context) (int, error) { return w.fillAll(ctx, true) }

// fillAll is Fill; without number it leaves the outbox's numbering to the
// hub that woke the worker.
func (w *Worker) fillAll(ctx context.Context, number bool) (int, error) {
	w.init()
	ctx = auth.SystemContext(ctx)
	if number {
		if _, err := outbox.Sequence(ctx, w.Client); err != nil {
			return 0, err
		}
	}
	eps, err := w.Client.WebhookEndpoint.Query().Where(webhookendpoint.Enabled(true)).WithAPIKey().All(ctx)
	if err != nil {
		return 0, err
	}
	total := 0
	for _, e := range eps {
		for {
			n, err := w.fill(ctx, e)
			total += n
			if err != nil {
				return total, err
			}
			if n < fillBatch {
				break
			}
		}
	}
	return total, nil
}

func (w *Worker) fill(ctx context.Context, e *ent.WebhookEndpoint) (int, error) {
	var projects []pulid.ID
	every := true
	if e.APIKeyID != nil {
		k := e.Edges.APIKey
		if k == nil || !k.Active {
			return 0, nil // a revoked key's portal receives nothing
		}
		if len(k.ProjectIds) > 0 {
			projects, every = k.ProjectIds, false
		}
	}
	changes, err := listing.Lines(ctx, w.Client, e.Cursor, projects, every, fillBatch)
	if err != nil || len(changes) == 0 {
		return 0, err
	}
	now := w.now()
	last := changes[len(changes)-1].Seq
	tx, err := w.Client.Tx(ctx)
	if err != nil {
		return 0, err
	}
	moved, err := tx.WebhookEndpoint.Update().
		Where(webhookendpoint.ID(e.ID), webhookendpoint.Cursor(e.Cursor)).SetCursor(last).Save(ctx)
	if err != nil || moved == 0 {
		_ = tx.Rollback()
		return 0, err // moved == 0: another worker filled it
	}
	rows := make([]*ent.WebhookDeliveryCreate, len(changes))
	for i, c := range changes {
		rows[i] = tx.WebhookDelivery.Create().SetEndpointID(e.ID).SetSeq(c.Seq).SetListingID(c.ListingID).
			SetKind(webhookdelivery.Kind(c.Kind)).SetAt(c.At).
			SetNextAttemptAt(now).SetGiveUpAt(now.Add(Window))
	}
	if err := tx.WebhookDelivery.CreateBulk(rows...).Exec(ctx); err != nil {
		_ = tx.Rollback()
		return 0, err
	}
	e.Cursor = last
	return len(changes), tx.Commit()
}

// Send claims the endpoints with a delivery due and sends their deliveries,
// each endpoint's in order, up to parallel endpoints at once; it returns
// how many deliveries it attempted.
func (w *Worker) Send(ctx context.Context) (int, error) {
	w.init()
	ctx = auth.SystemContext(ctx)
	now := w.now()
	ids, err := w.Client.WebhookDelivery.Query().
		Where(webhookdelivery.StatusEQ(webhookdelivery.StatusPENDING), webhookdelivery.NextAttemptAtLTE(now), head,
			webhookdelivery.HasEndpointWith(webhookendpoint.Enabled(true),
				webhookendpoint.Or(webhookendpoint.LeaseUntilIsNil(), webhookendpoint.LeaseUntilLTE(now)))).
		Unique(true).Select(webhookdelivery.FieldEndpointID).Strings(ctx)
	if err != nil {
		return 0, err
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		total int
		first error
		sem   = make(chan struct{}, parallel)
	)
	for _, id := range ids {
		ok, err := w.claim(ctx, pulid.ID(id))
		if err != nil {
			return total, err
		}
		if !ok {
			continue // another worker holds it
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			sctx, span := tracing.Root(ctx, w.Tracer, "webhook delivery", endpointKey.String(id))
			n, err := w.sendEndpoint(sctx, pulid.ID(id))
			span.SetAttributes(attemptsKey.Int(n))
			tracing.End(span, err)
			mu.Lock()
			defer mu.Unlock()
			total += n
			if err != nil && first == nil {
				first = err
			}
		}()
	}
	wg.Wait()
	return total, first
}

// head keeps the first pending delivery of each endpoint: an endpoint
// whose first one waits for its retry is not claimed for the later ones,
// which wait behind it (index endpoint_id, status, seq).
func head(s *sql.Selector) {
	older := sql.Table(webhookdelivery.Table).As("older")
	s.Where(sql.NotExists(sql.Select(older.C(webhookdelivery.FieldID)).From(older).Where(sql.And(
		sql.ColumnsEQ(older.C(webhookdelivery.FieldEndpointID), s.C(webhookdelivery.FieldEndpointID)),
		sql.EQ(older.C(webhookdelivery.FieldStatus), webhookdelivery.StatusPENDING.String()),
		sql.ColumnsLT(older.C(webhookdelivery.FieldSeq), s.C(webhookdelivery.FieldSeq)),
	))))
}

// claim takes the endpoint's lease if it is free or expired.
func (w *Worker) claim(ctx context.Context, id pulid.ID) (bool, error) {
	now := w.now()
	n, err := w.Client.WebhookEndpoint.Update().
		Where(webhookendpoint.ID(id), webhookendpoint.Enabled(true),
			webhookendpoint.Or(webhookendpoint.LeaseUntilIsNil(), webhookendpoint.LeaseUntilLTE(now))).
		SetLeaseOwner(w.owner).SetLeaseUntil(now.Add(w.Lease)).Save(ctx)
	return n == 1, err
}

// release gives the lease back, if it is still the worker's.
func (w *Worker) release(ctx context.Context, id pulid.ID) error {
	return w.Client.WebhookEndpoint.Update().
		Where(webhookendpoint.ID(id), webhookendpoint.LeaseOwner(w.owner)).
		ClearLeaseOwner().ClearLeaseUntil().Exec(ctx)
}

// now is the worker's clock to the microsecond, as PostgreSQL keeps time
// (it rounds): a time written and read back compares equal.
func (w *Worker) now() time.Time { return w.Now().UTC().Truncate(time.Microsecond) }

var errLostLease = errors.New("webhook: lease lost")

// sendEndpoint sends the endpoint's due deliveries in sequence order until
// one fails (it waits for its retry: nothing after it goes first), none is
// due, or sendBatch were sent.
func (w *Worker) sendEndpoint(ctx context.Context, id pulid.ID) (int, error) {
	sent := 0
	defer func() { _ = w.release(context.WithoutCancel(ctx), id) }()
	// The key as it is now, not as it was when the deliveries were queued
	// (fill): a revoked key's portal gets nothing more, a narrowed one only
	// the projects it still covers (SPEC §3.4: within seconds).
	e, err := w.Client.WebhookEndpoint.Query().Where(webhookendpoint.ID(id)).WithAPIKey().Only(ctx)
	if err != nil {
		return 0, err
	}
	if e.APIKeyID != nil && (e.Edges.APIKey == nil || !e.Edges.APIKey.Active) {
		return 0, nil // they wait: a key made active again sends them
	}
	for sent < sendBatch {
		d, err := w.Client.WebhookDelivery.Query().
			Where(webhookdelivery.EndpointID(id), webhookdelivery.StatusEQ(webhookdelivery.StatusPENDING)).
			Order(ent.Asc(webhookdelivery.FieldSeq)).First(ctx)
		if ent.IsNotFound(err) {
			return sent, nil
		}
		if err != nil {
			return sent, err
		}
		if d.NextAttemptAt.After(w.now()) {
			return sent, nil // the head waits for its retry; so do the rest
		}
		if visible, err := w.stillCovered(ctx, e, d); err != nil {
			return sent, err
		} else if !visible {
			if err := w.Client.WebhookDelivery.DeleteOne(d).Exec(ctx); err != nil {
				return sent, err
			}
			continue
		}
		errText := w.attempt(ctx, e, d)
		sent++
		if errText != "" && ctx.Err() != nil {
			return sent, nil // stopped mid-attempt: the next holder sends it, with no retry delay
		}
		// An attempt made is recorded even when the worker is being stopped
		// (shutdown, or the deployment's lease handed over): otherwise the
		// next holder sends a delivered change again.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
		ok, err := w.record(rctx, e, d, errText)
		cancel()
		if err != nil {
			if errors.Is(err, errLostLease) {
				w.Logger.Warn("webhook endpoint lease lost: another worker continues", "endpoint", string(id))
			}
			return sent, err
		}
		if !ok {
			return sent, nil
		}
	}
	return sent, nil
}

// stillCovered reports whether d's change is of a project e's key still
// covers. A change already pruned from the log is not: its project is no
// longer known.
func (w *Worker) stillCovered(ctx context.Context, e *ent.WebhookEndpoint, d *ent.WebhookDelivery) (bool, error) {
	k := e.Edges.APIKey
	if k == nil || len(k.ProjectIds) == 0 {
		return true, nil
	}
	c, kept, err := listing.LineAt(ctx, w.Client, d.Seq)
	if err != nil || !kept {
		return false, err
	}
	return slices.Contains(k.ProjectIds, c.ProjectID), nil
}

// Payload is the JSON body of a delivery.
type Payload struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      Data      `json:"data"`
}

// Data is a change of the listing log, as listingChanges reads it.
type Data struct {
	Sequence  int64     `json:"sequence"`
	ListingID pulid.ID  `json:"listingId"`
	Kind      string    `json:"kind"`
	At        time.Time `json:"at"`
}

// EventType is the type of every delivery.
const EventType = "listing.changed"

// The attributes of a webhook delivery's spans: ids, never the URL (it may
// hold a token) or the body.
const (
	endpointKey = attribute.Key("webhook.endpoint_id")
	attemptsKey = attribute.Key("webhook.attempts")
	deliveryKey = attribute.Key("webhook.delivery_id")
)

// attempt POSTs the delivery and returns "" on a 2xx answer, otherwise what
// went wrong (a status, or the network error without the URL). The portal's
// server is not ours: no traceparent goes to it.
func (w *Worker) attempt(ctx context.Context, e *ent.WebhookEndpoint, d *ent.WebhookDelivery) (errText string) {
	ctx, span := tracing.Start(ctx, "POST webhook", trace.SpanKindClient, deliveryKey.String(string(d.ID)))
	defer func() {
		if errText != "" {
			code := "failed" // not sent: the network, the URL, the secret
			if status, ok := strings.CutPrefix(errText, "HTTP "); ok {
				code = status
			}
			tracing.Fail(span, code)
		}
		span.End()
	}()
	now := w.now()
	body, err := json.Marshal(Payload{Type: EventType, Timestamp: now.Truncate(time.Second),
		Data: Data{Sequence: d.Seq, ListingID: d.ListingID, Kind: d.Kind.String(), At: d.At.UTC()}})
	if err != nil {
		return "encoding the payload: " + err.Error()
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	secrets := []string{e.Secret}
	if e.PreviousSecret != nil && e.PreviousSecretUntil != nil && now.Before(*e.PreviousSecretUntil) {
		secrets = append(secrets, *e.PreviousSecret)
	}
	var sigs []string
	for _, s := range secrets {
		sig, err := Sign(s, string(d.ID), ts, body)
		if err != nil {
			return "the endpoint's secret is not a whsec_ secret"
		}
		sigs = append(sigs, sig)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL, bytes.NewReader(body))
	if err != nil {
		return "building the request: the URL is not valid"
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "estatecrm-webhooks/1")
	req.Header.Set("webhook-id", string(d.ID))
	req.Header.Set("webhook-timestamp", ts)
	req.Header.Set("webhook-signature", strings.Join(sigs, " "))
	res, err := w.HTTP.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) { // its text repeats the URL, which may hold a token
			err = ue.Err
		}
		return truncate(err.Error())
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	if res.StatusCode/100 != 2 {
		return fmt.Sprintf("HTTP %d", res.StatusCode)
	}
	return ""
}

func truncate(s string) string {
	if r := []rune(s); len(r) > 300 {
		return string(r[:300]) + "…"
	}
	return s
}

// Sign is the Standard Webhooks signature "v1,<base64 HMAC-SHA256>" of
// "id.timestamp.body" under a whsec_ secret.
func Sign(secret, id, timestamp string, body []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, secretPrefix))
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + timestamp + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// Backoff is the delay before the retry that follows the attempt-th
// failure: FirstRetry doubled each time, at most MaxRetry. A retry is
// placed between half and all of it (jitter).
func Backoff(attempt int) time.Duration {
	d := FirstRetry
	for i := 1; i < attempt && d < MaxRetry; i++ {
		d *= 2
	}
	return min(d, MaxRetry)
}

// record writes the attempt's result, while the endpoint's lease is still
// the worker's (renewing it); it reports whether the delivery is done
// (SUCCEEDED or FAILED), so the next one may go.
func (w *Worker) record(ctx context.Context, e *ent.WebhookEndpoint, d *ent.WebhookDelivery, errText string) (bool, error) {
	now := w.now()
	tx, err := w.Client.Tx(ctx)
	if err != nil {
		return false, err
	}
	held, err := tx.WebhookEndpoint.Update().
		Where(webhookendpoint.ID(e.ID), webhookendpoint.LeaseOwner(w.owner)).
		SetLeaseUntil(now.Add(w.Lease)).Save(ctx)
	if err == nil && held == 0 {
		err = errLostLease
	}
	if err != nil {
		_ = tx.Rollback()
		return false, err
	}
	u := tx.WebhookDelivery.UpdateOneID(d.ID).SetAttempts(d.Attempts + 1)
	giveUp := d.GiveUpAt
	if d.Attempts == 0 { // the window starts with the first attempt, not while queued
		giveUp = now.Add(Window)
		u.SetGiveUpAt(giveUp)
	}
	done := true
	switch {
	case errText == "":
		u.SetStatus(webhookdelivery.StatusSUCCEEDED).SetDeliveredAt(now).ClearLastError()
	case !now.Before(giveUp):
		u.SetStatus(webhookdelivery.StatusFAILED).SetLastError(errText)
	default:
		b := Backoff(d.Attempts + 1)
		wait := b/2 + time.Duration(w.Jitter()*float64(b/2))
		u.SetNextAttemptAt(now.Add(wait)).SetLastError(errText)
		done = false
	}
	if err := u.Exec(ctx); err != nil {
		_ = tx.Rollback()
		return false, err
	}
	return done, tx.Commit()
}
