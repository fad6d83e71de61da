package graph

// inputOrder maps the fields of an input type to their places in the
// schema: the generated decoders (see graph/gen) visit an input's fields in
// that order, as gqlgen's do, so that of two bad fields the same one is
// reported.
type inputOrder map[string]int

func newInputOrder(names ...string) inputOrder {
	o := make(inputOrder, len(names))
	for i, n := range names {
		o[n] = i
	}
	return o
}

// present appends to keys the fields of in that the type has, in the
// schema's order. Inputs hold a few fields: each is put in place as it is
// found.
func (o inputOrder) present(keys []string, in map[string]any) []string {
	for k := range in {
		i, ok := o[k]
		if !ok {
			continue
		}
		keys = append(keys, k)
		for j := len(keys) - 1; j > 0 && o[keys[j-1]] > i; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}
