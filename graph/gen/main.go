// Command gen runs gqlgen on gqlgen.yml, as `go tool gqlgen` would, so that
// the executor it writes resolves in order what needs no concurrency:
//
//   - the fields of every object but the Query root run where the object is
//     marshalled (gqlgen's Object.DisableConcurrency, which gqlgen sets on
//     the Mutation alone), not one goroutine per resolver or method field;
//   - lists of objects are marshalled by graph.marshalInOrder, element after
//     element, instead of graphql.MarshalSliceConcurrently, which starts a
//     goroutine per element whatever exec.worker_limit says (GOTCHAS.md 16);
//   - an object whose fields all resolve in place makes no deferred group.
//
// Our resolvers do not wait on one another: the lists they return were
// loaded by entgql's field collection, each edge in one statement for the
// page, so a goroutine per element only costs (44% of the CPU of a 300-unit
// grid). Root query fields keep gqlgen's concurrency: they are few, and
// each may wait on the database.
//
// gqlgen's templates are embedded in its codegen package and no plugin hook
// runs after them, so the list call is rewritten in the file gqlgen wrote,
// by name, and gen fails if the call it expects is gone (a gqlgen upgrade
// that changed its template must be looked at, not silently kept).
// `go generate ./graph` runs it; the file stays generated, never edited.
package main

import (
	"bytes"
	"fmt"
	"go/format"
	"log"
	"os"

	"github.com/99designs/gqlgen/api"
	"github.com/99designs/gqlgen/codegen"
	"github.com/99designs/gqlgen/codegen/config"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("gen: ")
	cfg, err := config.LoadConfigFromDefaultLocations()
	if err != nil {
		log.Fatal(err)
	}
	if err := api.Generate(cfg, api.AddPlugin(inOrder{})); err != nil {
		log.Fatal(err)
	}
	if err := rewriteLists(cfg.Exec.Filename); err != nil {
		log.Fatal(err)
	}
}

// inOrder is the gqlgen plugin that turns off concurrent field resolution.
type inOrder struct{}

func (inOrder) Name() string { return "inorder" }

// GenerateCode runs after gqlgen built its data and before it renders the
// executor from it.
func (inOrder) GenerateCode(data *codegen.Data) error {
	for _, o := range data.Objects {
		if o.Definition == data.Schema.Query {
			continue
		}
		o.DisableConcurrency = true
	}
	return nil
}

var (
	concurrently = []byte("graphql.MarshalSliceConcurrently(")
	// marshalInOrder takes MarshalSliceConcurrently's arguments.
	inOrderCall = []byte("marshalInOrder(")
)

// rewriteLists makes the executor at path marshal lists with marshalInOrder.
func rewriteLists(path string) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if !bytes.Contains(src, concurrently) {
		return fmt.Errorf("%s calls no graphql.MarshalSliceConcurrently: gqlgen's list template changed, see graph/gen", path)
	}
	src = bytes.ReplaceAll(src, concurrently, inOrderCall)
	out, err := format.Source(noDeferredGroups(src))
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, 0o644)
}

var (
	newDeferredGroup = []byte("deferred := graphql.NewDeferredGroup(ctx)")
	// Only ResolveConcurrently, given &deferred, fills the group.
	groupFilled = []byte("&deferred")
	noGroup     = []byte("var deferred graphql.DeferredGroup")
	funcStart   = []byte("\nfunc ")
)

// noDeferredGroups gives an empty group to each object function whose
// fields are all resolved in place: an @defer under them is answered in
// place (gqlgen does so for fields without a resolver already), and
// nothing fills the group, whose making cost three allocations per object
// marshalled (its path, a field set, a map), 7% of a grid's.
func noDeferredGroups(src []byte) []byte {
	funcs := bytes.Split(src, funcStart)
	for i, f := range funcs {
		if bytes.Contains(f, newDeferredGroup) && !bytes.Contains(f, groupFilled) {
			funcs[i] = bytes.Replace(f, newDeferredGroup, noGroup, 1)
		}
	}
	return bytes.Join(funcs, funcStart)
}
