package guard

import (
	"sync"
	"sync/atomic"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"estatecrm/auth"
	"estatecrm/rule"
)

// Memo remembers that guard's walkers (Limits, FilterAccess, Text,
// PageSize, NoIntrospection) passed an operation, so that a phone sending
// the same document all day, each time with another phone suffix or ID, is
// not walked again on every request (the walks were 7% of the server's CPU
// for a customer found by phone).
//
// What the walkers find depends on the document, and on the variables only
// through the numbers they hold (page sizes), the length of a list, the
// fields of an input object, an enum's value (an order's field) and whether
// a variable is null. An operation is remembered only while every one of its
// variables is a non-null scalar other than Int and Float, sent as a string
// or a boolean; any other request is walked. What depends on the request
// itself is checked on each: the transport (Limits), the variables' text
// (Text), and whether the viewer may filter on each field the operation
// filters on (FilterAccess). Only a walk that passed is remembered: a refusal
// is walked again, so that it names its argument as before.
//
// The documents are a query cache's (graph.QueryCache calls Remember and
// Forget): a document parsed for one request is not kept, and a document
// forgotten takes what was remembered of it along.
//
// A nil *Memo remembers nothing.
type Memo struct {
	mu  sync.RWMutex
	ops map[*ast.OperationDefinition]*passed
}

// NewMemo returns an empty Memo.
func NewMemo() *Memo { return &Memo{ops: map[*ast.OperationDefinition]*passed{}} }

// Remember makes room for the operations of doc, which a query cache now
// holds.
func (m *Memo) Remember(doc *ast.QueryDocument) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, op := range doc.Operations {
		m.ops[op] = &passed{}
	}
}

// Forget drops what was remembered of doc, which the query cache let go.
func (m *Memo) Forget(doc *ast.QueryDocument) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, op := range doc.Operations {
		delete(m.ops, op)
	}
}

// passed is what the walks of an operation found, each set once its walk
// passed the operation with variables whose values cannot change the answer.
type passed struct {
	cost                          atomic.Pointer[int]         // Limits: the operation's cost
	filters                       atomic.Pointer[[]filterUse] // FilterAccess: what it filters and orders on
	text, pageSize, introspection atomic.Bool
}

// filterUse is an entity's field an operation filters or orders on.
type filterUse struct{ entity, field string }

// of returns what is remembered of rc's operation, or nil when it is not
// remembered or its variables may change what the walkers find.
func (m *Memo) of(rc *graphql.OperationContext) *passed {
	if m == nil || rc.Operation == nil || !fixedVariables(rc) {
		return nil
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.ops[rc.Operation]
}

// fixedVariables reports whether no value of rc's variables can change what
// the walkers find (see Memo).
func fixedVariables(rc *graphql.OperationContext) bool {
	for _, d := range rc.Operation.VariableDefinitions {
		if d.Type == nil || d.Type.Elem != nil || d.Definition == nil || d.Definition.Kind != ast.Scalar ||
			d.Definition.Name == "Int" || d.Definition.Name == "Float" {
			return false
		}
		switch rc.Variables[d.Variable].(type) {
		case string, bool:
		default: // null, a number, a list or an object a custom scalar took, an upload
			return false
		}
	}
	return true
}

// goodText reports whether every string variable of rc would pass Text: the
// rest of the operation's text is the document's, which passed.
func goodText(rc *graphql.OperationContext) bool {
	for _, v := range rc.Variables {
		if s, ok := v.(string); ok && textFault(s) != "" {
			return false
		}
	}
	return true
}

// mayFilterAll reports whether v may filter on every field of uses.
func mayFilterAll(v *auth.Viewer, uses []filterUse) bool {
	for _, u := range uses {
		if !rule.MayFilter(v, u.entity, u.field) {
			return false
		}
	}
	return true
}
