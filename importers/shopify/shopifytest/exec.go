package shopifytest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// obj is one object of the data graph. Field values are plain values
// (string, bool, int, nil), *obj, []*obj, []any for scalar lists, a static
// connection ([]*obj under a connection field) or a resolver.
type obj struct {
	typ string
	f   map[string]any
}

// resolver computes a field from its arguments. A connection resolver
// returns a *connPage.
type resolver func(args map[string]any) (any, error)

// connPage is one page of a connection, with a cursor per node.
type connPage struct {
	nodes   []*obj
	cursors []string
	hasNext bool
	hasPrev bool
}

// exec runs one parsed operation.
type exec struct {
	s      schemaDef
	doc    *document
	vars   map[string]any
	scopes map[string]bool
	errs   []*gqlError
	actual int
	bulk   *bulkCollector
	flat   map[flatKey][]*selection
}

type flatKey struct {
	typ  string
	sels *selection
	n    int
}

// analyze validates a selection set against the schema and returns its
// requested cost: objects 1, scalars 0, connections 2 + first × (1 + the
// cost of a node), an interface the most expensive of its fragments.
func (e *exec) analyze(typ string, sels []*selection, path []any, connDepth int) int {
	td := e.s[typ]
	common := 0
	perCond := map[string]int{}
	for _, sel := range sels {
		switch {
		case sel.spread != "" || sel.name == "":
			cond, c, ok := e.analyzeFragment(typ, sel, path, connDepth)
			switch {
			case !ok:
			case cond == typ || e.s.implements(typ, cond):
				common += c
			default:
				perCond[cond] += c
			}
		case sel.name == "__typename":
		default:
			def, ok := td.fields[sel.name]
			if !ok {
				e.fail(sel, path, "undefinedField", fmt.Sprintf("Field '%s' doesn't exist on type '%s'", sel.name, typ),
					"typeName", typ, "fieldName", sel.name)
				continue
			}
			p := append(append([]any{}, path...), sel.key())
			ft := e.s[def.typ]
			switch {
			case def.conn:
				common += e.analyzeConn(sel, def, p, connDepth)
			case ft.kind == kScalar:
				if sel.sel != nil {
					e.fail(sel, path, "selectionMismatch", fmt.Sprintf("Selections can't be made on scalars (field '%s' returns %s but has selections)", sel.name, def.typ))
				}
			default:
				if sel.sel == nil {
					e.fail(sel, path, "selectionMismatch", fmt.Sprintf("Field must have selections (field '%s' returns %s but has no selections. Did you mean '%s { ... }'?)", sel.name, def.typ, sel.name))
					continue
				}
				if typ == "Mutation" {
					common += 10
					e.analyze(def.typ, sel.sel, p, connDepth)
					continue
				}
				common += 1 + e.analyze(def.typ, sel.sel, p, connDepth)
			}
		}
	}
	most := 0
	for _, c := range perCond {
		most = max(most, c)
	}
	return common + most
}

// analyzeFragment validates a fragment spread or inline fragment and
// returns its type condition and cost; false when it is invalid.
func (e *exec) analyzeFragment(typ string, sel *selection, path []any, connDepth int) (string, int, bool) {
	cond, sub := sel.typeCond, sel.sel
	if sel.spread != "" {
		fd := e.doc.frags[sel.spread]
		if fd == nil {
			e.fail(sel, path, "undefinedFragment", fmt.Sprintf("Fragment %s was used, but not defined", sel.spread))
			return "", 0, false
		}
		cond, sub = fd.typeCond, fd.sel
	}
	if cond == "" {
		cond = typ
	}
	if e.s[cond] == nil || !(e.s.implements(cond, typ) || e.s.implements(typ, cond)) {
		e.fail(sel, path, "inlineFragmentSpreadInvalid", fmt.Sprintf("Fragment on %s can't be spread inside %s", cond, typ))
		return "", 0, false
	}
	return cond, e.analyze(cond, sub, path, connDepth), true
}

func (e *exec) analyzeConn(sel *selection, def fieldDef, path []any, connDepth int) int {
	args, err := e.args(sel)
	if err != nil {
		e.fail(sel, path, "argumentLiteralsIncompatible", err.Error())
		return 0
	}
	n := 0
	if e.bulk != nil {
		e.bulk.conns++
		e.bulk.depth = max(e.bulk.depth, connDepth)
		if connDepth == 0 && (sel.name == "node" || sel.name == "nodes") {
			e.fail(sel, path, "bulkNodeNotAllowed", "The top-level node and nodes fields can't be used in a bulk query")
		}
	} else {
		first, hasFirst := intArg(args, "first")
		last, hasLast := intArg(args, "last")
		switch {
		case !hasFirst && !hasLast:
			e.fail(sel, path, "missingRequiredArguments", "you must provide one of first or last")
			return 0
		case first > 250 || last > 250:
			e.fail(sel, path, "argumentLiteralsIncompatible", fmt.Sprintf("The %s connection can return at most 250 objects per page (first: %d)", sel.name, max(first, last)))
			return 0
		}
		n = max(first, last)
	}
	if sel.sel == nil {
		e.fail(sel, path, "selectionMismatch", fmt.Sprintf("Field must have selections (field '%s' returns %sConnection but has no selections)", sel.name, def.typ))
		return 0
	}
	nodeCost := 0
	for _, sub := range sel.sel {
		switch sub.name {
		case "nodes":
			nodeCost += e.analyzeNodes(sub, def.typ, path, connDepth)
		case "edges":
			for _, es := range sub.sel {
				switch es.name {
				case "node":
					nodeCost += e.analyzeNodes(es, def.typ, path, connDepth)
				case "cursor", "__typename":
				default:
					e.fail(es, path, "undefinedField", fmt.Sprintf("Field '%s' doesn't exist on type '%sEdge'", es.name, def.typ))
				}
			}
		case "pageInfo":
			if sub.sel == nil {
				e.fail(sub, path, "selectionMismatch", "Field must have selections (field 'pageInfo' returns PageInfo but has no selections)")
				continue
			}
			e.analyze("PageInfo", sub.sel, path, connDepth)
		case "__typename":
		default:
			e.fail(sub, path, "undefinedField", fmt.Sprintf("Field '%s' doesn't exist on type '%sConnection'", sub.name, def.typ))
		}
	}
	return 2 + n*(1+nodeCost)
}

func (e *exec) analyzeNodes(sel *selection, typ string, path []any, connDepth int) int {
	if sel.sel == nil {
		e.fail(sel, path, "selectionMismatch", fmt.Sprintf("Field must have selections (field '%s' returns %s but has no selections)", sel.name, typ))
		return 0
	}
	return e.analyze(typ, sel.sel, path, connDepth+1)
}

func (e *exec) fail(sel *selection, path []any, code, msg string, extra ...string) {
	ge := &gqlError{Message: msg, Line: sel.line, Col: sel.col, Code: code}
	if len(path) > 0 {
		ge.Path = append([]any{}, path...)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		if ge.Extra == nil {
			ge.Extra = map[string]any{}
		}
		ge.Extra[extra[i]] = extra[i+1]
	}
	e.errs = append(e.errs, ge)
}

func (e *exec) args(sel *selection) (map[string]any, error) {
	out := map[string]any{}
	for _, a := range sel.args {
		v, err := a.val.resolve(e.vars)
		if err != nil {
			return nil, err
		}
		out[a.name] = v
	}
	return out, nil
}

func intArg(args map[string]any, name string) (int, bool) {
	switch v := args[name].(type) {
	case int64:
		return int(v), true
	case float64:
		return int(v), true
	case int:
		return v, true
	}
	return 0, false
}

func strArg(args map[string]any, name string) string {
	s, _ := args[name].(string)
	return s
}

// collect flattens a selection set for a concrete type, expanding the
// fragments that apply to it.
func (e *exec) collect(typ string, sels []*selection, out []*selection) []*selection {
	for _, sel := range sels {
		switch {
		case sel.spread != "":
			if fd := e.doc.frags[sel.spread]; fd != nil && e.s.implements(typ, fd.typeCond) {
				out = e.collect(typ, fd.sel, out)
			}
		case sel.name == "":
			if sel.typeCond == "" || e.s.implements(typ, sel.typeCond) {
				out = e.collect(typ, sel.sel, out)
			}
		default:
			merged := false
			for i, o := range out {
				if o.key() == sel.key() {
					cp := *o
					cp.sel = append(append([]*selection{}, o.sel...), sel.sel...)
					out[i] = &cp
					merged = true
					break
				}
			}
			if !merged {
				out = append(out, sel)
			}
		}
	}
	return out
}

// flatten is collect, remembered per type and selection set.
func (e *exec) flatten(typ string, sels []*selection) []*selection {
	if len(sels) == 0 {
		return nil
	}
	k := flatKey{typ, sels[0], len(sels)}
	if fs, ok := e.flat[k]; ok {
		return fs
	}
	if e.flat == nil {
		e.flat = map[flatKey][]*selection{}
	}
	fs := e.collect(typ, sels, nil)
	e.flat[k] = fs
	return fs
}

// object executes a selection set on one object.
func (e *exec) object(o *obj, sels []*selection, path []any) ordered {
	fs := e.flatten(o.typ, sels)
	out := make(ordered, 0, len(fs))
	td := e.s[o.typ]
	for _, sel := range fs {
		if sel.name == "__typename" {
			out = append(out, kv{sel.key(), o.typ})
			continue
		}
		def := td.fields[sel.name]
		ft := e.s[def.typ]
		if ft.kind == kScalar && !def.conn && def.scope == "" {
			raw := o.f[sel.name]
			if _, ok := raw.(resolver); !ok {
				out = append(out, kv{sel.key(), raw})
				continue
			}
		}
		p := append(append(make([]any, 0, len(path)+1), path...), sel.key())
		if def.scope != "" && !e.scopes[def.scope] {
			e.errs = append(e.errs, &gqlError{
				Message: fmt.Sprintf("Access denied for %s field. Required access: `%s` access scope.", sel.name, def.scope),
				Line:    sel.line, Col: sel.col, Path: p, Code: "ACCESS_DENIED",
				Extra: map[string]any{"requiredAccess": fmt.Sprintf("`%s` access scope.", def.scope),
					"documentation": "https://shopify.dev/api/usage/access-scopes"},
			})
			out = append(out, kv{sel.key(), nil})
			continue
		}
		raw := o.f[sel.name]
		args, err := e.args(sel)
		if err != nil {
			e.fail(sel, p, "argumentLiteralsIncompatible", err.Error())
			out = append(out, kv{sel.key(), nil})
			continue
		}
		if fn, ok := raw.(resolver); ok {
			raw, err = fn(args)
			if err != nil {
				ge, ok := err.(*gqlError)
				if !ok {
					ge = &gqlError{Message: err.Error()}
				}
				ge.Line, ge.Col, ge.Path = sel.line, sel.col, p
				e.errs = append(e.errs, ge)
				out = append(out, kv{sel.key(), nil})
				continue
			}
		}
		if def.conn {
			if e.bulk != nil && len(path) > 0 {
				e.bulk.children(e, o, raw, sel, def, p)
				continue
			}
			out = append(out, kv{sel.key(), e.conn(raw, sel, args, p)})
			continue
		}
		if ft.kind == kScalar {
			out = append(out, kv{sel.key(), raw})
			continue
		}
		switch v := raw.(type) {
		case *obj:
			if v == nil {
				out = append(out, kv{sel.key(), nil})
				continue
			}
			e.actual++
			out = append(out, kv{sel.key(), e.object(v, sel.sel, p)})
		case []*obj:
			e.actual++
			list := make([]any, 0, len(v))
			for i, item := range v {
				list = append(list, e.object(item, sel.sel, append(p, i)))
			}
			out = append(out, kv{sel.key(), list})
		default:
			out = append(out, kv{sel.key(), nil})
		}
	}
	return out
}

// conn executes a connection field.
func (e *exec) conn(raw any, sel *selection, args map[string]any, path []any) any {
	var pg *connPage
	switch v := raw.(type) {
	case *connPage:
		pg = v
	case []*obj:
		var err error
		pg, err = pageStatic(v, args)
		if err != nil {
			e.fail(sel, path, "invalidCursor", err.Error())
			return nil
		}
	default:
		return nil
	}
	e.actual += 2 + len(pg.nodes)
	out := ordered{}
	for _, sub := range sel.sel {
		switch sub.name {
		case "__typename":
			out = append(out, kv{sub.key(), "Connection"})
		case "nodes":
			list := make([]any, 0, len(pg.nodes))
			for i, n := range pg.nodes {
				list = append(list, e.object(n, sub.sel, append(append([]any{}, path...), sub.key(), i)))
			}
			out = append(out, kv{sub.key(), list})
		case "edges":
			list := make([]any, 0, len(pg.nodes))
			for i, n := range pg.nodes {
				edge := ordered{}
				for _, es := range sub.sel {
					switch es.name {
					case "cursor":
						edge = append(edge, kv{es.key(), pg.cursors[i]})
					case "node":
						edge = append(edge, kv{es.key(), e.object(n, es.sel, append(append([]any{}, path...), sub.key(), i, es.key()))})
					case "__typename":
						edge = append(edge, kv{es.key(), "Edge"})
					}
				}
				list = append(list, edge)
			}
			out = append(out, kv{sub.key(), list})
		case "pageInfo":
			pi := ordered{}
			for _, ps := range e.collect("PageInfo", sub.sel, nil) {
				var v any
				switch ps.name {
				case "hasNextPage":
					v = pg.hasNext
				case "hasPreviousPage":
					v = pg.hasPrev
				case "startCursor":
					if len(pg.cursors) > 0 {
						v = pg.cursors[0]
					}
				case "endCursor":
					if len(pg.cursors) > 0 {
						v = pg.cursors[len(pg.cursors)-1]
					}
				case "__typename":
					v = "PageInfo"
				}
				pi = append(pi, kv{ps.key(), v})
			}
			out = append(out, kv{sub.key(), pi})
		}
	}
	return out
}

// Cursors look like Shopify's: base64 of {"last_id":…,"last_value":…}.
type cursorKey struct {
	LastID    int64  `json:"last_id"`
	LastValue string `json:"last_value"`
}

func encodeCursor(id int64, value string) string {
	b, _ := json.Marshal(cursorKey{id, value})
	return base64.StdEncoding.EncodeToString(b)
}

func decodeCursor(s string) (cursorKey, error) {
	var k cursorKey
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return k, &gqlError{Message: "Invalid cursor for current pagination sort.", Code: "invalidCursor"}
	}
	if err := json.Unmarshal(b, &k); err != nil {
		return k, &gqlError{Message: "Invalid cursor for current pagination sort.", Code: "invalidCursor"}
	}
	return k, nil
}

func numericID(gid string) int64 {
	n, _ := strconv.ParseInt(gid[strings.LastIndexByte(gid, '/')+1:], 10, 64)
	return n
}

// pageStatic pages a fixed list by first/after (or last/before).
func pageStatic(all []*obj, args map[string]any) (*connPage, error) {
	ids := make([]int64, len(all))
	for i, o := range all {
		id, _ := o.f["id"].(string)
		ids[i] = numericID(id)
	}
	lo, hi := 0, len(all)
	if a := strArg(args, "after"); a != "" {
		k, err := decodeCursor(a)
		if err != nil {
			return nil, err
		}
		lo = sort.Search(len(ids), func(i int) bool { return ids[i] > k.LastID })
		for i, id := range ids { // lists are in creation order, ids ascending; be exact anyway
			if id == k.LastID {
				lo = i + 1
			}
		}
	}
	if b := strArg(args, "before"); b != "" {
		k, err := decodeCursor(b)
		if err != nil {
			return nil, err
		}
		for i, id := range ids {
			if id == k.LastID {
				hi = i
			}
		}
	}
	lo = min(lo, hi)
	pg := &connPage{hasPrev: lo > 0, hasNext: hi < len(all)}
	if first, ok := intArg(args, "first"); ok && hi-lo > first {
		hi = lo + first
		pg.hasNext = true
	}
	if last, ok := intArg(args, "last"); ok && hi-lo > last {
		lo = hi - last
		pg.hasPrev = true
	}
	for i := lo; i < hi; i++ {
		pg.nodes = append(pg.nodes, all[i])
		pg.cursors = append(pg.cursors, encodeCursor(ids[i], strconv.FormatInt(ids[i], 10)))
	}
	return pg, nil
}

// bulkCollector turns the result of a bulk query into JSONL lines: every node
// of a nested connection becomes its own line with __parentId.
type bulkCollector struct {
	conns int
	depth int
	lines []bulkLine
	roots int
}

type bulkLine struct {
	depth int
	obj   ordered
}

func (b *bulkCollector) children(e *exec, parent *obj, raw any, sel *selection, def fieldDef, path []any) {
	var nodes []*obj
	switch v := raw.(type) {
	case []*obj:
		nodes = v
	case *connPage:
		nodes = v.nodes
	}
	parentID, _ := parent.f["id"].(string)
	depth := 0
	for _, p := range path {
		if s, ok := p.(string); ok && s == "\x00child" {
			depth++
		}
	}
	nodeSels := nodeSelections(sel)
	for _, n := range nodes {
		e.actual++
		slot := len(b.lines)
		b.lines = append(b.lines, bulkLine{})
		line := e.object(n, nodeSels, append(append([]any{}, path...), "\x00child"))
		line = append(line, kv{"__parentId", parentID})
		b.lines[slot] = bulkLine{depth: depth + 1, obj: line}
	}
}

// render writes the lines, grouped under their parents or (as Shopify does
// by default) with all children after all parents.
func (b *bulkCollector) render(grouped bool) []byte {
	lines := b.lines
	if !grouped {
		lines = append([]bulkLine{}, lines...)
		sort.SliceStable(lines, func(i, j int) bool { return lines[i].depth < lines[j].depth })
	}
	var out []byte
	for _, l := range lines {
		out, _ = appendJSON(out, l.obj)
		out = append(out, '\n')
	}
	return out
}

// nodeSelections is what a connection's selection asks of each node, under
// nodes { … } or edges { node { … } }.
func nodeSelections(sel *selection) []*selection {
	var out []*selection
	for _, sub := range sel.sel {
		switch sub.name {
		case "nodes":
			out = append(out, sub.sel...)
		case "edges":
			for _, es := range sub.sel {
				if es.name == "node" {
					out = append(out, es.sel...)
				}
			}
		}
	}
	return out
}
