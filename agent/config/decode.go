package config

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// FieldError is one problem of the file: where it is (the file's base name,
// the line when known, the key path) and what is wrong.
type FieldError struct {
	File string
	Line int    // 0: not known (a required key that is missing)
	Path string // "upstream.token_env", "locations[0421].timezone", "ftp.users[1].name"
	Msg  string
}

func (e FieldError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteString(":" + strconv.Itoa(e.Line))
		}
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem of a file, in the order of their lines (those
// without a line last). Error prints one per line.
type Errors []FieldError

func (es Errors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// decoder decodes a YAML node tree into Go values strictly, collecting every
// problem (unknown key, bad value, key given twice) with its path and line
// instead of stopping at the first, and indexing the line of every key path
// for the validation errors that come later.
type decoder struct {
	kinds    map[string]Kind
	mappers  []string // names of the kinds whose ids appear under locations
	lines    map[string]int
	errs     []FieldError
	failed   []string // paths whose value could not be decoded
	sections map[string]Section
}

var (
	unmarshalerType     = reflect.TypeFor[yaml.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	locationType        = reflect.TypeFor[Location]()
)

func newDecoder(kinds []Kind) *decoder {
	d := &decoder{kinds: map[string]Kind{}, lines: map[string]int{}, sections: map[string]Section{}}
	builtin, _ := yamlFields(reflect.TypeFor[Config]())
	for _, k := range kinds {
		if _, clash := builtin[k.Name]; clash || k.Name == "" || k.New == nil {
			panic(fmt.Sprintf("config: kind %q: a section needs a name that is not a built-in section, and New", k.Name))
		}
		d.kinds[k.Name] = k
		if _, ok := k.New().(LocationMapper); ok {
			d.mappers = append(d.mappers, k.Name)
		}
	}
	slices.Sort(d.mappers)
	return d
}

func (d *decoder) bad(path string, line int, format string, a ...any) {
	d.errs = append(d.errs, FieldError{Line: line, Path: path, Msg: fmt.Sprintf(format, a...)})
	d.failed = append(d.failed, path)
}

// config decodes the whole document.
func (d *decoder) config(doc *yaml.Node, c *Config) {
	n := doc
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return
		}
		n = n.Content[0]
	}
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.bad("", n.Line, "the file must be a mapping of sections (agent:, upstream:, locations:, …), not %s", kindName(n))
		return
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range d.kinds {
			if !yield(k) {
				return
			}
		}
	})
	d.structure(n, reflect.ValueOf(c).Elem(), "", names, func(k, v *yaml.Node, p string) bool {
		kind, ok := d.kinds[k.Value]
		if !ok {
			return false
		}
		if isNull(v) {
			return true // "vend:" with nothing: no section, as if left out
		}
		sec := kind.New()
		rv := reflect.ValueOf(sec)
		if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
			panic(fmt.Sprintf("config: section %s: New must return a pointer to a struct, not %T", kind.Name, sec))
		}
		d.value(v, rv.Elem(), p)
		d.sections[kind.Name] = sec
		return true
	})
}

func (d *decoder) value(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	t := v.Type()
	pt := reflect.PointerTo(t)
	if pt.Implements(unmarshalerType) || pt.Implements(textUnmarshalerType) {
		d.leaf(n, v, path)
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		if isNull(n) {
			return
		}
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		d.value(n, v.Elem(), path)
	case reflect.Struct:
		if t == locationType {
			d.location(n, v, path)
			return
		}
		d.structure(n, v, path, nil, nil)
	case reflect.Map:
		d.mapping(n, v, path)
	case reflect.Slice:
		d.list(n, v, path)
	default:
		d.leaf(n, v, path)
	}
}

// mapping decodes a mapping into a map with string keys, refusing a key
// given twice.
func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		return
	}
	t := v.Type()
	if n.Kind != yaml.MappingNode || t.Key().Kind() != reflect.String {
		d.bad(path, n.Line, "must be a mapping (key: value), not %s", kindName(n))
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(t))
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		p := path + "[" + k.Value + "]"
		if l, dup := seen[k.Value]; dup {
			d.bad(p, k.Line, "given twice (first at line %d)", l)
			continue
		}
		seen[k.Value] = k.Line
		d.lines[p] = k.Line
		e := reflect.New(t.Elem()).Elem()
		d.value(val, e, p)
		v.SetMapIndex(reflect.ValueOf(k.Value).Convert(t.Key()), e)
	}
}

// list decodes a sequence into a slice.
func (d *decoder) list(n *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.bad(path, n.Line, "must be a list, not %s", kindName(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, c := range n.Content {
		p := fmt.Sprintf("%s[%d]", path, i)
		d.lines[p] = c.Line
		d.value(c, s.Index(i), p)
		d.nameLines(c, path)
	}
	v.Set(s)
}

// nameLines lets an element with a name also be found by it, for the line
// of an error: ftp.users[timeclock].location.
func (d *decoder) nameLines(c *yaml.Node, path string) {
	if c.Kind != yaml.MappingNode {
		return
	}
	for j := 0; j+1 < len(c.Content); j += 2 {
		if c.Content[j].Value != "name" || c.Content[j+1].Value == "" {
			continue
		}
		np := path + "[" + c.Content[j+1].Value + "]"
		d.lines[np] = c.Line
		for m := 0; m+1 < len(c.Content); m += 2 {
			d.lines[np+"."+c.Content[m].Value] = c.Content[m].Line
		}
	}
}

// structure decodes a mapping into a struct by its yaml tags. A key that is
// no field is offered to extra (which reports whether it took it); failing
// that it is unknown, with a suggestion among the fields and more.
func (d *decoder) structure(n *yaml.Node, v reflect.Value, path string, more []string, extra func(k, v *yaml.Node, path string) bool) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.bad(path, n.Line, "must be a mapping (key: value), not %s", kindName(n))
		return
	}
	fields, names := yamlFields(v.Type())
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Tag == "!!merge" { // <<: *defaults
			for _, m := range mergeSources(val) {
				d.structure(m, v, path, more, extra)
			}
			continue
		}
		p := joinPath(path, k.Value)
		if l, dup := seen[k.Value]; dup {
			d.bad(p, k.Line, "given twice (first at line %d)", l)
			continue
		}
		seen[k.Value] = k.Line
		d.lines[p] = k.Line
		if f, ok := fields[k.Value]; ok {
			d.value(val, v.FieldByIndex(f), p)
			continue
		}
		if extra != nil && extra(k, val, p) {
			continue
		}
		d.unknown(p, k.Line, k.Value, append(names, more...))
	}
}

// location decodes one entry of locations: its own keys, and the ids of the
// sources by their names.
func (d *decoder) location(n *yaml.Node, v reflect.Value, path string) {
	loc := v.Addr().Interface().(*Location)
	d.structure(n, v, path, d.mappers, func(k, val *yaml.Node, p string) bool {
		if !slices.Contains(d.mappers, k.Value) {
			return false
		}
		var id string
		d.leaf(val, reflect.ValueOf(&id).Elem(), p)
		if loc.IDs == nil {
			loc.IDs = map[string]string{}
		}
		loc.IDs[k.Value] = id
		return true
	})
}

// leaf decodes one value with yaml (and the type's own UnmarshalText).
func (d *decoder) leaf(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if isNull(n) {
		return
	}
	if n.Kind != yaml.ScalarNode {
		d.bad(path, n.Line, "must be one value, not %s", kindName(n))
		return
	}
	tmp := reflect.New(v.Type())
	if err := n.Decode(tmp.Interface()); err != nil {
		d.bad(path, n.Line, "%s", valueMessage(err, n, v.Type()))
		return
	}
	v.Set(tmp.Elem())
}

func valueMessage(err error, n *yaml.Node, t reflect.Type) string {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err.Error() // the type's own message, e.g. "lots" is not a size (use 50MB, …)
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return fmt.Sprintf("%q is not a whole number", n.Value)
	case reflect.Float32, reflect.Float64:
		return fmt.Sprintf("%q is not a number", n.Value)
	case reflect.Bool:
		return fmt.Sprintf("%q is not true or false", n.Value)
	}
	return fmt.Sprintf("%q has the wrong type", n.Value)
}

func (d *decoder) unknown(path string, line int, key string, known []string) {
	msg := "unknown key"
	if s := nearest(key, known); s != "" {
		msg += " (did you mean " + s + "?)"
	} else if len(known) > 0 {
		known = slices.Clone(known)
		slices.Sort(known)
		msg += " (the keys here are " + strings.Join(known, ", ") + ")"
	}
	d.errs = append(d.errs, FieldError{Line: line, Path: path, Msg: msg})
}

// nearest is the known key closest to key when it is a near miss: at most one
// edit for keys of up to five characters, two for longer ones (a swap of two
// neighbours counts as one).
func nearest(key string, known []string) string {
	limit := 1
	if len(key) > 5 {
		limit = 2
	}
	best, bestD := "", limit+1
	for _, k := range known {
		if dist := editDistance(strings.ToLower(key), k); dist < bestD {
			best, bestD = k, dist
		}
	}
	return best
}

// editDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and swaps of neighbours.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range rb {
		d[0][j+1] = j + 1
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// yamlFields maps a struct's yaml keys to field indexes (embedded structs'
// fields included), and lists the keys.
func yamlFields(t reflect.Type) (map[string][]int, []string) {
	out := map[string][]int{}
	var names []string
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() || f.Anonymous {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Index
		names = append(names, name)
	}
	return out, names
}

// mergeSources are the mappings a merge key brings in: one alias or a list.
func mergeSources(n *yaml.Node) []*yaml.Node {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind != yaml.SequenceNode {
		return []*yaml.Node{n}
	}
	var out []*yaml.Node
	for _, c := range n.Content {
		out = append(out, mergeSources(c)...)
	}
	return out
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func isNull(n *yaml.Node) bool {
	return n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return fmt.Sprintf("the value %q", n.Value)
}

// lineOf finds the line of a key path, or of its nearest parent.
func lineOf(lines map[string]int, path string) int {
	for path != "" {
		if l, ok := lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError turns a YAML parse error into a FieldError with its line, and
// explains the usual cause of escape errors: a Windows path in double quotes.
func syntaxError(err error, raw []byte) FieldError {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	fe := FieldError{Line: line, Msg: msg}
	if strings.Contains(msg, "unknown escape character") || strings.Contains(msg, "expected hexdecimal number") {
		if fe.Line == 0 { // yaml gives no line for its first one
			fe.Line = badEscapeLine(raw)
		}
		fe.Path = keyAtLine(raw, fe.Line)
		fe.Msg = msg + `: in double quotes a backslash starts an escape (\n, \t, \x…); write Windows paths in single quotes ('C:\StoreAgent\data') or with forward slashes ("C:/StoreAgent/data")`
	}
	return fe
}

// badEscapeLine is the first line holding, in double quotes, a backslash
// YAML does not read as an escape (\S, or \x without two hex digits); 0
// when none is found.
func badEscapeLine(raw []byte) int {
	hexN := map[byte]int{'x': 2, 'u': 4, 'U': 8}
	for k, l := range strings.Split(string(raw), "\n") {
		quoted := false
		for j := 0; j < len(l); j++ {
			switch c := l[j]; {
			case c == '"':
				quoted = !quoted
			case c == '\\' && quoted:
				if j+1 >= len(l) {
					break // a line break: an escaped newline is fine
				}
				e := l[j+1]
				if n, ok := hexN[e]; ok {
					if j+2+n > len(l) || strings.Trim(l[j+2:j+2+n], "0123456789abcdefABCDEF") != "" {
						return k + 1
					}
					j += 1 + n
					continue
				}
				if !strings.ContainsRune("0abtnvfre \"/\\N_LP\t", rune(e)) {
					return k + 1
				}
				j++
			}
		}
	}
	return 0
}

var keyLine = regexp.MustCompile(`^(\s*)(?:-\s+)?([A-Za-z0-9_.-]+|"[^"]*"|'[^']*')\s*:(?:\s|$)`)

// keyAtLine names, as well as plain text allows, the key path written on a
// line: its key and the keys of the less indented lines above it.
func keyAtLine(raw []byte, line int) string {
	lines := strings.Split(string(raw), "\n")
	if line < 1 || line > len(lines) {
		return ""
	}
	m := keyLine.FindStringSubmatch(lines[line-1])
	if m == nil {
		return ""
	}
	path, indent := []string{strings.Trim(m[2], `"'`)}, len(m[1])
	for i := line - 2; i >= 0 && indent > 0; i-- {
		p := keyLine.FindStringSubmatch(lines[i])
		if p == nil || len(p[1]) >= indent {
			continue
		}
		path, indent = append([]string{strings.Trim(p[2], `"'`)}, path...), len(p[1])
	}
	// A flow mapping on the line ({id: a, data_dir: "C:\x"}): the key
	// before the quoted backslash.
	if q := quotedKey.FindStringSubmatch(lines[line-1]); q != nil && q[1] != path[len(path)-1] {
		path = append(path, q[1])
	}
	return strings.Join(path, ".")
}

var quotedKey = regexp.MustCompile(`([A-Za-z0-9_.-]+)\s*:\s*"[^"]*\\`)
