// Command gen runs gqlgen on gqlgen.yml, as `go tool gqlgen` would, so that
// the executor it writes resolves in order what needs no concurrency:
//
//   - the fields of every object but the Query root run where the object is
//     marshalled (gqlgen's Object.DisableConcurrency, which gqlgen sets on
//     the Mutation alone), not one goroutine per resolver or method field;
//   - lists of objects are marshalled by graph.marshalInOrder, element after
//     element, instead of graphql.MarshalSliceConcurrently, which starts a
//     goroutine per element whatever exec.worker_limit says (GOTCHAS.md 16);
//   - an object whose fields all resolve in place makes no deferred group;
//   - a field that reads a struct field of its object and marshals it with
//     a marshaller that cannot fail marshals it at once (plainFields),
//     without gqlgen's per-field machinery.
//
// and does once what gqlgen does again for every object, field or request:
// objects are written by graph.object (objectsInPlace), a loaded unique
// edge is read as a struct field (loadedEdgesInPlace), inputs decode only
// the fields they have (inputsInOrder) into the value kept
// (inputsByPointer), an answer's buffer has the size of the operation's
// last answer (sizedResponses), a document's fields are collected once for
// every request sending it (collectedOnce), a field's arguments once per
// request (argumentsOnce), a field context has no Child closure, which
// nothing calls (noChildContexts), and inputs are decoded without a path
// context for each value, made only for a value that fails (pathsOnError).
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
	"os/exec"
	"regexp"

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
	// gqlgen builds what it wrote before gen rewrites it, and the rewritten
	// executor is what graph's own files are written against
	// (executionContext.fields): gen builds it once rewritten instead.
	cfg.SkipValidation = true
	if err := api.Generate(cfg, api.AddPlugin(inOrder{})); err != nil {
		log.Fatal(err)
	}
	edges, err := os.ReadFile(entEdges)
	if err != nil {
		log.Fatal(err)
	}
	if err := rewriteLists(cfg.Exec.Filename, loadedEdges(edges)); err != nil {
		log.Fatal(err)
	}
	build := exec.Command("go", "build", cfg.Exec.Dir(), cfg.Model.Dir())
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		log.Fatalf("the generated executor does not build: %v", err)
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
func rewriteLists(path string, loaded map[string]string) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if !bytes.Contains(src, concurrently) {
		return fmt.Errorf("%s calls no graphql.MarshalSliceConcurrently: gqlgen's list template changed, see graph/gen", path)
	}
	src = bytes.ReplaceAll(src, concurrently, inOrderCall)
	// Each reads the file as the ones before it left it (inputsByPointer
	// after inputsInOrder's loop, for one).
	for _, rewrite := range []func([]byte) ([]byte, error){
		plainFields,
		objectsInPlace,
		func(src []byte) ([]byte, error) { return loadedEdgesInPlace(src, loaded) },
		inputsInOrder,
		inputsByPointer,
		sizedResponses,
		collectedOnce,
		argumentsOnce,
		noChildContexts,
		pathsOnError,
	} {
		if src, err = rewrite(src); err != nil {
			return err
		}
	}
	out, err := format.Source(noDeferredGroups(src))
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, 0o644)
}

var (
	newFieldSet = []byte("out := graphql.NewFieldSet(fields)")
	newObject   = []byte("out := newObject(fields)")
	dispatch    = []byte("\tout.Dispatch(ctx)\n")
	// What only a field set with fields to run later calls.
	scheduled = regexp.MustCompile(`out\.\w*Concurrently\(`)
)

// objectsInPlace gives each object function that schedules no field (every
// object's but the Query root's, see inOrder) a graph.object instead of a
// graphql.FieldSet: the same values, marshalled without the map of the
// fields written and the copy of each field that FieldSet.MarshalGQL makes
// for every object (a phone lookup: 83 of its 868 allocations). Its
// Dispatch had nothing to run and is gone.
func objectsInPlace(src []byte) ([]byte, error) {
	funcs := bytes.Split(src, funcStart)
	n := 0
	for i, f := range funcs {
		if !bytes.Contains(f, newFieldSet) || scheduled.Match(f) {
			continue
		}
		if bytes.Count(f, dispatch) != 1 {
			return nil, fmt.Errorf("an object function without one out.Dispatch: gqlgen's object template changed, see graph/gen")
		}
		f = bytes.Replace(f, newFieldSet, newObject, 1)
		funcs[i] = bytes.Replace(f, dispatch, nil, 1)
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("no object function makes %s: gqlgen's object template changed, see graph/gen", newFieldSet)
	}
	return bytes.Join(funcs, funcStart), nil
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

// A field without a resolver, as gqlgen writes it: the object's struct
// field, marshalled by marshaller m.
var plainField = regexp.MustCompile(`(?m)^(func \(ec \*executionContext\) _\w+\(ctx context\.Context, field graphql\.CollectedField, obj \*[\w.]+\) \(ret graphql\.Marshaler\) \{\n)` +
	`\treturn graphql\.ResolveField\(\n\t\tctx,\n\t\tec\.OperationContext,\n\t\tfield,\n` +
	`\t\tfunc\(ctx context\.Context, field graphql\.CollectedField\) \(\*graphql\.FieldContext, error\) \{\n\t\t\treturn ec\.fieldContext_(\w+)\(ctx, field\)\n\t\t\},\n` +
	`\t\tfunc\(ctx context\.Context\) \(any, error\) \{\n\t\t\treturn (obj\.\w+), nil\n\t\t\},\n` +
	`\t\tnil,\n` +
	`\t\tfunc\(ctx context\.Context, selections ast\.SelectionSet, v [^)]+\) graphql\.Marshaler \{\n\t\t\treturn ec\.(marshal[^(]+)\(ctx, selections, v\)\n\t\t\},\n` +
	`\t\ttrue,\n\t\t(?:true|false),\n\t\)\n\}\n`)

// marshaller finds a marshaller's body by its name. Names hold non-ASCII
// letters (marshalNID2estatecrmᚋentᚋschemaᚋpulidᚐID), which \w misses.
var marshaller = regexp.MustCompile(`(?ms)^func \(ec \*executionContext\) (marshal[^(]+)\(ctx context\.Context, sel ast\.SelectionSet, v [^)]+\) graphql\.Marshaler \{\n(.*?)^\}\n`)

// neverNull are the marshallers of scalars that read ctx only to report a
// null their MarshalX never returns.
var neverNull = map[string]bool{
	"marshalNString2string": true,
	"marshalNInt2int":       true,
	"marshalNInt2int32":     true,
	"marshalNInt2int64":     true,
	"marshalNBoolean2bool":  true,
	// scalar.MarshalTime always writes the time, zero or not.
	"marshalNTime2timeᚐTime": true,
}

// reportsNull is the body of a marshaller of a scalar that reads ctx only
// to report a null its MarshalX returned (scalar.MarshalFloat, for NaN):
// a field read from a struct field first tries MarshalX without a field
// context, and makes one only for the null, whose error has the field's
// path.
var reportsNull = regexp.MustCompile(`^\t_ = sel\n\tres := ([\w.]+)\(v\)\n\tif res == graphql\.Null \{\n\t\tgraphql\.AddInvalidNullFromMarshaler\(ctx, "[^"]+"\)\n\t\}\n\treturn res\n$`)

// plainFields rewrites each field that gqlgen resolves from a struct field
// of its object (no resolver, no directive) and marshals with a
// marshaller that never reads its context (the value marshals itself, or
// null for a nil pointer: enums, IDs, Money, optional scalars) into a call
// of that marshaller. gqlgen's ResolveField makes a field context, a
// context holding it, three closures and two boxings of the value for
// each such field of each object (18% of a 20-unit page's allocations), to
// run the field middleware (no extension is a graphql.FieldInterceptor,
// which api checks; graph.PayloadViewer's, in an activateOwner mutation,
// matters only to fields that load: see structField) and to give an error
// of the field its path, of which these fields have none: reading a struct field
// of an object gqlgen has checked is not nil cannot fail, and the
// marshaller reports nothing. A marshaller that may report an error (a
// Float's NaN, objects and lists) gets the field's context (structField).
func plainFields(src []byte) ([]byte, error) {
	contextFree := map[string]bool{}
	nullInContext := map[string][]byte{}
	for _, m := range marshaller.FindAllSubmatch(src, -1) {
		body := bytes.ReplaceAll(m[2], []byte("_ = ctx\n"), nil)
		if neverNull[string(m[1])] || !bytes.Contains(body, []byte("ctx")) {
			contextFree[string(m[1])] = true
		} else if n := reportsNull.FindSubmatch(body); n != nil {
			nullInContext[string(m[1])] = n[1]
		}
	}
	plain, inContext := 0, 0
	out := plainField.ReplaceAllFunc(src, func(f []byte) []byte {
		m := plainField.FindSubmatch(f)
		if !contextFree[string(m[4])] {
			inContext++
			header := m[1]
			if marshal := nullInContext[string(m[4])]; marshal != nil {
				header = fmt.Appendf(nil, "%s\tif v := %s(%s); v != graphql.Null {\n\t\treturn v\n\t}\n", m[1], marshal, m[3])
			}
			return fmt.Appendf(nil, structField, header, m[2], m[3], m[4], m[3])
		}
		plain++
		return fmt.Appendf(nil, "%s\treturn ec.%s(ctx, field.Selections, %s)\n}\n", m[1], m[4], m[3])
	})
	if plain == 0 || inContext == 0 {
		return nil, fmt.Errorf("no plain field found: gqlgen's field template changed, see graph/gen")
	}
	return out, nil
}

// structField is what a field read from a struct field of its object
// becomes when its marshaller needs the field's context (an object or a
// list below it, whose errors have the field in their path; a Float, whose
// NaN is an error of the field): what gqlgen's ResolveField does for it
// (the field context in ctx, its result noted there, a panic made an
// error and a null) without what cannot happen to a struct field (the
// resolver's error, an untyped nil) and without the closures, the boxing
// and the field middleware, five allocations a field of an object of a
// list. The only field middleware (graph.PayloadViewer's, in an
// activateOwner mutation) gives a field that loads rows the viewer they are
// read as; a struct field loads nothing, and the fields below it that do
// (resolvers, edge getters) still run it. An edge getter stays on gqlgen's
// path for that reason when its edge is not loaded
// (TestActivateOwnerPayloadIsReadable; loadedEdgesInPlace).
const structField = `%s	fc, err := ec.fieldContext_%s(ctx, field)
	if err != nil {
		return graphql.Null
	}
	ctx = graphql.WithFieldContext(ctx, fc)
	defer func() {
		if r := recover(); r != nil {
			ec.Error(ctx, ec.Recover(ctx, r))
			ret = graphql.Null
		}
	}()
	fc.Result = %s
	return ec.%s(ctx, field.Selections, %s)
}
`

var (
	inputFunc = regexp.MustCompile(`^\(ec \*executionContext\) unmarshalInput(\w+)\(ctx context\.Context, obj any\)`)
	// gqlgen's loop over every field of an input type, looking each up in
	// the input.
	everyField = regexp.MustCompile(`\n\tfieldsInOrder := \[\.\.\.\]string\{([^}]*)\}\n` +
		`\tfor _, k := range fieldsInOrder \{\n\t\tv, ok := asMap\[k\]\n\t\tif !ok \{\n\t\t\tcontinue\n\t\t\}\n`)
)

// inputsInOrder makes each input type's decoder visit the fields the input
// has, in the schema's order, instead of looking every field of the type up
// in the input: a where input has up to 260 fields (a phone lookup's had
// one), each looked up, after copying their names onto the stack, for every
// input decoded. The order of the schema is kept, so that the same field
// fails first. Each type's order is a package-level inputOrder.
func inputsInOrder(src []byte) ([]byte, error) {
	funcs := bytes.Split(src, funcStart)
	var orders bytes.Buffer
	n := 0
	for i, f := range funcs {
		name := inputFunc.FindSubmatch(f)
		if name == nil {
			continue
		}
		loop := everyField.FindSubmatchIndex(f)
		if loop == nil {
			return nil, fmt.Errorf("unmarshalInput%s has no fieldsInOrder loop: gqlgen's input template changed, see graph/gen", name[1])
		}
		order := "inputOrder" + string(name[1])
		fmt.Fprintf(&orders, "\nvar %s = newInputOrder(%s)\n", order, f[loop[2]:loop[3]])
		var b bytes.Buffer
		b.Write(f[:loop[0]])
		fmt.Fprintf(&b, "\n\tvar present [8]string\n\tfor _, k := range %s.present(present[:0], asMap) {\n\t\tv := asMap[k]\n", order)
		b.Write(f[loop[1]:])
		funcs[i] = b.Bytes()
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("no input type decoder found: gqlgen's input template changed, see graph/gen")
	}
	return append(bytes.Join(funcs, funcStart), orders.Bytes()...), nil
}

var (
	// gqlgen's decoder of an input type: the value it fills, and its
	// returns of it.
	valueDecoder = regexp.MustCompile(`^\(ec \*executionContext\) unmarshalInput(\w+)\(ctx context\.Context, obj any\) \(([\w.]+), error\) \{\n\tvar it ([\w.]+)\n`)
	returnsIt    = regexp.MustCompile(`return it, (nil|err)\n`)
	addressOfIt  = regexp.MustCompile(`&it([,)])`)
	fieldOfIt    = regexp.MustCompile(`\bit\.[A-Z]`)
	anyIt        = regexp.MustCompile(`\bit\b`)
	// gqlgen's decoder of an optional input: the value decoded, then
	// copied to the heap.
	pointerDecoder = regexp.MustCompile(`\) \(\*([\w.]+), error\) \{\n((?:\tif v == nil \{\n\t\treturn nil, nil\n\t\}\n)?)` +
		`\tres, err := ec\.unmarshalInput(\w+)\(ctx, v\)\n\treturn &res, graphql\.ErrorOnPath\(ctx, err\)\n\}`)
)

// inputsByPointer makes each input type's decoder fill the value it is
// given (unmarshalInputXInto), so that an optional input (a where input,
// *ent.CustomerWhereInput) is decoded into the one value it is kept in.
// gqlgen's decoder filled a value of its own and the optional input's
// decoder copied it to the heap; a decoder whose input type has a field
// resolver (hasProjectWith) passes its value's address to it, so that value
// was on the heap too: two allocations of the type, 2.7 KB each for a
// CustomerWhereInput, on every phone lookup.
func inputsByPointer(src []byte) ([]byte, error) {
	funcs := bytes.Split(src, funcStart)
	n := 0
	for i, f := range funcs {
		m := valueDecoder.FindSubmatch(f)
		if m == nil {
			continue
		}
		name, typ := m[1], m[2]
		if !bytes.Equal(typ, m[3]) {
			return nil, fmt.Errorf("unmarshalInput%s fills a %s, not the %s it returns: gqlgen's input template changed, see graph/gen", name, m[3], typ)
		}
		body := f[len(m[0]):]
		end := bytes.Index(body, []byte("\n}\n"))
		if end < 0 {
			return nil, fmt.Errorf("unmarshalInput%s has no end: gqlgen's input template changed, see graph/gen", name)
		}
		// What follows the function (a comment, a region's end) stays as it is.
		body, rest := body[:end+3], body[end+3:]
		uses := len(anyIt.FindAll(body, -1))
		if uses != len(returnsIt.FindAll(body, -1))+len(addressOfIt.FindAll(body, -1))+len(fieldOfIt.FindAll(body, -1)) {
			return nil, fmt.Errorf("unmarshalInput%s uses its value in a way gen does not know: gqlgen's input template changed, see graph/gen", name)
		}
		body = returnsIt.ReplaceAll(body, []byte("return $1\n"))
		body = addressOfIt.ReplaceAll(body, []byte("it$1"))
		var b bytes.Buffer
		fmt.Fprintf(&b, "(ec *executionContext) unmarshalInput%s(ctx context.Context, obj any) (%s, error) {\n"+
			"\tvar it %s\n\terr := ec.unmarshalInput%sInto(ctx, obj, &it)\n\treturn it, err\n}\n", name, typ, typ, name)
		fmt.Fprintf(&b, "\nfunc (ec *executionContext) unmarshalInput%sInto(ctx context.Context, obj any, it *%s) error {\n", name, typ)
		b.Write(body)
		b.Write(rest)
		funcs[i] = b.Bytes()
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("no input type decoder found: gqlgen's input template changed, see graph/gen")
	}
	src = bytes.Join(funcs, funcStart)
	if !pointerDecoder.Match(src) {
		return nil, fmt.Errorf("no optional input decoder found: gqlgen's input template changed, see graph/gen")
	}
	return pointerDecoder.ReplaceAll(src, []byte(") (*$1, error) {\n$2"+
		"\tres := new($1)\n\terr := ec.unmarshalInput${3}Into(ctx, v, res)\n\treturn res, graphql.ErrorOnPath(ctx, err)\n}")), nil
}

var (
	// How gqlgen's Exec writes a query's or a mutation's answer.
	growingBuffer = []byte("\t\t\tvar buf bytes.Buffer\n\t\t\tdata.MarshalGQL(&buf)\n")
	sizedBuffer   = []byte("\t\t\tbuf := responseBuffer(opCtx)\n\t\t\tdata.MarshalGQL(buf)\n\t\t\tnoteResponse(opCtx, buf.Len())\n")
)

// sizedResponses makes Exec write a query's and a mutation's answer into
// a buffer the size of the operation's last answer (graph.responseBuffer).
func sizedResponses(src []byte) ([]byte, error) {
	if n := bytes.Count(src, growingBuffer); n != 2 {
		return nil, fmt.Errorf("Exec writes %d answers into a bytes.Buffer, want a query's and a mutation's: gqlgen's Exec template changed, see graph/gen", n)
	}
	return bytes.ReplaceAll(src, growingBuffer, sizedBuffer), nil
}

// entEdges is the file entgql writes the edges' getters in, from the
// module's root (gqlgen's config loading runs from there).
const entEdges = "ent/gql_edge.go"

var (
	// An edge's getter that entgql wrote for a unique edge: the edge if
	// it is loaded, else a query.
	uniqueGetter = regexp.MustCompile(`(?m)^func \(_m \*(\w+)\) (\w+)\(ctx context\.Context\) \(\*\w+, error\) \{\n` +
		`\tresult, err := _m\.Edges\.(\w+OrErr)\(\)\n\tif IsNotLoaded\(err\) \{\n`)
	// A field gqlgen resolves through its object's getter.
	getterField = regexp.MustCompile(`(?m)^(func \(ec \*executionContext\) _\w+\(ctx context\.Context, field graphql\.CollectedField, obj \*ent\.(\w+)\) \(ret graphql\.Marshaler\) \{\n)` +
		`(\treturn graphql\.ResolveField\(\n\t\tctx,\n\t\tec\.OperationContext,\n\t\tfield,\n` +
		`\t\tfunc\(ctx context\.Context, field graphql\.CollectedField\) \(\*graphql\.FieldContext, error\) \{\n\t\t\treturn ec\.fieldContext_(\w+)\(ctx, field\)\n\t\t\},\n` +
		`\t\tfunc\(ctx context\.Context\) \(any, error\) \{\n\t\t\treturn obj\.(\w+)\(ctx\)\n\t\t\},\n` +
		`\t\tnil,\n` +
		`\t\tfunc\(ctx context\.Context, selections ast\.SelectionSet, v [^)]+\) graphql\.Marshaler \{\n\t\t\treturn ec\.(marshal[^(]+)\(ctx, selections, v\)\n\t\t\},\n` +
		`\t\ttrue,\n\t\t(?:true|false),\n\t\)\n\}\n)`)
)

// loadedEdges returns, by "Type.Getter", the accessor of the loaded edge
// that each unique edge's getter in ent's gql_edge.go returns when loaded.
func loadedEdges(src []byte) map[string]string {
	loaded := map[string]string{}
	for _, m := range uniqueGetter.FindAllSubmatch(src, -1) {
		loaded[string(m[1])+"."+string(m[2])] = string(m[3])
	}
	return loaded
}

// loadedEdgesInPlace gives each field read through a unique edge's getter
// (Unit.project) a way around gqlgen's ResolveField when the edge is
// loaded (a page's units with their folded project): the edge as a struct
// field is (structField), without ResolveField's closures and boxings. An
// edge not loaded goes gqlgen's way, whose field middleware (graph.
// PayloadViewer's, in activateOwner) gives the getter's query its viewer;
// a loaded edge queries nothing, and the middleware changes only the
// context of the getter's call.
func loadedEdgesInPlace(src []byte, loaded map[string]string) ([]byte, error) {
	if len(loaded) == 0 {
		return nil, fmt.Errorf("%s has no unique edge getter: entgql's template changed, see graph/gen", entEdges)
	}
	n := 0
	out := getterField.ReplaceAllFunc(src, func(f []byte) []byte {
		m := getterField.FindSubmatch(f)
		orErr, ok := loaded[string(m[2])+"."+string(m[5])]
		if !ok {
			return f
		}
		n++
		var b bytes.Buffer
		b.Write(m[1])
		fmt.Fprintf(&b, "\tif v, err := obj.Edges.%s(); err == nil {\n", orErr)
		// structField's closing brace closes the if.
		fmt.Fprintf(&b, structField, "", m[4], "v", m[6], "v")
		b.Write(m[3])
		return b.Bytes()
	})
	if n == 0 {
		return nil, fmt.Errorf("no field read through a unique edge's getter: gqlgen's field template changed, see graph/gen")
	}
	return out, nil
}

var (
	gqlgenCollect = []byte("graphql.CollectFields(ec.OperationContext, sel, ")
	ourCollect    = []byte("ec.collectFields(sel, ")
	execContext   = []byte("type executionContext struct {\n\t*graphql.ExecutionContextState[ResolverRoot, DirectiveRoot, ComplexityRoot]\n}\n")
	withFields    = []byte("type executionContext struct {\n\t*graphql.ExecutionContextState[ResolverRoot, DirectiveRoot, ComplexityRoot]\n" +
		"\tfields fieldsMemo // the document's collected fields (graph.collectFields)\n}\n")
)

// collectedOnce makes every object function collect its fields with
// graph's collectFields, which collects those of a document's selection
// set once for every request sending the document, where gqlgen's
// CollectFields collects them again in each; the executionContext holds the
// document's (fieldsMemo).
func collectedOnce(src []byte) ([]byte, error) {
	if !bytes.Contains(src, gqlgenCollect) || bytes.Count(src, execContext) != 1 {
		return nil, fmt.Errorf("no object function collects its fields with graphql.CollectFields, or no executionContext as gen knows it: gqlgen's template changed, see graph/gen")
	}
	src = bytes.ReplaceAll(src, gqlgenCollect, ourCollect)
	return bytes.Replace(src, execContext, withFields, 1), nil
}

var (
	gqlgenArguments = regexp.MustCompile(`ec\.(field_\w+_args)\(ctx, field\.ArgumentMap\(ec\.Variables\)\)`)
	ourArguments    = []byte("ec.typedArguments(ctx, field, ec.$1)")
)

// argumentsOnce makes each field's context take its arguments from
// graph's typedArguments: decoded from graph.argumentsOf, made once per
// field of the document for the request, where gqlgen converted them again
// for every row a field is resolved for, and decoded once per document
// where they cannot differ between requests.
func argumentsOnce(src []byte) ([]byte, error) {
	if !gqlgenArguments.Match(src) {
		return nil, fmt.Errorf("no field context takes its arguments from field.ArgumentMap(ec.Variables): gqlgen's template changed, see graph/gen")
	}
	src = gqlgenArguments.ReplaceAll(src, ourArguments)
	if bytes.Contains(src, []byte("field.ArgumentMap(ec.Variables)")) {
		return nil, fmt.Errorf("a field's arguments converted otherwise than ec.field_X_args(ctx, field.ArgumentMap(ec.Variables)): gqlgen's template changed, see graph/gen")
	}
	return src, nil
}

var (
	// A field context's Child, gqlgen's lookup of its object's fields'
	// contexts: a closure of ec made for every object field resolved.
	childClosure = regexp.MustCompile(`\t\tChild: func\(ctx context\.Context, field graphql\.CollectedField\) \(\*graphql\.FieldContext, error\) \{\n` +
		`\t\t\treturn ec\.childFields_\w+\(ctx, field\)\n\t\t\},\n`)
	childLookup  = regexp.MustCompile(`(?s)\nfunc \(ec \*executionContext\) childFields_\w+\(ctx context\.Context, field graphql\.CollectedField\) \(\*graphql\.FieldContext, error\) \{\n.*?\n\}\n`)
	childComment = []byte("// childFields_* functions provide shared child field context lookups.\n" +
		"// Each function is generated once per unique object type, deduplicating the\n" +
		"// switch statements that were previously inlined in every fieldContext_* function.\n")
)

// noChildContexts leaves FieldContext.Child unset, and the childFields_X
// lookups it called out. gqlgen sets it, for a caller that wants the field
// context of a field below, to a closure of ec: one allocation for every
// object field resolved (18 of a phone lookup's, 42 of a page of units'),
// and nothing calls it (not gqlgen's executor, not entgql, not graph).
func noChildContexts(src []byte) ([]byte, error) {
	if !childClosure.Match(src) || !childLookup.Match(src) || !bytes.Contains(src, childComment) {
		return nil, fmt.Errorf("no FieldContext.Child closure, childFields_ lookup or their comment as gen knows them: gqlgen's template changed, see graph/gen")
	}
	src = childClosure.ReplaceAll(src, nil)
	src = childLookup.ReplaceAll(src, []byte("\n"))
	src = bytes.Replace(src, childComment, nil, 1)
	if bytes.Contains(src, []byte("childFields_")) {
		return nil, fmt.Errorf("a childFields_ lookup is still called after the Child closures went: gqlgen's template changed, see graph/gen")
	}
	return src, nil
}

var (
	// gqlgen's decoding of an input field into the value it fills, and of
	// a list's element, each in a path context of its own. An input field
	// decoded through a resolver (hasProjectWith) keeps its context.
	inputFieldPath = regexp.MustCompile(`\t\t\tctx := graphql\.WithPathContext\(ctx, graphql\.NewPathWithField\("(\w+)"\)\)\n` +
		`\t\t\tdata, err := (ec\.unmarshal[^(\s]+)\(ctx, v\)\n\t\t\tif err != nil \{\n\t\t\t\treturn err\n\t\t\t\}\n` +
		`(\t\t\tit\.\w+ = (?:data|graphql\.OmittableOf\(data\))\n)`)
	listIndexPath = regexp.MustCompile(`\t\tctx := graphql\.WithPathContext\(ctx, graphql\.NewPathWithIndex\(i\)\)\n` +
		`\t\tres\[i\], err = (ec\.unmarshal[^(\s]+)\(ctx, vSlice\[i\]\)\n\t\tif err != nil \{\n\t\t\treturn nil, err\n\t\t\}\n`)
	gqlgenProcessArg = []byte("graphql.ProcessArgField(")
	ourProcessArg    = []byte("processArgField(")
)

// pathsOnError makes input fields, list elements and field arguments
// decode in their parent's context and, only for a value that fails, again
// in a path context of their own (graph.decodeErrorAt, processArgField):
// gqlgen made the context, two allocations, for every value decoded (11 of
// a phone lookup's), to be read only by the error of one that fails.
func pathsOnError(src []byte) ([]byte, error) {
	if !inputFieldPath.Match(src) || !listIndexPath.Match(src) || !bytes.Contains(src, gqlgenProcessArg) {
		return nil, fmt.Errorf("no input field, list element or argument decoded in a path context as gen knows it: gqlgen's template changed, see graph/gen")
	}
	src = inputFieldPath.ReplaceAll(src, []byte("\t\t\tdata, err := $2(ctx, v)\n\t\t\tif err != nil {\n"+
		"\t\t\t\treturn decodeErrorAt(ctx, graphql.NewPathWithField(\"$1\"), v, $2, err)\n\t\t\t}\n$3"))
	src = listIndexPath.ReplaceAll(src, []byte("\t\tres[i], err = $1(ctx, vSlice[i])\n\t\tif err != nil {\n"+
		"\t\t\treturn nil, decodeErrorAt(ctx, graphql.NewPathWithIndex(i), vSlice[i], $1, err)\n\t\t}\n"))
	return bytes.ReplaceAll(src, gqlgenProcessArg, ourProcessArg), nil
}
