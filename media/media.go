// Package media keeps the photos and floor plans (户型图) of projects, of
// their buildings and of their layouts (issue 12): admins and a project's
// managers upload, caption, order and remove them; once the project is
// published, portals list them and anyone may load their files from stable,
// cacheable URLs. Who may do what is the privacy rules' (rule.MediaPolicy);
// this package checks the content and keeps the order.
//
// A file is checked by its content as complaint photos are (package photo:
// the type sniffed, never trusted from the client, a size and a pixel
// limit, a JPEG's GPS position blanked) and its header is decoded with the
// standard library. Media are shown to anyone's browser, so only the two
// formats every browser shows and the standard library decodes are taken:
// JPEG and PNG. A PDF floor plan is refused: checking a PDF safely (it may
// carry scripts, forms and embedded files) is more than this package can
// promise.
//
// The file is streamed into storage before the row is written, so a large
// upload does not hold a transaction; a row that is not written (refused,
// rolled back) takes its file with it.
package media

import (
	"context"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // the decode check of JPEG files
	_ "image/png"  // and of PNG ones
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"

	"estatecrm/apperr"
	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/building"
	"estatecrm/ent/media"
	"estatecrm/ent/predicate"
	"estatecrm/ent/project"
	"estatecrm/ent/schema/pulid"
	"estatecrm/photo"
	"estatecrm/rule"
	"estatecrm/storage"
)

// Limits of media.
const (
	// MaxBytes is the largest file, as for complaint photos (the upload
	// transport stops any file there).
	MaxBytes = 10 << 20
	// MaxPerPlace is the most items of one kind a project, a building or a
	// layout has: a gallery, not an archive.
	MaxPerPlace = 50
	// MaxCaption is the longest caption, in characters.
	MaxCaption = 200
	// prefix names media files in storage, apart from complaint photos.
	prefix = "media"
)

// Prefix is the storage prefix of media files (see SweepOrphans).
const Prefix = prefix

// Library keeps media files in a store.
type Library struct {
	// Store keeps the files; nil refuses uploads.
	Store storage.Store
}

// Upload is a new item: of a project (ProjectID alone), of a layout of a
// project (ProjectID and Layout) or of a building (BuildingID).
type Upload struct {
	ProjectID  *pulid.ID
	BuildingID *pulid.ID
	Layout     *string
	Kind       media.Kind
	Caption    *string
	// Position puts the item there among its place's items of its kind
	// (0 first); nil puts it last.
	Position *int
	File     *graphql.Upload
}

// Change captions or moves an item.
type Change struct {
	ID      pulid.ID
	Caption *string
	// Position moves the item there among its place's items of its kind,
	// the others keeping their order; past the end means last.
	Position *int
}

// place is where an item belongs.
type place struct {
	project  pulid.ID
	building *pulid.ID
	layout   *string
}

// where matches the items of the place (and of kind).
func (p place) where(kind media.Kind) predicate.Media {
	ps := []predicate.Media{media.ProjectID(p.project), media.KindEQ(kind)}
	switch {
	case p.building != nil:
		ps = append(ps, media.BuildingID(*p.building))
	case p.layout != nil:
		ps = append(ps, media.BuildingIDIsNil(), media.Layout(*p.layout))
	default:
		ps = append(ps, media.BuildingIDIsNil(), media.LayoutIsNil())
	}
	return media.And(ps...)
}

func placeOf(m *ent.Media) place {
	return place{project: m.ProjectID, building: m.BuildingID, layout: m.Layout}
}

// LayoutCode is the code of a layout as units carry it:
// bedrooms-livingRooms-bathrooms, "3-2-2" (3室2厅2卫).
func LayoutCode(bedrooms, livingRooms, bathrooms int) string {
	return strconv.Itoa(bedrooms) + "-" + strconv.Itoa(livingRooms) + "-" + strconv.Itoa(bathrooms)
}

// ParseLayout checks a layout code within the ranges a unit allows
// (bedrooms 0–10, living rooms 0–5, bathrooms 0–6) and returns it in its
// canonical form ("03-2-2" is "3-2-2").
func ParseLayout(s string) (string, error) {
	parts := strings.Split(strings.TrimSpace(s), "-")
	bad := fmt.Errorf("a layout is bedrooms-livingRooms-bathrooms, like 3-2-2 (at most 10-5-6)")
	if len(parts) != 3 {
		return "", bad
	}
	var n [3]int
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 || v > [3]int{10, 5, 6}[i] || len(p) > 2 {
			return "", bad
		}
		n[i] = v
	}
	return LayoutCode(n[0], n[1], n[2]), nil
}

// UnitLayout is the layout code of a unit.
func UnitLayout(u *ent.Unit) string { return LayoutCode(u.Bedrooms, u.LivingRooms, u.Bathrooms) }

// resolve checks where an upload goes, as the viewer sees it: a project or
// a building they cannot see is not found.
func resolve(ctx context.Context, client *ent.Client, in Upload) (place, error) {
	switch {
	case in.BuildingID != nil && (in.ProjectID != nil || in.Layout != nil):
		return place{}, apperr.Input("input.buildingId", "give a buildingId alone, or a projectId (with a layout for a layout's media)")
	case in.BuildingID != nil:
		if !ent.IDOfType(*in.BuildingID, building.Table) {
			return place{}, apperr.Input("input.buildingId", "not the ID of a building")
		}
		b, err := client.Building.Query().Where(building.ID(*in.BuildingID)).Select(building.FieldID, building.FieldProjectID).Only(ctx)
		if err != nil {
			return place{}, notFound("input.buildingId", "no such building", err)
		}
		return place{project: b.ProjectID, building: &b.ID}, nil
	case in.ProjectID != nil:
		if !ent.IDOfType(*in.ProjectID, project.Table) {
			return place{}, apperr.Input("input.projectId", "not the ID of a project")
		}
		id, err := client.Project.Query().Where(project.ID(*in.ProjectID)).OnlyID(ctx)
		if err != nil {
			return place{}, notFound("input.projectId", "no such project", err)
		}
		p := place{project: id}
		if in.Layout != nil {
			l, err := ParseLayout(*in.Layout)
			if err != nil {
				return place{}, apperr.Input("input.layout", "%s", err)
			}
			p.layout = &l
		}
		return p, nil
	}
	return place{}, apperr.Input("input.projectId", "give a projectId (with a layout for a layout's media) or a buildingId")
}

// notFound answers a read that found nothing (or nothing the viewer may
// see) as NOT_FOUND naming field; other errors pass.
func notFound(field, msg string, err error) error {
	if ent.IsNotFound(err) {
		e := apperr.New(apperr.NotFound, "%s", msg)
		e.Field = field
		return e
	}
	return err
}

func checkCaption(c *string) (string, error) {
	if c == nil {
		return "", nil
	}
	s := strings.TrimSpace(*c)
	if utf8.RuneCountInString(s) > MaxCaption {
		return "", apperr.Input("input.caption", "a caption is at most %d characters", MaxCaption)
	}
	return s, nil
}

// Add checks an upload, stores its file and records it at its position.
// Outside a transaction it opens its own once the file is stored; inside
// one, a rollback removes the file.
func (l *Library) Add(ctx context.Context, client *ent.Client, in Upload) (*ent.Media, error) {
	v := auth.FromContext(ctx)
	if v == nil {
		return nil, rule.ErrUnauthenticated
	}
	if err := media.KindValidator(in.Kind); err != nil {
		return nil, apperr.Input("input.kind", "PHOTO or FLOOR_PLAN")
	}
	caption, err := checkCaption(in.Caption)
	if err != nil {
		return nil, err
	}
	if in.Position != nil && *in.Position < 0 {
		return nil, apperr.Input("input.position", "a position is 0 or more")
	}
	if in.File == nil || in.File.File == nil {
		return nil, apperr.Input("input.file", "send the file")
	}
	p, err := resolve(ctx, client, in)
	if err != nil {
		return nil, err
	}
	// Asked before the file is stored, so that a refused writer costs no
	// storage; the policy decides again on the write.
	if !rule.MayManageMedia(v, p.project) {
		return nil, apperr.New(apperr.Forbidden, "only an admin or the project's manager adds media")
	}
	if l == nil || l.Store == nil {
		return nil, apperr.New(apperr.Unavailable, "media storage is not configured")
	}
	f, err := l.store(ctx, in.File.File, in.File.Size)
	if err != nil {
		return nil, err
	}
	discard := func() { _ = l.Store.Delete(context.WithoutCancel(ctx), f.key) }
	if tx := ent.TxFromContext(ctx); tx != nil {
		tx.OnRollback(func(next ent.Rollbacker) ent.Rollbacker {
			return ent.RollbackFunc(func(rctx context.Context, tx *ent.Tx) error {
				err := next.Rollback(rctx, tx)
				discard()
				return err
			})
		})
		m, err := insert(ctx, client, p, in, caption, f)
		if err != nil {
			discard()
		}
		return m, err
	}
	tx, err := client.Tx(ctx)
	if err != nil {
		discard()
		return nil, err
	}
	m, err := insert(ent.NewContext(ent.NewTxContext(ctx, tx), tx.Client()), tx.Client(), p, in, caption, f)
	if err == nil {
		err = tx.Commit()
	} else {
		_ = tx.Rollback()
	}
	if err != nil {
		discard()
		return nil, err
	}
	return m.Unwrap(), nil
}

// insert writes the row of a stored file at its position among its
// siblings, moving those after it down by one.
func insert(ctx context.Context, client *ent.Client, p place, in Upload, caption string, f stored) (*ent.Media, error) {
	siblings, err := client.Media.Query().Where(p.where(in.Kind)).
		Order(ent.Asc(media.FieldPosition), ent.Asc(media.FieldID)).
		Select(media.FieldID, media.FieldPosition).All(ctx)
	if err != nil {
		return nil, err
	}
	if len(siblings) >= MaxPerPlace {
		return nil, apperr.Input("input.file", "at most %d items of a kind in one place; remove one first", MaxPerPlace)
	}
	at := len(siblings)
	if in.Position != nil && *in.Position < at {
		at = *in.Position
	}
	create := client.Media.Create().SetProjectID(p.project).SetNillableBuildingID(p.building).
		SetNillableLayout(p.layout).SetKind(in.Kind).SetCaption(caption).SetPosition(at).
		SetStorageKey(f.key).SetContentType(f.clean.ContentType).SetSizeBytes(f.clean.Size).
		SetSha256(f.clean.SHA256).SetWidth(f.width).SetHeight(f.height)
	m, err := create.Save(ctx)
	if err != nil {
		return nil, err
	}
	order := make([]pulid.ID, 0, len(siblings)+1)
	for _, s := range siblings {
		order = append(order, s.ID)
	}
	order = append(order[:at], append([]pulid.ID{m.ID}, order[at:]...)...)
	if err := renumber(ctx, client, order, positions(siblings, m)); err != nil {
		return nil, err
	}
	return m, nil
}

// positions maps the items to their stored positions.
func positions(items []*ent.Media, more ...*ent.Media) map[pulid.ID]int {
	m := make(map[pulid.ID]int, len(items)+len(more))
	for _, it := range append(items, more...) {
		m[it.ID] = it.Position
	}
	return m
}

// renumber gives the items of order the positions 0, 1, … writing only
// those that move.
func renumber(ctx context.Context, client *ent.Client, order []pulid.ID, stored map[pulid.ID]int) error {
	for i, id := range order {
		if stored[id] == i {
			continue
		}
		if err := client.Media.UpdateOneID(id).SetPosition(i).Exec(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Update captions or moves an item (admins and the project's managers).
func Update(ctx context.Context, client *ent.Client, ch Change) (*ent.Media, error) {
	if !ent.IDOfType(ch.ID, media.Table) {
		return nil, apperr.Input("input.id", "not the ID of a media item")
	}
	m, err := client.Media.Get(ctx, ch.ID)
	if err != nil {
		return nil, notFound("input.id", "no such media item", err)
	}
	if ch.Position != nil && *ch.Position < 0 {
		return nil, apperr.Input("input.position", "a position is 0 or more")
	}
	// The item's own row is written first, whatever the change (its
	// updated_at at least): the privacy rules decide there, before any
	// other item moves, so a viewer who sees the item but may not change it
	// is refused with nothing changed.
	up := client.Media.UpdateOneID(m.ID)
	if ch.Caption != nil {
		caption, err := checkCaption(ch.Caption)
		if err != nil {
			return nil, err
		}
		up.SetCaption(caption)
	}
	if m, err = up.Save(ctx); err != nil {
		return nil, err
	}
	if ch.Position == nil {
		return m, nil
	}
	siblings, err := client.Media.Query().Where(placeOf(m).where(m.Kind)).
		Order(ent.Asc(media.FieldPosition), ent.Asc(media.FieldID)).
		Select(media.FieldID, media.FieldPosition).All(ctx)
	if err != nil {
		return nil, err
	}
	order := make([]pulid.ID, 0, len(siblings))
	for _, s := range siblings {
		if s.ID != m.ID {
			order = append(order, s.ID)
		}
	}
	at := min(*ch.Position, len(order))
	order = append(order[:at], append([]pulid.ID{m.ID}, order[at:]...)...)
	if err := renumber(ctx, client, order, positions(siblings)); err != nil {
		return nil, err
	}
	return client.Media.Get(ctx, m.ID)
}

// Delete removes an item (admins and the project's managers): its row at
// once, its file once the transaction commits, so that a rollback keeps
// both. The items after it move up. It returns the removed item's ID.
//
// Removal is for good, not a soft delete: an item is a picture, with no
// person's data and no history rule to keep, and a portal learns that it
// is gone from the listing it belonged to. Its URL then answers 404.
func (l *Library) Delete(ctx context.Context, client *ent.Client, id pulid.ID) (pulid.ID, error) {
	if !ent.IDOfType(id, media.Table) {
		return "", apperr.Input("input.id", "not the ID of a media item")
	}
	m, err := client.Media.Get(ctx, id)
	if err != nil {
		return "", notFound("input.id", "no such media item", err)
	}
	n, err := client.Media.Delete().Where(media.ID(id)).Exec(ctx)
	if err != nil {
		return "", err
	}
	if n == 0 {
		return "", notFound("input.id", "no such media item", &ent.NotFoundError{})
	}
	siblings, err := client.Media.Query().Where(placeOf(m).where(m.Kind)).
		Order(ent.Asc(media.FieldPosition), ent.Asc(media.FieldID)).
		Select(media.FieldID, media.FieldPosition).All(ctx)
	if err != nil {
		return "", err
	}
	order := make([]pulid.ID, len(siblings))
	for i, s := range siblings {
		order[i] = s.ID
	}
	if err := renumber(ctx, client, order, positions(siblings)); err != nil {
		return "", err
	}
	remove := func() {
		if l != nil && l.Store != nil {
			_ = l.Store.Delete(context.WithoutCancel(ctx), m.StorageKey)
		}
	}
	if tx := ent.TxFromContext(ctx); tx != nil {
		tx.OnCommit(func(next ent.Committer) ent.Committer {
			return ent.CommitFunc(func(cctx context.Context, tx *ent.Tx) error {
				err := next.Commit(cctx, tx)
				if err == nil {
					remove()
				}
				return err
			})
		})
	} else {
		remove()
	}
	return id, nil
}

// List returns the items of a project itself (not of its buildings or
// layouts), of a project's layout, or of a building (projectID is then
// ignored), in order, optionally of one kind: those the viewer may see.
func List(ctx context.Context, client *ent.Client, projectID pulid.ID, buildingID *pulid.ID, layout *string, kind *media.Kind) ([]*ent.Media, error) {
	var (
		each map[pulid.ID][]*ent.Media
		err  error
		id   = projectID
	)
	if buildingID != nil {
		id = *buildingID
		each, err = OfBuildings(ctx, client, []pulid.ID{id}, kind)
	} else {
		each, err = OfProjects(ctx, client, []pulid.ID{id}, layout, kind)
	}
	if err != nil {
		return nil, err
	}
	if each[id] == nil {
		return []*ent.Media{}, nil
	}
	return each[id], nil
}

// OfProjects is List for several projects in one statement: each
// project's own items, or with layout those of that layout of each.
func OfProjects(ctx context.Context, client *ent.Client, ids []pulid.ID, layout *string, kind *media.Kind) (map[pulid.ID][]*ent.Media, error) {
	ps := []predicate.Media{media.ProjectIDIn(ids...), media.BuildingIDIsNil()}
	if layout != nil {
		l, err := ParseLayout(*layout)
		if err != nil {
			return nil, apperr.Input("layout", "%s", err)
		}
		ps = append(ps, media.Layout(l))
	} else {
		ps = append(ps, media.LayoutIsNil())
	}
	return listEach(ctx, client, ps, kind, func(m *ent.Media) pulid.ID { return m.ProjectID })
}

// OfBuildings is List for several buildings in one statement.
func OfBuildings(ctx context.Context, client *ent.Client, ids []pulid.ID, kind *media.Kind) (map[pulid.ID][]*ent.Media, error) {
	return listEach(ctx, client, []predicate.Media{media.BuildingIDIn(ids...)}, kind, func(m *ent.Media) pulid.ID { return *m.BuildingID })
}

func listEach(ctx context.Context, client *ent.Client, ps []predicate.Media, kind *media.Kind, of func(*ent.Media) pulid.ID) (map[pulid.ID][]*ent.Media, error) {
	if kind != nil {
		ps = append(ps, media.KindEQ(*kind))
	}
	items, err := client.Media.Query().Where(ps...).
		Order(ent.Asc(media.FieldKind), ent.Asc(media.FieldPosition), ent.Asc(media.FieldID)).All(ctx)
	if err != nil {
		return nil, err
	}
	out := map[pulid.ID][]*ent.Media{}
	for _, m := range items {
		out[of(m)] = append(out[of(m)], m)
	}
	return out, nil
}

// stored is a checked file in storage, without its row yet.
type stored struct {
	key           string
	clean         photo.Clean
	width, height int
}

// errFormat refuses a content the media do not take.
var errFormat = errors.New("media are JPEG or PNG images")

// store streams src through photo.Copy into storage, then decodes the
// stored file's header; a file refused at either step is removed. size is
// the upload's (0: unknown): photo.Copy keeps the length, so an object
// store can stream the file in one PUT.
func (l *Library) store(ctx context.Context, src io.Reader, size int64) (stored, error) {
	pr, pw := io.Pipe()
	done := make(chan struct{})
	var clean photo.Clean
	var copyErr error
	go func() {
		defer close(done)
		clean, copyErr = photo.Copy(pw, src, MaxBytes)
		if copyErr == nil && clean.ContentType != "image/jpeg" && clean.ContentType != "image/png" {
			copyErr = errFormat
		}
		pw.CloseWithError(copyErr)
	}()
	var body io.Reader = pr
	if size > 0 {
		body = storage.Sized(pr, size)
	}
	key, _, err := l.Store.Put(ctx, prefix, body)
	pr.CloseWithError(io.ErrClosedPipe) // unblock the copier if Put gave up early
	<-done
	if copyErr != nil || err != nil {
		if err == nil {
			_ = l.Store.Delete(context.WithoutCancel(ctx), key)
		}
		switch {
		case errors.Is(copyErr, photo.ErrNotImage), errors.Is(copyErr, errFormat):
			return stored{}, apperr.Input("input.file", "%s; this file is not one", errFormat)
		case errors.Is(copyErr, photo.ErrTooLarge):
			return stored{}, apperr.Input("input.file", "a file is at most %d MB", MaxBytes>>20)
		case errors.Is(copyErr, photo.ErrTooManyPixels):
			return stored{}, apperr.Input("input.file", "%s", copyErr)
		case err != nil:
			return stored{}, err
		}
		return stored{}, apperr.Input("input.file", "the image could not be read: %s", copyErr)
	}
	w, h, err := decodeHeader(ctx, l.Store, key, clean.ContentType)
	if err != nil {
		_ = l.Store.Delete(context.WithoutCancel(ctx), key)
		return stored{}, err
	}
	return stored{key: key, clean: clean, width: w, height: h}, nil
}

// decodeHeader decodes the stored file's header with the standard library:
// a file that sniffs as JPEG or PNG but whose header does not decode (a
// truncated or forged file) is refused, and the item gets its size.
func decodeHeader(ctx context.Context, store storage.Store, key, contentType string) (w, h int, err error) {
	f, _, err := store.Open(ctx, key)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	cfg, format, err := image.DecodeConfig(f)
	if err != nil || "image/"+format != contentType || cfg.Width <= 0 || cfg.Height <= 0 {
		return 0, 0, apperr.Input("input.file", "the image does not decode as a %s", strings.TrimPrefix(contentType, "image/"))
	}
	if int64(cfg.Width)*int64(cfg.Height) > photo.MaxPixels {
		return 0, 0, apperr.Input("input.file", "%s", photo.ErrTooManyPixels)
	}
	return cfg.Width, cfg.Height, nil
}

// URL is where an item's file is served: it names the item and its
// content, so that the content under a URL never changes.
func URL(m *ent.Media) string { return "/media/" + string(m.ID) + "/" + m.Sha256 }
