package shopify

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/tmas/storeagent/importers/record"
)

// Bulk operations read a long window (a backfill) in one export instead of
// thousands of paged queries: Fetch starts the export and saves its id,
// then waits for it and streams the JSONL result, one page of orders per
// call, saving the byte offset reached. A crash resumes from that offset of
// the same export.

const bulkRunMutation = `mutation StoreagentBulkExport($query: String!) {
  bulkOperationRunQuery(query: $query, groupObjects: true) {
    bulkOperation { id status }
    userErrors { field message code }
  }
}`

// The export is tracked by its own id; since 2026-01 several may run at
// once, so currentBulkOperation (deprecated) may name another job's.
const bulkStatusQuery = `query StoreagentBulkStatus($id: ID!) {
  bulkOperation(id: $id) { id status errorCode objectCount url }
}`

// runningBulkQuery lists this app's running exports, to adopt its own
// after a crash between starting it and saving its id.
const runningBulkQuery = `query StoreagentRunningBulk {
  bulkOperations(first: 10, query: "status:created OR status:running", sortKey: CREATED_AT, reverse: true) {
    nodes { id status query }
  }
}`

type bulkOp struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	ErrorCode   string `json:"errorCode"`
	ObjectCount string `json:"objectCount"`
	URL         string `json:"url"`
	Query       string `json:"query"`
}

func (op *bulkOp) running() bool {
	return op.Status == "CREATED" || op.Status == "RUNNING" || op.Status == "CANCELING"
}

var errNotGrouped = errors.New("shopify: the bulk result is not grouped by order")

// bulkRefused is Shopify refusing to start an export.
type bulkRefused struct{ msg string }

func (e *bulkRefused) Error() string { return "shopify: Shopify refused the bulk export: " + e.msg }

func (i *Importer) fallBack(st *cursorState, page *record.Page, why string) {
	note := fmt.Sprintf("the bulk export of orders updated from %s to %s %s: reading them page by page instead",
		st.Since.Format("2006-01-02 15:04"), st.Until.Format("2006-01-02 15:04"), why)
	i.log.Warn(note)
	page.Notes = append(page.Notes, note)
	st.Bulk, st.NoBulk, st.After = nil, true, ""
	page.More = true
}

func (i *Importer) fetchBulk(ctx context.Context, st *cursorState, page *record.Page) error {
	if st.Bulk == nil {
		id, err := i.startBulk(ctx, bulkQuery(searchQuery(st), i.staff()))
		var refused *bulkRefused
		if errors.As(err, &refused) {
			i.fallBack(st, page, "could not start ("+refused.msg+")")
			return nil
		}
		if err != nil {
			return err
		}
		i.log.Info("started a bulk export", "operation", id, "since", st.Since, "until", st.Until)
		st.Bulk = &bulkCursor{ID: id}
		page.More = true
		return nil
	}
	op, err := i.waitBulk(ctx, st.Bulk.ID)
	if err != nil {
		return err
	}
	if op.Status != "COMPLETED" && op.ErrorCode == "ACCESS_DENIED" && i.staff() {
		// read_users is granted but the shop's plan hides staff members:
		// export again without them rather than read the window page by page.
		i.mu.Lock()
		i.staffDenied = true
		i.mu.Unlock()
		i.log.Warn("the bulk export was denied staff members (Shopify shows them only on the Advanced and Plus plans): exporting again without staff ids", "operation", st.Bulk.ID)
		st.Bulk, page.More = nil, true
		return nil
	}
	if op.Status != "COMPLETED" {
		why := "ended " + op.Status
		if op.ErrorCode != "" {
			why += " (" + op.ErrorCode + ")"
		}
		i.fallBack(st, page, why)
		return nil
	}
	if op.URL == "" { // no orders in the window
		st.Bulk, st.Done, page.Reached = nil, true, st.Until
		return nil
	}
	orders, next, lines, eof, err := i.readBulk(ctx, op.URL, st.Bulk.Offset, i.cfg.PageSize)
	switch {
	case errors.Is(err, errBulkExpired):
		i.fallBack(st, page, "result expired before it was read")
		return nil
	case errors.Is(err, errNotGrouped):
		i.fallBack(st, page, "result came back ungrouped")
		return nil
	case err != nil:
		return err
	}
	i.take(orders, st, page)
	st.Bulk.Offset = next
	st.Bulk.Line += lines
	if eof { // the export's lines are in no order: only its end says how far
		st.Bulk, st.Done, page.Reached = nil, true, st.Until
		return nil
	}
	page.More = true
	return nil
}

// ownRunning returns the id of a running export of this very query (one a
// run started and crashed before its id was saved), or "".
func (i *Importer) ownRunning(ctx context.Context, q string) (string, error) {
	var d struct {
		Ops struct {
			Nodes []bulkOp `json:"nodes"`
		} `json:"bulkOperations"`
	}
	if _, err := i.c.do(ctx, request{what: "the running bulk exports", query: runningBulkQuery, cost: 13}, &d); err != nil {
		if ctx.Err() != nil || errors.Is(err, record.ErrCredentials) {
			return "", err
		}
		// An API version without bulkOperations, a passing failure: start
		// one; at worst an orphan export runs to its end unread.
		i.log.Warn("cannot list the running bulk exports", "error", err)
		return "", nil
	}
	for _, op := range d.Ops.Nodes {
		if op.running() && op.Query == q {
			return op.ID, nil
		}
	}
	return "", nil
}

// startBulk starts the export, unless this very export is already running
// (adopted: a run that crashed before saving its id); if Shopify runs as
// many exports as it allows, it waits.
func (i *Importer) startBulk(ctx context.Context, q string) (string, error) {
	deadline := i.now().Add(i.bulkWait)
	for {
		if id, err := i.ownRunning(ctx, q); err != nil || id != "" {
			if id != "" {
				i.log.Info("adopting this importer's running bulk export", "operation", id)
			}
			return id, err
		}
		var d struct {
			Run struct {
				BulkOperation *bulkOp `json:"bulkOperation"`
				UserErrors    []struct {
					Message string `json:"message"`
					Code    string `json:"code"`
				} `json:"userErrors"`
			} `json:"bulkOperationRunQuery"`
		}
		if _, err := i.c.do(ctx, request{what: "a bulk export of orders", query: bulkRunMutation, vars: map[string]any{"query": q}, cost: 10}, &d); err != nil {
			return "", err
		}
		if op := d.Run.BulkOperation; op != nil && len(d.Run.UserErrors) == 0 {
			return op.ID, nil
		}
		if len(d.Run.UserErrors) == 0 {
			return "", &bulkRefused{"no operation and no reason given"}
		}
		ue := d.Run.UserErrors[0]
		if ue.Code != "OPERATION_IN_PROGRESS" && ue.Code != "LIMIT_REACHED" {
			return "", &bulkRefused{trim(ue.Message, 200)}
		}
		if i.now().After(deadline) {
			return "", fmt.Errorf("shopify: other bulk exports of this app have been running for over %s (Shopify runs at most five at a time, one before API version 2026-01): the next run tries again", i.bulkWait)
		}
		i.log.Info("another bulk export is running, waiting for it", "shopify_says", ue.Message)
		if err := i.sleep(ctx, i.bulkPoll); err != nil {
			return "", err
		}
	}
}

func (i *Importer) waitBulk(ctx context.Context, id string) (*bulkOp, error) {
	deadline := i.now().Add(i.bulkWait)
	for {
		var d struct {
			Node *bulkOp `json:"bulkOperation"`
		}
		if _, err := i.c.do(ctx, request{what: "the bulk export", query: bulkStatusQuery, vars: map[string]any{"id": id}, cost: 1}, &d); err != nil {
			return nil, err
		}
		if d.Node == nil {
			return &bulkOp{ID: id, Status: "EXPIRED"}, nil
		}
		if !d.Node.running() {
			return d.Node, nil
		}
		if i.now().After(deadline) {
			return nil, fmt.Errorf("shopify: the bulk export %s is still running after %s: the next run keeps waiting for it", id, i.bulkWait)
		}
		if err := i.sleep(ctx, i.bulkPoll); err != nil {
			return nil, err
		}
	}
}

// readBulk streams the result from byte offset on and returns up to max
// complete orders, the offset of the first line not consumed, the number of
// lines consumed, and whether the file ended. Lines are grouped: an order,
// then its agreements, each followed by its sales.
func (i *Importer) readBulk(ctx context.Context, url string, offset int64, max int) ([]gOrder, int64, int64, bool, error) {
	body, err := i.c.download(ctx, url, offset)
	if err != nil {
		return nil, 0, 0, false, err
	}
	defer body.Close()
	br := bufio.NewReaderSize(body, 64<<10)
	g := &bulkGroup{max: max}
	pos, lines := offset, int64(0)
	for {
		raw, rerr := br.ReadBytes('\n')
		if rerr != nil && rerr != io.EOF {
			if ctx.Err() != nil {
				return nil, 0, 0, false, ctx.Err()
			}
			return nil, 0, 0, false, fmt.Errorf("shopify: the bulk result download broke off (%s): the next run resumes it", netReason(rerr))
		}
		if line := bytes.TrimSpace(raw); len(line) > 0 {
			full, err := g.add(line, lines+1)
			if err != nil {
				return nil, 0, 0, false, err
			}
			if full { // the page is full: this line starts the next one
				return g.orders, pos, lines, false, nil
			}
		}
		pos += int64(len(raw))
		lines++
		if rerr == io.EOF {
			g.flush()
			return g.orders, pos, lines, true, nil
		}
	}
}

// bulkGroup joins grouped JSONL lines into orders: an order, then its
// agreements, each followed by its sales.
type bulkGroup struct {
	max        int
	orders     []gOrder
	cur        *gOrder
	agreements map[string]int // agreement id -> index in cur's edges
}

func (g *bulkGroup) flush() {
	if g.cur != nil {
		g.orders = append(g.orders, *g.cur)
		g.cur = nil
	}
}

// add takes line n. It reports true, without taking the line, when the
// line starts an order and max orders are complete.
func (g *bulkGroup) add(line []byte, n int64) (bool, error) {
	var probe struct {
		ParentID string `json:"__parentId"`
	}
	if err := json.Unmarshal(line, &probe); err != nil {
		return false, fmt.Errorf("shopify: line %d of the bulk result is unreadable: %v", n, err)
	}
	switch {
	case probe.ParentID == "":
		g.flush()
		if len(g.orders) >= g.max {
			return true, nil
		}
		var o gOrder
		if err := json.Unmarshal(line, &o); err != nil {
			return false, fmt.Errorf("shopify: order line of the bulk result is unreadable: %v", err)
		}
		g.cur, g.agreements = &o, map[string]int{}
	case g.cur != nil && probe.ParentID == g.cur.ID:
		var a gAgreement
		if err := json.Unmarshal(line, &a); err != nil {
			return false, fmt.Errorf("shopify: agreement line of the bulk result is unreadable: %v", err)
		}
		g.cur.Agreements.Edges = append(g.cur.Agreements.Edges, agreementEdge{Node: a})
		g.agreements[a.ID] = len(g.cur.Agreements.Edges) - 1
	default:
		k, ok := g.agreements[probe.ParentID]
		if g.cur == nil || !ok {
			return false, errNotGrouped
		}
		var sl gSale
		if err := json.Unmarshal(line, &sl); err != nil {
			return false, fmt.Errorf("shopify: sale line of the bulk result is unreadable: %v", err)
		}
		g.cur.Agreements.Edges[k].Node.Sales.Nodes = append(g.cur.Agreements.Edges[k].Node.Sales.Nodes, sl)
	}
	return false, nil
}
