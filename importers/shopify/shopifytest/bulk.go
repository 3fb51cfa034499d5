package shopifytest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

type bulkOp struct {
	n         int
	query     string
	createdAt time.Time
	doneAt    time.Time
	data      []byte
	objects   int
	roots     int
	sig       string
	canceled  bool
	errorCode string
	foreign   bool // another job of the app (StartForeignBulk)
}

func (op *bulkOp) gid() string { return "gid://shopify/BulkOperation/" + strconv.Itoa(7200000+op.n) }

// StartForeignBulk simulates another job of the same app running a bulk
// query (of products) for d: before API version 2026-01, starting one
// answers OPERATION_IN_PROGRESS until then; from 2026-01 it is one of the
// five that may run at once. bulkOperations lists it.
func (s *Server) StartForeignBulk(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Clock.Now()
	s.bulkOps = append(s.bulkOps, &bulkOp{n: len(s.bulkOps) + 1, query: "{ products { edges { node { id title } } } }",
		createdAt: now.Add(-time.Second), doneAt: now.Add(d), foreign: true})
}

// maxConcurrentBulk is how many bulk queries may run at once: five from API
// version 2026-01, one before.
func maxConcurrentBulk(version string) int {
	if version == "unstable" || version >= "2026-01" {
		return 5
	}
	return 1
}

// FailNextBulk makes the next bulk operation end FAILED with this error code
// (INTERNAL_SERVER_ERROR, TIMEOUT, ACCESS_DENIED).
func (s *Server) FailNextBulk(code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failBulk = code
}

func userErrors(code, msg string, field ...string) ordered {
	var f any
	if len(field) > 0 {
		fs := make([]any, len(field))
		for i, x := range field {
			fs[i] = x
		}
		f = fs
	}
	return ordered{{"field", f}, {"message", msg}, {"code", code}}
}

func (q *queryRun) bulkPayload(op *bulkOp, errs ...ordered) *obj {
	var bo any = (*obj)(nil)
	if op != nil {
		bo = q.bulkObj(op)
	}
	ue := make([]*obj, 0, len(errs))
	for _, e := range errs {
		f, _ := e.get("field")
		m, _ := e.get("message")
		c, _ := e.get("code")
		ue = append(ue, &obj{typ: "BulkOperationUserError", f: map[string]any{"field": f, "message": m, "code": c}})
	}
	return &obj{typ: "BulkOperationRunQueryPayload", f: map[string]any{"bulkOperation": bo, "userErrors": ue}}
}

// running lists the bulk queries still running.
func (q *queryRun) running() []*bulkOp {
	var out []*bulkOp
	for _, op := range q.s.bulkOps {
		if !op.canceled && q.now.Before(op.doneAt) {
			out = append(out, op)
		}
	}
	return out
}

func (q *queryRun) bulkRun(args map[string]any) (any, error) {
	s := q.s
	if run := q.running(); len(run) >= maxConcurrentBulk(q.version) {
		if len(run) == 1 {
			return q.bulkPayload(nil, userErrors("OPERATION_IN_PROGRESS",
				"A bulk query operation for this app and shop is already in progress: "+run[0].gid()+".")), nil
		}
		return q.bulkPayload(nil, userErrors("OPERATION_IN_PROGRESS",
			"A maximum of 5 bulk query operations can run at a time for this app and shop.")), nil
	}
	text := strArg(args, "query")
	grouped, _ := args["groupObjects"].(bool)
	grouped = grouped && !s.opts.UngroupedBulk
	doc, err := parseDocument(text)
	if err != nil {
		return q.bulkPayload(nil, userErrors("INVALID", "Invalid bulk query: "+err.Error(), "query")), nil
	}
	op := doc.ops[0]
	if op.kind != "query" {
		return q.bulkPayload(nil, userErrors("INVALID", "Bulk queries must be queries, not mutations.", "query")), nil
	}
	bc := &bulkCollector{}
	e := &exec{s: s.sch, doc: doc, vars: map[string]any{}, scopes: s.scopes, bulk: bc}
	e.analyze("QueryRoot", op.sel, nil, 0)
	switch {
	case len(e.errs) > 0:
		return q.bulkPayload(nil, userErrors("INVALID", "Invalid bulk query: "+e.errs[0].Message, "query")), nil
	case bc.conns == 0:
		return q.bulkPayload(nil, userErrors("INVALID", "Bulk queries must contain at least one connection.", "query")), nil
	case bc.conns > 5:
		return q.bulkPayload(nil, userErrors("INVALID", "Bulk queries cannot contain more than 5 connections.", "query")), nil
	case bc.depth > 2:
		return q.bulkPayload(nil, userErrors("INVALID", "Bulk queries cannot contain connections with a nesting depth greater than 2.", "query")), nil
	}
	// Run it now on a snapshot; it reports done after BulkDuration.
	root := q.root("QueryRoot")
	for _, sel := range e.collect("QueryRoot", op.sel, nil) {
		def := s.sch["QueryRoot"].fields[sel.name]
		if !def.conn {
			continue
		}
		if def.scope != "" && !s.scopes[def.scope] {
			return q.bulkPayload(nil, userErrors("INVALID", "Access denied for "+sel.name+" field. Required access: `"+def.scope+"` access scope.", "query")), nil
		}
		a, _ := e.args(sel)
		delete(a, "first")
		raw, err := root.f[sel.name].(resolver)(a)
		if err != nil {
			return q.bulkPayload(nil, userErrors("INVALID", "Invalid bulk query: "+err.Error(), "query")), nil
		}
		nodeSels := nodeSelections(sel)
		for _, n := range raw.(*connPage).nodes {
			slot := len(bc.lines)
			bc.lines = append(bc.lines, bulkLine{})
			bc.lines[slot] = bulkLine{depth: 0, obj: e.object(n, nodeSels, []any{"\x00root"})}
			bc.roots++
		}
	}
	// A field the app may not read fails the whole export, as on Shopify
	// (staffMember without read_users, for one).
	errorCode := s.failBulk
	for _, ge := range e.errs {
		if ge.Code == "ACCESS_DENIED" && errorCode == "" {
			errorCode = "ACCESS_DENIED"
		}
	}
	sig := make([]byte, 8)
	_, _ = rand.Read(sig)
	s.stats.BulkRuns++
	bop := &bulkOp{n: len(s.bulkOps) + 1, query: text, createdAt: q.now, doneAt: q.now.Add(s.opts.BulkDuration),
		data: bc.render(grouped), objects: len(bc.lines), roots: bc.roots, sig: hex.EncodeToString(sig), errorCode: errorCode}
	s.failBulk = ""
	s.bulkOps = append(s.bulkOps, bop)
	return q.bulkPayload(bop), nil
}

func (q *queryRun) bulkCancel(args map[string]any) (any, error) {
	for _, op := range q.s.bulkOps {
		if op.gid() == strArg(args, "id") {
			if q.now.Before(op.doneAt) {
				op.canceled = true
				op.doneAt = q.now
			}
			return &obj{typ: "BulkOperationCancelPayload", f: map[string]any{"bulkOperation": q.bulkObj(op), "userErrors": []*obj{}}}, nil
		}
	}
	return &obj{typ: "BulkOperationCancelPayload", f: map[string]any{"bulkOperation": (*obj)(nil),
		"userErrors": []*obj{{typ: "BulkOperationUserError", f: map[string]any{"field": []any{"id"}, "message": "Bulk operation does not exist", "code": nil}}}}}, nil
}

func (q *queryRun) bulkObj(op *bulkOp) *obj {
	status := "COMPLETED"
	var completed, url, errCode any
	switch {
	case op.canceled:
		status = "CANCELED"
	case q.now.Before(op.doneAt):
		status = "RUNNING"
		if q.now.Equal(op.createdAt) {
			status = "CREATED"
		}
	case op.errorCode != "":
		status, errCode = "FAILED", op.errorCode
	}
	objects, roots, size := "0", "0", "0"
	if status == "COMPLETED" {
		completed = ts(op.doneAt)
		objects, roots, size = strconv.Itoa(op.objects), strconv.Itoa(op.roots), strconv.Itoa(len(op.data))
		if op.objects > 0 {
			url = q.s.URL + "/bulk/" + strconv.Itoa(op.n) + ".jsonl?sig=" + op.sig
		}
	}
	return &obj{typ: "BulkOperation", f: map[string]any{
		"id": op.gid(), "status": status, "errorCode": errCode, "createdAt": ts(op.createdAt), "completedAt": completed,
		"objectCount": objects, "rootObjectCount": roots, "fileSize": size, "url": url, "partialDataUrl": nil,
		"query": op.query, "type": "QUERY",
	}}
}

// serveBulkFile serves a finished operation's JSONL like a signed storage
// URL: no access token, byte ranges honoured.
func (s *Server) serveBulkFile(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/bulk/"), ".jsonl")
	n, _ := strconv.Atoi(name)
	s.mu.Lock()
	var op *bulkOp
	if n >= 1 && n <= len(s.bulkOps) {
		op = s.bulkOps[n-1]
	}
	s.mu.Unlock()
	if op == nil || r.URL.Query().Get("sig") != op.sig {
		http.Error(w, "<?xml version='1.0' encoding='UTF-8'?><Error><Code>AccessDenied</Code></Error>", http.StatusForbidden)
		return
	}
	w.Header().Set("Content-Type", "application/jsonl")
	http.ServeContent(w, r, name+".jsonl", op.createdAt, bytes.NewReader(op.data))
}

// bulkOperations serves the connection of the app's bulk operations, with
// the search terms status:… and operation_type:… (joined by AND, with OR
// between alternatives), sortKey CREATED_AT (or ID) and reverse.
func (q *queryRun) bulkOperations(args map[string]any) (any, error) {
	var alts [][][2]string
	for _, alt := range strings.Split(strArg(args, "query"), " OR ") {
		var terms [][2]string
		for _, tok := range strings.Fields(alt) {
			if strings.EqualFold(tok, "AND") {
				continue
			}
			k, v, _ := strings.Cut(tok, ":")
			terms = append(terms, [2]string{strings.ToLower(k), strings.ToUpper(strings.Trim(v, `'"`))})
		}
		alts = append(alts, terms)
	}
	match := func(o *obj) bool {
		for _, terms := range alts {
			ok := true
			for _, t := range terms {
				switch t[0] {
				case "status":
					ok = ok && o.f["status"] == t[1]
				case "operation_type":
					ok = ok && t[1] == "QUERY"
				}
			}
			if ok {
				return true
			}
		}
		return false
	}
	var all []*obj
	for _, op := range q.s.bulkOps {
		if o := q.bulkObj(op); match(o) {
			all = append(all, o)
		}
	}
	if rev, _ := args["reverse"].(bool); rev {
		slices.Reverse(all)
	}
	return pageStatic(all, args)
}
