package guard

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"estatecrm/apperr"
)

// Text refuses an operation any of whose string inputs, written in the
// document or sent as variables, holds a NUL character or is not UTF-8:
// PostgreSQL refuses such text (SQLSTATE 22021) only once a statement runs,
// which would answer INTERNAL, and SQLite would store it. The refusal is
// BAD_USER_INPUT naming the input by its argument path (input.notes,
// where.nameContains, input.unitIds.2), before anything runs, for every
// field at once.
type Text struct {
	// Memo, when set, remembers the operations whose text passed (see Memo).
	Memo *Memo
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = Text{}

// ExtensionName implements graphql.HandlerExtension.
func (Text) ExtensionName() string { return "Text" }

// Validate implements graphql.HandlerExtension.
func (Text) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationContext implements graphql.OperationContextMutator.
func (t Text) MutateOperationContext(_ context.Context, rc *graphql.OperationContext) *gqlerror.Error {
	if rc.Operation == nil {
		return nil
	}
	memo := t.Memo.of(rc)
	if memo != nil && memo.text.Load() && goodText(rc) {
		return nil // the document's strings passed; its variables' do
	}
	w := textWalker{vars: rc.Variables}
	_ = eachField(rc.Doc, rc.Operation.SelectionSet, w.field)
	if w.bad == nil {
		if memo != nil {
			memo.text.Store(true)
		}
		return nil
	}
	e := gqlerror.Wrap(apperr.Input(w.bad.path, "%s %s", w.bad.path, w.bad.why))
	errcode.Set(e, errcode.ValidationFailed) // refused like a document that fails validation
	if w.bad.pos != nil {
		e.Locations = []gqlerror.Location{{Line: w.bad.pos.Line, Column: w.bad.pos.Column}}
	}
	return e
}

type badText struct {
	path, why string
	pos       *ast.Position
}

// textWalker visits every argument of the operation once, fragments
// included, and stops at the first bad string.
type textWalker struct {
	vars map[string]any
	bad  *badText
}

func (w *textWalker) field(f *ast.Field) *gqlerror.Error {
	for _, a := range f.Arguments {
		w.value(a.Value, a.Name)
	}
	if w.bad != nil {
		return errFound
	}
	return nil
}

func (w *textWalker) value(v *ast.Value, path string) {
	if v == nil || w.bad != nil {
		return
	}
	switch v.Kind {
	case ast.Variable:
		w.any(w.vars[v.Raw], path, v.Position)
	case ast.StringValue, ast.BlockValue:
		w.text(v.Raw, path, v.Position)
	case ast.ListValue:
		for i, c := range v.Children {
			w.value(c.Value, fmt.Sprintf("%s.%d", path, i))
		}
	case ast.ObjectValue:
		for _, c := range v.Children {
			w.value(c.Value, path+"."+c.Name)
		}
	}
}

// any checks a variable's value as gqlgen decoded it from JSON (or from
// the multipart request: an upload's file name).
func (w *textWalker) any(v any, path string, pos *ast.Position) {
	if w.bad != nil {
		return
	}
	switch v := v.(type) {
	case string:
		w.text(v, path, pos)
	case []any:
		for i, c := range v {
			w.any(c, fmt.Sprintf("%s.%d", path, i), pos)
		}
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys) // the same request names the same field
		for _, k := range keys {
			w.any(v[k], path+"."+k, pos)
		}
	case graphql.Upload:
		w.text(v.Filename, path, pos)
		w.text(v.ContentType, path, pos)
	case *graphql.Upload:
		if v != nil {
			w.any(*v, path, pos)
		}
	}
}

func (w *textWalker) text(s, path string, pos *ast.Position) {
	if why := textFault(s); why != "" {
		w.bad = &badText{path, why, pos}
	}
}

// textFault says what is wrong with s as text, or "" if nothing is.
func textFault(s string) string {
	switch {
	case strings.IndexByte(s, 0) >= 0:
		return "must not contain a NUL character"
	case !utf8.ValidString(s):
		return "is not valid UTF-8"
	}
	return ""
}
