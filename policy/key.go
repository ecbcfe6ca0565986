package policy

import (
	"encoding/binary"
	"reflect"
	"slices"
	"strings"

	celast "cel.dev/cel-go/common/ast"
)

// AppendKey appends to dst an encoding of the parts of in that the
// policy's rules read, so that inputs with equal keys get equal decisions
// from p: a rule sees nothing but its input and its parameters, and the
// CEL environment has no clock or randomness. Parts no rule reads (the
// pod's name, when no rule names input.workload.name) do not change the
// key. The admission webhook caches decisions by it.
//
// A value a rule reads is encoded whole, with its type's structure and
// lengths, so that different values never encode alike.
func (p *Policy) AppendKey(dst []byte, in *Input) []byte {
	return p.key.append(dst, reflect.ValueOf(in).Elem())
}

// reads is the tree of Input fields (json names) that expressions select;
// all means a value is read whole.
type reads struct {
	all    bool
	fields map[string]*reads
}

// add records what e reads of the variable `input`. Every use of input
// that is not a chain of field selections (input passed whole to a
// function, an optional selection, a comprehension variable that shadows
// it) reads all of it, which can only make keys differ more than they
// need to.
func (r *reads) add(e celast.Expr) {
	if path, ok := inputPath(e); ok {
		n := r
		for _, f := range path {
			if n.all {
				return
			}
			if n.fields == nil {
				n.fields = map[string]*reads{}
			}
			if n.fields[f] == nil {
				n.fields[f] = &reads{}
			}
			n = n.fields[f]
		}
		n.all, n.fields = true, nil
		return
	}
	switch e.Kind() {
	case celast.SelectKind:
		r.add(e.AsSelect().Operand())
	case celast.CallKind:
		c := e.AsCall()
		if c.IsMemberFunction() {
			r.add(c.Target())
		}
		for _, a := range c.Args() {
			r.add(a)
		}
	case celast.ListKind:
		for _, el := range e.AsList().Elements() {
			r.add(el)
		}
	case celast.MapKind:
		for _, en := range e.AsMap().Entries() {
			r.add(en.AsMapEntry().Key())
			r.add(en.AsMapEntry().Value())
		}
	case celast.StructKind:
		for _, f := range e.AsStruct().Fields() {
			r.add(f.AsStructField().Value())
		}
	case celast.ComprehensionKind:
		c := e.AsComprehension()
		for _, x := range []celast.Expr{c.IterRange(), c.AccuInit(), c.LoopCondition(), c.LoopStep(), c.Result()} {
			r.add(x)
		}
	}
}

// inputPath returns the fields e selects from input ("input.image.ref":
// image, ref), or false when e is not such a selection.
func inputPath(e celast.Expr) ([]string, bool) {
	var path []string
	for e.Kind() == celast.SelectKind {
		path = append(path, e.AsSelect().FieldName())
		e = e.AsSelect().Operand()
	}
	if e.Kind() != celast.IdentKind {
		return nil, false
	}
	// A checked expression may name a selection by its qualified name.
	parts := strings.Split(e.AsIdent(), ".")
	if parts[0] != "input" {
		return nil, false
	}
	slices.Reverse(path)
	return append(parts[1:], path...), true
}

// keyPlan is reads resolved against the Input type: the fields to encode,
// by index, or the whole value.
type keyPlan struct {
	whole  bool
	fields []fieldPlan
}

type fieldPlan struct {
	index int
	plan  *keyPlan
}

func newKeyPlan(t reflect.Type, r *reads) *keyPlan {
	if r.all || t.Kind() != reflect.Struct {
		return &keyPlan{whole: true}
	}
	p := &keyPlan{}
	for name, child := range r.fields {
		i := slices.IndexFunc(fields(t), func(f reflect.StructField) bool {
			n, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			return n == name
		})
		if i < 0 {
			// Not a field of Input (a shadowed `input`): key on all.
			return &keyPlan{whole: true}
		}
		p.fields = append(p.fields, fieldPlan{index: i, plan: newKeyPlan(t.Field(i).Type, child)})
	}
	slices.SortFunc(p.fields, func(a, b fieldPlan) int { return a.index - b.index })
	return p
}

func fields(t reflect.Type) []reflect.StructField {
	fs := make([]reflect.StructField, t.NumField())
	for i := range fs {
		fs[i] = t.Field(i)
	}
	return fs
}

func (p *keyPlan) append(dst []byte, v reflect.Value) []byte {
	if p.whole {
		return appendValue(dst, v)
	}
	for _, f := range p.fields {
		dst = f.plan.append(dst, v.Field(f.index))
	}
	return dst
}

// appendValue encodes v for a key. Input holds only the kinds below.
func appendValue(dst []byte, v reflect.Value) []byte {
	switch v.Kind() {
	case reflect.Bool:
		if v.Bool() {
			return append(dst, 1)
		}
		return append(dst, 0)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return binary.AppendVarint(dst, v.Int())
	case reflect.String:
		s := v.String()
		return append(binary.AppendUvarint(dst, uint64(len(s))), s...)
	case reflect.Slice:
		dst = binary.AppendUvarint(dst, uint64(v.Len()))
		for i := range v.Len() {
			dst = appendValue(dst, v.Index(i))
		}
		return dst
	case reflect.Map:
		// Map order is random; a key must not be.
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		dst = binary.AppendUvarint(dst, uint64(len(keys)))
		for _, k := range keys {
			dst = appendValue(appendValue(dst, k), v.MapIndex(k))
		}
		return dst
	case reflect.Struct:
		for i := range v.NumField() {
			dst = appendValue(dst, v.Field(i))
		}
		return dst
	}
	panic("policy: no key encoding for " + v.Type().String())
}
