package main

import (
	"strings"
	"testing"
)

// field is a field without a resolver as gqlgen writes it.
func field(name, goField, marshal, goType string) string {
	return `func (ec *executionContext) _Unit_` + name + `(ctx context.Context, field graphql.CollectedField, obj *ent.Unit) (ret graphql.Marshaler) {
	return graphql.ResolveField(
		ctx,
		ec.OperationContext,
		field,
		func(ctx context.Context, field graphql.CollectedField) (*graphql.FieldContext, error) {
			return ec.fieldContext_Unit_` + name + `(ctx, field)
		},
		func(ctx context.Context) (any, error) {
			return obj.` + goField + `, nil
		},
		nil,
		func(ctx context.Context, selections ast.SelectionSet, v ` + goType + `) graphql.Marshaler {
			return ec.` + marshal + `(ctx, selections, v)
		},
		true,
		true,
	)
}
`
}

const marshallers = `func (ec *executionContext) marshalNID2estatecrmᚋentᚋschemaᚋpulidᚐID(ctx context.Context, sel ast.SelectionSet, v pulid.ID) graphql.Marshaler {
	return v
}
func (ec *executionContext) marshalNString2string(ctx context.Context, sel ast.SelectionSet, v string) graphql.Marshaler {
	_ = sel
	res := graphql.MarshalString(v)
	if res == graphql.Null {
		graphql.AddInvalidNullFromMarshaler(ctx, "String!")
	}
	return res
}
func (ec *executionContext) marshalNFloat2float64(ctx context.Context, sel ast.SelectionSet, v float64) graphql.Marshaler {
	_ = sel
	res := graphql.MarshalFloatContext(v)
	if res == graphql.Null {
		graphql.AddInvalidNullFromMarshaler(ctx, "Float!")
	}
	return graphql.WrapContextMarshaler(ctx, res)
}
func (ec *executionContext) marshalNFloat2float64ᚐOurs(ctx context.Context, sel ast.SelectionSet, v float64) graphql.Marshaler {
	_ = sel
	res := scalar.MarshalFloat(v)
	if res == graphql.Null {
		graphql.AddInvalidNullFromMarshaler(ctx, "Float!")
	}
	return res
}
`

// Fields whose marshaller cannot report an error are marshalled at once;
// a Float (NaN and infinities are errors with the field's path) makes its
// field context, ours only for a NaN.
func TestPlainFields(t *testing.T) {
	id := field("id", "ID", "marshalNID2estatecrmᚋentᚋschemaᚋpulidᚐID", "pulid.ID")
	number := field("number", "Number", "marshalNString2string", "string")
	area := field("grossArea", "GrossArea", "marshalNFloat2float64", "float64")
	net := field("netArea", "NetArea", "marshalNFloat2float64ᚐOurs", "float64")
	out, err := plainFields([]byte(id + number + area + net + marshallers))
	if err != nil {
		t.Fatal(err)
	}
	got := string(out)
	for _, want := range []string{
		"\treturn ec.marshalNID2estatecrmᚋentᚋschemaᚋpulidᚐID(ctx, field.Selections, obj.ID)\n}\n",
		"\treturn ec.marshalNString2string(ctx, field.Selections, obj.Number)\n}\n",
		// grossArea's marshaller reports a NaN with the field's path: the
		// field's context is in ctx, its result noted.
		"\tfc, err := ec.fieldContext_Unit_grossArea(ctx, field)\n",
		"\tctx = graphql.WithFieldContext(ctx, fc)\n",
		"\tfc.Result = obj.GrossArea\n\treturn ec.marshalNFloat2float64(ctx, field.Selections, obj.GrossArea)\n}\n",
		// netArea's reads ctx only to report the null MarshalFloat gives a
		// NaN: tried first without a field context.
		"(ret graphql.Marshaler) {\n\tif v := scalar.MarshalFloat(obj.NetArea); v != graphql.Null {\n\t\treturn v\n\t}\n\tfc, err := ec.fieldContext_Unit_netArea(ctx, field)\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the executor lacks\n%s\ngot\n%s", want, got)
		}
	}
	if n := strings.Count(got, "graphql.ResolveField("); n != 0 {
		t.Errorf("%d fields left to ResolveField, want none", n)
	}
}

// A gqlgen whose template no longer matches stops the generation.
func TestPlainFieldsTemplateChanged(t *testing.T) {
	changed := strings.Replace(field("number", "Number", "marshalNString2string", "string"), "\t\tnil,\n", "\t\tec.middleware,\n", 1)
	if _, err := plainFields([]byte(changed + marshallers)); err == nil {
		t.Fatal("no error when no field matched")
	}
}

// An object function that schedules nothing gets a graph.object and loses
// its Dispatch; the Query root, whose fields run concurrently, keeps its
// FieldSet.
func TestObjectsInPlace(t *testing.T) {
	object := func(name, body string) string {
		return "\nfunc (ec *executionContext) _" + name + "(ctx context.Context, sel ast.SelectionSet) graphql.Marshaler {\n" +
			"\tfields := graphql.CollectFields(ec.OperationContext, sel, nil)\n\tout := graphql.NewFieldSet(fields)\n" + body +
			"\tout.Dispatch(ctx)\n\treturn out\n}\n"
	}
	unit := object("Unit", "\tout.Values[0] = graphql.MarshalString(\"x\")\n")
	query := object("Query", "\tout.ResolveRootConcurrently(innerCtx, ec.OperationContext, i, nil)\n")
	out, err := objectsInPlace([]byte("package graph\n" + unit + query))
	if err != nil {
		t.Fatal(err)
	}
	got := string(out)
	wantUnit := strings.Replace(strings.Replace(unit, "graphql.NewFieldSet(fields)", "newObject(fields)", 1), "\tout.Dispatch(ctx)\n", "", 1)
	if !strings.Contains(got, wantUnit) || !strings.Contains(got, query) {
		t.Fatalf("rewritten:\n%s", got)
	}
	if _, err := objectsInPlace([]byte("package graph\n" + query)); err == nil {
		t.Fatal("no object function rewritten and no error")
	}
}

// An input type's decoder visits the fields of the input in the schema's
// order from a package-level order, not every field of the type.
func TestInputsInOrder(t *testing.T) {
	decoder := "package graph\n\nfunc (ec *executionContext) unmarshalInputUnitWhereInput(ctx context.Context, obj any) (ent.UnitWhereInput, error) {\n" +
		"\tvar it ent.UnitWhereInput\n\tasMap := map[string]any{}\n" +
		"\tfieldsInOrder := [...]string{\"not\", \"floor\"}\n" +
		"\tfor _, k := range fieldsInOrder {\n\t\tv, ok := asMap[k]\n\t\tif !ok {\n\t\t\tcontinue\n\t\t}\n" +
		"\t\tswitch k {\n\t\tcase \"floor\":\n\t\t\t_ = v\n\t\t}\n\t}\n\treturn it, nil\n}\n"
	out, err := inputsInOrder([]byte(decoder))
	if err != nil {
		t.Fatal(err)
	}
	got := string(out)
	for _, want := range []string{
		"\tfor _, k := range inputOrderUnitWhereInput.present(present[:0], asMap) {\n\t\tv := asMap[k]\n\t\tswitch k {\n",
		"\nvar inputOrderUnitWhereInput = newInputOrder(\"not\", \"floor\")\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the decoder lacks\n%s\ngot\n%s", want, got)
		}
	}
	if strings.Contains(got, "fieldsInOrder") {
		t.Errorf("fieldsInOrder left:\n%s", got)
	}
	changed := strings.Replace(decoder, "\t\tif !ok {\n", "\t\tif !ok || k == \"\" {\n", 1)
	if _, err := inputsInOrder([]byte(changed)); err == nil {
		t.Fatal("a decoder gen does not know and no error")
	}
}

// An input type's decoder fills the value it is given, and an optional
// input's decoder gives it the one value it returns.
func TestInputsByPointer(t *testing.T) {
	decoder := "package graph\n\nfunc (ec *executionContext) unmarshalInputUnitWhereInput(ctx context.Context, obj any) (ent.UnitWhereInput, error) {\n" +
		"\tvar it ent.UnitWhereInput\n\tif obj == nil {\n\t\treturn it, nil\n\t}\n" +
		"\t\t\tif err = ec.Resolvers.UnitWhereInput().HasProject(ctx, &it, data); err != nil {\n\t\t\t\treturn it, err\n\t\t\t}\n" +
		"\treturn it, nil\n}\n" +
		"\nfunc (ec *executionContext) unmarshalOUnitWhereInput2ᚖentᚐUnitWhereInput(ctx context.Context, v any) (*ent.UnitWhereInput, error) {\n" +
		"\tif v == nil {\n\t\treturn nil, nil\n\t}\n\tres, err := ec.unmarshalInputUnitWhereInput(ctx, v)\n\treturn &res, graphql.ErrorOnPath(ctx, err)\n}\n"
	out, err := inputsByPointer([]byte(decoder))
	if err != nil {
		t.Fatal(err)
	}
	got := string(out)
	for _, want := range []string{
		"unmarshalInputUnitWhereInput(ctx context.Context, obj any) (ent.UnitWhereInput, error) {\n\tvar it ent.UnitWhereInput\n" +
			"\terr := ec.unmarshalInputUnitWhereInputInto(ctx, obj, &it)\n\treturn it, err\n}\n",
		"unmarshalInputUnitWhereInputInto(ctx context.Context, obj any, it *ent.UnitWhereInput) error {\n\tif obj == nil {\n\t\treturn nil\n\t}\n" +
			"\t\t\tif err = ec.Resolvers.UnitWhereInput().HasProject(ctx, it, data); err != nil {\n\t\t\t\treturn err\n\t\t\t}\n\treturn nil\n}\n",
		"(*ent.UnitWhereInput, error) {\n\tif v == nil {\n\t\treturn nil, nil\n\t}\n" +
			"\tres := new(ent.UnitWhereInput)\n\terr := ec.unmarshalInputUnitWhereInputInto(ctx, v, res)\n\treturn res, graphql.ErrorOnPath(ctx, err)\n}\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the decoders lack\n%s\ngot\n%s", want, got)
		}
	}
	changed := strings.Replace(decoder, "\t\treturn it, nil\n\t}\n", "\t\treturn it, nil\n\t}\n\tkeep(it)\n", 1)
	if _, err := inputsByPointer([]byte(changed)); err == nil {
		t.Fatal("a decoder gen does not know and no error")
	}
}

// A field read through a unique edge's getter is marshalled from the
// loaded edge when it is loaded, and goes gqlgen's way when it is not.
func TestLoadedEdgesInPlace(t *testing.T) {
	getters := "func (_m *Unit) Project(ctx context.Context) (*Project, error) {\n\tresult, err := _m.Edges.ProjectOrErr()\n\tif IsNotLoaded(err) {\n" +
		"\t\tresult, err = _m.QueryProject().Only(ctx)\n\t}\n\treturn result, err\n}\n"
	loaded := loadedEdges([]byte(getters))
	if loaded["Unit.Project"] != "ProjectOrErr" {
		t.Fatalf("loaded edges %v, want Unit.Project's ProjectOrErr", loaded)
	}
	f := field("project", "Project", "marshalNProject2ᚖestatecrmᚋentᚐProject", "*ent.Project")
	getter := strings.Replace(f, "return obj.Project, nil", "return obj.Project(ctx)", 1)
	out, err := loadedEdgesInPlace([]byte(getter), loaded)
	if err != nil {
		t.Fatal(err)
	}
	got := string(out)
	for _, want := range []string{
		"(ret graphql.Marshaler) {\n\tif v, err := obj.Edges.ProjectOrErr(); err == nil {\n\tfc, err := ec.fieldContext_Unit_project(ctx, field)\n",
		"\tfc.Result = v\n\treturn ec.marshalNProject2ᚖestatecrmᚋentᚐProject(ctx, field.Selections, v)\n}\n\treturn graphql.ResolveField(\n",
		"\t\t\treturn obj.Project(ctx)\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the executor lacks\n%s\ngot\n%s", want, got)
		}
	}
	if _, err := loadedEdgesInPlace([]byte(getter), map[string]string{"Unit.Building": "BuildingOrErr"}); err == nil {
		t.Fatal("no getter rewritten and no error")
	}
}

// Each field's context takes its arguments from graph's typedArguments; a
// conversion of another form is an error, not left as gqlgen wrote it.
func TestArgumentsOnce(t *testing.T) {
	src := "\tif fc.Args, err = ec.field_Customer_visits_args(ctx, field.ArgumentMap(ec.Variables)); err != nil {\n"
	out, err := argumentsOnce([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if want := "\tif fc.Args, err = ec.typedArguments(ctx, field, ec.field_Customer_visits_args); err != nil {\n"; string(out) != want {
		t.Errorf("got %s, want %s", out, want)
	}
	if _, err := argumentsOnce([]byte("field.ArgumentMap(vars)")); err == nil {
		t.Fatal("no call rewritten and no error")
	}
	if _, err := argumentsOnce([]byte(src + "\targs := field.ArgumentMap(ec.Variables)\n")); err == nil {
		t.Fatal("a conversion of another form left and no error")
	}
}

// A field context gets no Child closure, and the lookups it called go.
func TestNoChildContexts(t *testing.T) {
	src := "package graph\n\n" + string(childComment) +
		"\nfunc (ec *executionContext) childFields_Unit(ctx context.Context, field graphql.CollectedField) (*graphql.FieldContext, error) {\n" +
		"\tswitch field.Name {\n\tcase \"id\":\n\t\treturn ec.fieldContext_Unit_id(ctx, field)\n\t}\n\treturn nil, nil\n}\n" +
		"\nfunc (ec *executionContext) fieldContext_UnitEdge_node(_ context.Context, field graphql.CollectedField) (fc *graphql.FieldContext, err error) {\n" +
		"\tfc = &graphql.FieldContext{\n\t\tObject: \"UnitEdge\",\n\t\tField:  field,\n" +
		"\t\tChild: func(ctx context.Context, field graphql.CollectedField) (*graphql.FieldContext, error) {\n\t\t\treturn ec.childFields_Unit(ctx, field)\n\t\t},\n" +
		"\t}\n\treturn fc, nil\n}\n"
	out, err := noChildContexts([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	got := string(out)
	if strings.Contains(got, "Child:") || strings.Contains(got, "childFields_") {
		t.Errorf("Child or a lookup left:\n%s", got)
	}
	if !strings.Contains(got, "\t\tField:  field,\n\t}\n\treturn fc, nil\n") {
		t.Errorf("the field context lost more than its Child:\n%s", got)
	}
	if _, err := noChildContexts([]byte(strings.Replace(src, "return ec.childFields_Unit", "return ec.lookUp", 1))); err == nil {
		t.Fatal("a Child closure gen does not know and no error")
	}
}
