package shopifytest

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// This file is a small GraphQL parser: enough of the language (operations,
// variables, aliases, arguments, inline fragments, named fragments, block
// strings) for the double to read a client's query the way Shopify would,
// instead of matching it against expected text.

type tokKind int

const (
	tokEOF tokKind = iota
	tokPunct
	tokName
	tokInt
	tokFloat
	tokString
)

type token struct {
	kind tokKind
	text string
	line int
	col  int
}

type lexer struct {
	src  string
	pos  int
	line int
	col  int
}

func (l *lexer) errorf(format string, args ...any) error {
	return &gqlError{Message: fmt.Sprintf(format, args...), Line: l.line, Col: l.col, Code: "parseError"}
}

func (l *lexer) advance(n int) {
	for i := 0; i < n && l.pos < len(l.src); i++ {
		if l.src[l.pos] == '\n' {
			l.line++
			l.col = 1
		} else {
			l.col++
		}
		l.pos++
	}
}

func (l *lexer) next() (token, error) {
	l.skipIgnored()
	if l.pos >= len(l.src) {
		return token{kind: tokEOF, line: l.line, col: l.col}, nil
	}
	line, col := l.line, l.col
	c := l.src[l.pos]
	switch {
	case strings.HasPrefix(l.src[l.pos:], "..."):
		l.advance(3)
		return token{tokPunct, "...", line, col}, nil
	case strings.ContainsRune("!$()[]{}:=@|&", rune(c)):
		l.advance(1)
		return token{tokPunct, string(c), line, col}, nil
	case isNameStart(c):
		return l.name(), nil
	case c == '-' || isDigit(c):
		return l.number(), nil
	case strings.HasPrefix(l.src[l.pos:], `"""`):
		return l.blockString()
	case c == '"':
		return l.quoted()
	}
	return token{}, l.errorf("unexpected character %q", c)
}

// skipIgnored skips white space, commas and comments.
func (l *lexer) skipIgnored() {
	for l.pos < len(l.src) {
		switch c := l.src[l.pos]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',':
			l.advance(1)
		case c == '#':
			for l.pos < len(l.src) && l.src[l.pos] != '\n' {
				l.advance(1)
			}
		default:
			return
		}
	}
}

func isNameStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool     { return c >= '0' && c <= '9' }

func (l *lexer) name() token {
	start, line, col := l.pos, l.line, l.col
	for l.pos < len(l.src) && (isNameStart(l.src[l.pos]) || isDigit(l.src[l.pos])) {
		l.advance(1)
	}
	return token{tokName, l.src[start:l.pos], line, col}
}

func (l *lexer) number() token {
	start, line, col := l.pos, l.line, l.col
	kind := tokInt
	l.advance(1)
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case isDigit(c):
		case c == '.' || c == 'e' || c == 'E' || (kind == tokFloat && (c == '+' || c == '-')):
			kind = tokFloat
		default:
			return token{kind, l.src[start:l.pos], line, col}
		}
		l.advance(1)
	}
	return token{kind, l.src[start:l.pos], line, col}
}

func (l *lexer) blockString() (token, error) {
	line, col := l.line, l.col
	l.advance(3)
	end := strings.Index(l.src[l.pos:], `"""`)
	if end < 0 {
		return token{}, l.errorf("unterminated block string")
	}
	raw := l.src[l.pos : l.pos+end]
	l.advance(end + 3)
	return token{tokString, strings.TrimSpace(strings.ReplaceAll(raw, `\"""`, `"""`)), line, col}, nil
}

func (l *lexer) quoted() (token, error) {
	line, col := l.line, l.col
	l.advance(1)
	var b strings.Builder
	for {
		if l.pos >= len(l.src) || l.src[l.pos] == '\n' {
			return token{}, l.errorf("unterminated string")
		}
		c := l.src[l.pos]
		switch {
		case c == '"':
			l.advance(1)
			return token{tokString, b.String(), line, col}, nil
		case c == '\\' && l.pos+1 < len(l.src):
			if err := l.escape(&b); err != nil {
				return token{}, err
			}
		default:
			b.WriteByte(c)
			l.advance(1)
		}
	}
}

// escape reads one backslash escape into b.
func (l *lexer) escape(b *strings.Builder) error {
	e := l.src[l.pos+1]
	switch e {
	case 'n':
		b.WriteByte('\n')
	case 't':
		b.WriteByte('\t')
	case 'r':
		b.WriteByte('\r')
	case 'b':
		b.WriteByte('\b')
	case 'f':
		b.WriteByte('\f')
	case 'u':
		if l.pos+6 <= len(l.src) {
			if r, err := strconv.ParseUint(l.src[l.pos+2:l.pos+6], 16, 32); err == nil {
				b.WriteRune(rune(r))
				l.advance(6)
				return nil
			}
		}
		return l.errorf("bad unicode escape")
	default:
		b.WriteByte(e)
	}
	l.advance(2)
	return nil
}

// Parsed document.

type document struct {
	ops   []*operation
	frags map[string]*fragmentDef
}

type operation struct {
	kind string // query or mutation
	name string
	vars []varDef
	sel  []*selection
}

type varDef struct {
	name string
	def  *value
}

type fragmentDef struct {
	name     string
	typeCond string
	sel      []*selection
}

// selection is a field, an inline fragment (name empty, typeCond set) or a
// fragment spread (spread set).
type selection struct {
	alias    string
	name     string
	args     []argument
	sel      []*selection
	typeCond string
	spread   string
	line     int
	col      int
}

func (s *selection) key() string {
	if s.alias != "" {
		return s.alias
	}
	return s.name
}

type argument struct {
	name string
	val  *value
}

type valueKind int

const (
	valVar valueKind = iota
	valInt
	valFloat
	valString
	valBool
	valNull
	valEnum
	valList
	valObject
)

type value struct {
	kind valueKind
	text string
	list []*value
	obj  []argument
}

type parser struct {
	lx  lexer
	tok token
}

func parseDocument(src string) (*document, error) {
	p := &parser{lx: lexer{src: src, line: 1, col: 1}}
	if err := p.read(); err != nil {
		return nil, err
	}
	doc := &document{frags: map[string]*fragmentDef{}}
	for p.tok.kind != tokEOF {
		switch {
		case p.isPunct("{"):
			sel, err := p.selectionSet()
			if err != nil {
				return nil, err
			}
			doc.ops = append(doc.ops, &operation{kind: "query", sel: sel})
		case p.tok.kind == tokName && (p.tok.text == "query" || p.tok.text == "mutation" || p.tok.text == "subscription"):
			op, err := p.operation()
			if err != nil {
				return nil, err
			}
			doc.ops = append(doc.ops, op)
		case p.tok.kind == tokName && p.tok.text == "fragment":
			f, err := p.fragment()
			if err != nil {
				return nil, err
			}
			doc.frags[f.name] = f
		default:
			return nil, p.unexpected()
		}
	}
	if len(doc.ops) == 0 {
		return nil, &gqlError{Message: "Query must contain an operation", Code: "parseError", Line: 1, Col: 1}
	}
	return doc, nil
}

func (p *parser) read() error {
	t, err := p.lx.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

func (p *parser) isPunct(s string) bool { return p.tok.kind == tokPunct && p.tok.text == s }

func (p *parser) unexpected() error {
	what := p.tok.text
	if p.tok.kind == tokEOF {
		what = "end of file"
	}
	return &gqlError{Message: fmt.Sprintf("Parse error on %q", what), Line: p.tok.line, Col: p.tok.col, Code: "parseError"}
}

func (p *parser) expectPunct(s string) error {
	if !p.isPunct(s) {
		return p.unexpected()
	}
	return p.read()
}

func (p *parser) name() (string, error) {
	if p.tok.kind != tokName {
		return "", p.unexpected()
	}
	n := p.tok.text
	return n, p.read()
}

func (p *parser) operation() (*operation, error) {
	op := &operation{kind: p.tok.text}
	if err := p.read(); err != nil {
		return nil, err
	}
	if p.tok.kind == tokName {
		op.name = p.tok.text
		if err := p.read(); err != nil {
			return nil, err
		}
	}
	if p.isPunct("(") {
		if err := p.read(); err != nil {
			return nil, err
		}
		for !p.isPunct(")") {
			if err := p.expectPunct("$"); err != nil {
				return nil, err
			}
			n, err := p.name()
			if err != nil {
				return nil, err
			}
			if err := p.expectPunct(":"); err != nil {
				return nil, err
			}
			if err := p.typeRef(); err != nil {
				return nil, err
			}
			vd := varDef{name: n}
			if p.isPunct("=") {
				if err := p.read(); err != nil {
					return nil, err
				}
				if vd.def, err = p.value(true); err != nil {
					return nil, err
				}
			}
			op.vars = append(op.vars, vd)
		}
		if err := p.read(); err != nil {
			return nil, err
		}
	}
	if err := p.directives(); err != nil {
		return nil, err
	}
	sel, err := p.selectionSet()
	if err != nil {
		return nil, err
	}
	op.sel = sel
	return op, nil
}

func (p *parser) typeRef() error {
	if p.isPunct("[") {
		if err := p.read(); err != nil {
			return err
		}
		if err := p.typeRef(); err != nil {
			return err
		}
		if err := p.expectPunct("]"); err != nil {
			return err
		}
	} else if _, err := p.name(); err != nil {
		return err
	}
	if p.isPunct("!") {
		return p.read()
	}
	return nil
}

func (p *parser) directives() error {
	for p.isPunct("@") {
		if err := p.read(); err != nil {
			return err
		}
		if _, err := p.name(); err != nil {
			return err
		}
		if p.isPunct("(") {
			if _, err := p.arguments(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *parser) fragment() (*fragmentDef, error) {
	if err := p.read(); err != nil {
		return nil, err
	}
	n, err := p.name()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokName || p.tok.text != "on" {
		return nil, p.unexpected()
	}
	if err := p.read(); err != nil {
		return nil, err
	}
	tc, err := p.name()
	if err != nil {
		return nil, err
	}
	if err := p.directives(); err != nil {
		return nil, err
	}
	sel, err := p.selectionSet()
	if err != nil {
		return nil, err
	}
	return &fragmentDef{name: n, typeCond: tc, sel: sel}, nil
}

func (p *parser) selectionSet() ([]*selection, error) {
	if err := p.expectPunct("{"); err != nil {
		return nil, err
	}
	var out []*selection
	for !p.isPunct("}") {
		if p.tok.kind == tokEOF {
			return nil, p.unexpected()
		}
		s, err := p.selection()
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, p.unexpected()
	}
	return out, p.read()
}

func (p *parser) selection() (*selection, error) {
	s := &selection{line: p.tok.line, col: p.tok.col}
	if p.isPunct("...") {
		if err := p.read(); err != nil {
			return nil, err
		}
		if p.tok.kind == tokName && p.tok.text == "on" {
			if err := p.read(); err != nil {
				return nil, err
			}
			tc, err := p.name()
			if err != nil {
				return nil, err
			}
			s.typeCond = tc
		} else if p.tok.kind == tokName {
			s.spread = p.tok.text
			if err := p.read(); err != nil {
				return nil, err
			}
			return s, p.directives()
		}
		if err := p.directives(); err != nil {
			return nil, err
		}
		sel, err := p.selectionSet()
		if err != nil {
			return nil, err
		}
		s.sel = sel
		return s, nil
	}
	n, err := p.name()
	if err != nil {
		return nil, err
	}
	if p.isPunct(":") {
		if err := p.read(); err != nil {
			return nil, err
		}
		s.alias = n
		if n, err = p.name(); err != nil {
			return nil, err
		}
	}
	s.name = n
	if p.isPunct("(") {
		if s.args, err = p.arguments(); err != nil {
			return nil, err
		}
	}
	if err := p.directives(); err != nil {
		return nil, err
	}
	if p.isPunct("{") {
		if s.sel, err = p.selectionSet(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (p *parser) arguments() ([]argument, error) {
	if err := p.expectPunct("("); err != nil {
		return nil, err
	}
	var out []argument
	for !p.isPunct(")") {
		a, err := p.namedValue(false)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, p.read()
}

// namedValue reads "name: value", an argument or an object's field.
func (p *parser) namedValue(constant bool) (argument, error) {
	n, err := p.name()
	if err != nil {
		return argument{}, err
	}
	if err := p.expectPunct(":"); err != nil {
		return argument{}, err
	}
	v, err := p.value(constant)
	if err != nil {
		return argument{}, err
	}
	return argument{name: n, val: v}, nil
}

func (p *parser) value(constant bool) (*value, error) {
	t := p.tok
	switch {
	case p.isPunct("$") && !constant:
		if err := p.read(); err != nil {
			return nil, err
		}
		n, err := p.name()
		if err != nil {
			return nil, err
		}
		return &value{kind: valVar, text: n}, nil
	case p.isPunct("["):
		if err := p.read(); err != nil {
			return nil, err
		}
		v := &value{kind: valList}
		for !p.isPunct("]") {
			item, err := p.value(constant)
			if err != nil {
				return nil, err
			}
			v.list = append(v.list, item)
		}
		return v, p.read()
	case p.isPunct("{"):
		if err := p.read(); err != nil {
			return nil, err
		}
		v := &value{kind: valObject}
		for !p.isPunct("}") {
			field, err := p.namedValue(constant)
			if err != nil {
				return nil, err
			}
			v.obj = append(v.obj, field)
		}
		return v, p.read()
	case t.kind == tokInt:
		return &value{kind: valInt, text: t.text}, p.read()
	case t.kind == tokFloat:
		return &value{kind: valFloat, text: t.text}, p.read()
	case t.kind == tokString:
		return &value{kind: valString, text: t.text}, p.read()
	case t.kind == tokName:
		switch t.text {
		case "true", "false":
			return &value{kind: valBool, text: t.text}, p.read()
		case "null":
			return &value{kind: valNull}, p.read()
		}
		return &value{kind: valEnum, text: t.text}, p.read()
	}
	return nil, p.unexpected()
}

// resolve turns a literal or variable into a Go value: string, int64,
// float64, bool, nil, []any or map[string]any. Enums become strings.
func (v *value) resolve(vars map[string]any) (any, error) {
	switch v.kind {
	case valVar:
		x, ok := vars[v.text]
		if !ok {
			return nil, nil
		}
		return normaliseJSON(x), nil
	case valInt:
		return strconv.ParseInt(v.text, 10, 64)
	case valFloat:
		return strconv.ParseFloat(v.text, 64)
	case valString, valEnum:
		return v.text, nil
	case valBool:
		return v.text == "true", nil
	case valNull:
		return nil, nil
	case valList:
		out := make([]any, 0, len(v.list))
		for _, item := range v.list {
			x, err := item.resolve(vars)
			if err != nil {
				return nil, err
			}
			out = append(out, x)
		}
		return out, nil
	case valObject:
		out := map[string]any{}
		for _, a := range v.obj {
			x, err := a.val.resolve(vars)
			if err != nil {
				return nil, err
			}
			out[a.name] = x
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown value")
}

// normaliseJSON converts json.Number values decoded from variables.
func normaliseJSON(x any) any {
	switch v := x.(type) {
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return i
		}
		f, _ := v.Float64()
		return f
	case float64:
		if v == float64(int64(v)) {
			return int64(v)
		}
		return v
	case []any:
		out := make([]any, len(v))
		for i := range v {
			out[i] = normaliseJSON(v[i])
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = normaliseJSON(e)
		}
		return out
	}
	return x
}

// gqlError is one entry of a GraphQL response's "errors".
type gqlError struct {
	Message string
	Line    int
	Col     int
	Path    []any
	Code    string
	Extra   map[string]any
}

func (e *gqlError) Error() string { return e.Message }

func (e *gqlError) MarshalJSON() ([]byte, error) {
	m := ordered{{"message", e.Message}}
	if e.Line > 0 {
		m = append(m, kv{"locations", []any{ordered{{"line", e.Line}, {"column", e.Col}}}})
	}
	if len(e.Path) > 0 {
		m = append(m, kv{"path", e.Path})
	}
	ext := ordered{}
	if e.Code != "" {
		ext = append(ext, kv{"code", e.Code})
	}
	for _, k := range slices.Sorted(maps.Keys(e.Extra)) {
		ext = append(ext, kv{k, e.Extra[k]})
	}
	if len(ext) > 0 {
		m = append(m, kv{"extensions", ext})
	}
	return json.Marshal(m)
}
