package pgstore

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tmas/storeagent/cmd/tmas-receiver/receiver"
)

// Store is a receiver.Store on PostgreSQL.
type Store struct {
	pool *pgxpool.Pool
}

var _ receiver.Store = (*Store)(nil)

// migrations are applied in order, each once; a new version is appended,
// never edited.
var migrations = []string{
	1: `CREATE TABLE records (
		key_hash bytea PRIMARY KEY,  -- SHA-256 of key: keys of any length fit the index
		key      text NOT NULL,
		rev      bigint NOT NULL,
		line     text NOT NULL,      -- the line as received
		agent    text NOT NULL,
		batch    text NOT NULL,      -- Idempotency-Key of the batch that stored rev
		seen     text NOT NULL       -- JSON {rev: distinct stored batches carrying key@rev}
	);
	CREATE TABLE batches (
		agent       text NOT NULL,
		idem        text NOT NULL,
		hash        text NOT NULL,
		accepted    integer NOT NULL,
		duplicates  integer NOT NULL,
		redelivered integer NOT NULL,
		stored_at   timestamptz NOT NULL,
		PRIMARY KEY (agent, idem)
	)`,
	2: `CREATE TABLE agents (
		id            text PRIMARY KEY,
		last_batch_at timestamptz,
		batches       bigint NOT NULL DEFAULT 0,
		status        text,
		status_at     timestamptz
	)`,
}

// migrationLock is the advisory lock key held while migrating.
const migrationLock = 0x746d6173 // "tmas"

// Open connects to the database of dsn (a postgres:// URL; its search_path
// parameter chooses the schema) and migrates its schema.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres store: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres store: %w", err)
	}
	s := &Store{pool: pool}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres store %s: %w", safeDSN(cfg), err)
	}
	return s, nil
}

// safeDSN names the database without the password.
func safeDSN(cfg *pgxpool.Config) string {
	c := cfg.ConnConfig
	return fmt.Sprintf("%s@%s:%d/%s", c.User, c.Host, c.Port, c.Database)
}

// Version returns the schema version (the last migration applied).
func (s *Store) Version(ctx context.Context) (int, error) {
	var v int
	err := s.pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

func (s *Store) migrate(ctx context.Context) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock); err != nil {
			return fmt.Errorf("migration lock: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return fmt.Errorf("schema_migrations: %w", err)
		}
		var have int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
			return err
		}
		if have >= len(migrations) {
			return fmt.Errorf("the schema is at version %d, newer than this receiver's %d", have, len(migrations)-1)
		}
		for v := have + 1; v < len(migrations); v++ {
			if _, err := tx.Exec(ctx, migrations[v]); err != nil {
				return fmt.Errorf("migration %d: %w", v, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, v); err != nil {
				return fmt.Errorf("migration %d: %w", v, err)
			}
		}
		return nil
	})
}

// Close closes the connections.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

func (s *Store) LookupBatch(ctx context.Context, agent, idem string) (receiver.BatchInfo, bool, error) {
	return lookup(ctx, s.pool, agent, idem)
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func lookup(ctx context.Context, q querier, agent, idem string) (receiver.BatchInfo, bool, error) {
	var b receiver.BatchInfo
	err := q.QueryRow(ctx, `SELECT hash, accepted, duplicates, redelivered, stored_at FROM batches WHERE agent = $1 AND idem = $2`,
		agent, idem).Scan(&b.Hash, &b.Accepted, &b.Duplicates, &b.Redelivered, &b.StoredAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return receiver.BatchInfo{}, false, nil
	}
	if err != nil {
		return receiver.BatchInfo{}, false, fmt.Errorf("look up batch: %w", err)
	}
	b.StoredAt = b.StoredAt.UTC()
	return b, true, nil
}

// errRetry asks Apply to run the transaction again.
var errRetry = errors.New("retry")

// maxAttempts bounds the retries of one batch's transaction.
const maxAttempts = 20

// Apply stores a batch in one transaction, retried when it lost a race for
// a new key, a deadlock or a serialization failure.
func (s *Store) Apply(ctx context.Context, nb receiver.NewBatch) (receiver.BatchInfo, bool, error) {
	for attempt := 1; ; attempt++ {
		info, existed, err := s.applyOnce(ctx, nb)
		if err == nil {
			return info, existed, nil
		}
		var pe *pgconn.PgError
		retry := errors.Is(err, errRetry) || (errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001"))
		if !retry || attempt == maxAttempts {
			return receiver.BatchInfo{}, false, fmt.Errorf("store batch: %w", err)
		}
	}
}

func (s *Store) applyOnce(ctx context.Context, nb receiver.NewBatch) (info receiver.BatchInfo, existed bool, err error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return info, false, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	at := nb.At.UTC().Truncate(time.Microsecond)
	// The batch's row first: a concurrent transaction with the same key
	// waits here for this one, then finds the row and answers a replay.
	tag, err := tx.Exec(ctx, `INSERT INTO batches (agent, idem, hash, accepted, duplicates, redelivered, stored_at)
		VALUES ($1, $2, $3, 0, 0, 0, $4) ON CONFLICT DO NOTHING`, nb.Agent, nb.Idem, nb.Hash, at)
	if err != nil {
		return info, false, err
	}
	if tag.RowsAffected() == 0 {
		_ = tx.Rollback(ctx)
		info, ok, err := lookup(ctx, s.pool, nb.Agent, nb.Idem)
		if err == nil && !ok {
			err = errRetry // stored and gone: cannot happen, as batches are never deleted
		}
		return info, ok, err
	}

	g := groupByKey(nb.Lines)
	inserted, err := insertFresh(ctx, tx, nb, g)
	if err != nil {
		return info, false, err
	}
	var newLines []receiver.Line
	var old keyGroups
	old.hashes, old.byKey = g.hashes, g.byKey
	for _, k := range g.keys {
		if inserted[k] {
			newLines = append(newLines, g.byKey[k]...)
		} else {
			old.keys = append(old.keys, k)
		}
	}
	var c receiver.Change
	nc := receiver.Merge(nb.Agent, nb.Idem, newLines, nil)
	c.Accepted, c.Duplicates, c.Redelivered = nc.Accepted, nc.Duplicates, nc.Redelivered

	if len(old.keys) > 0 {
		oc, err := mergeStored(ctx, tx, nb, old)
		if err != nil {
			return info, false, err
		}
		c.Accepted += oc.Accepted
		c.Duplicates += oc.Duplicates
		c.Redelivered += oc.Redelivered
	}
	if _, err := tx.Exec(ctx, `UPDATE batches SET accepted = $3, duplicates = $4, redelivered = $5 WHERE agent = $1 AND idem = $2`,
		nb.Agent, nb.Idem, c.Accepted, c.Duplicates, c.Redelivered); err != nil {
		return info, false, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO agents (id, last_batch_at, batches) VALUES ($1, $2, 1)
		ON CONFLICT (id) DO UPDATE SET last_batch_at = greatest(agents.last_batch_at, excluded.last_batch_at), batches = agents.batches + 1`,
		nb.Agent, at); err != nil {
		return info, false, err
	}
	if err := tx.Commit(ctx); err != nil {
		return info, false, err
	}
	return receiver.BatchInfo{Hash: nb.Hash, Accepted: c.Accepted, Duplicates: c.Duplicates, Redelivered: c.Redelivered, StoredAt: at}, false, nil
}

// keyGroups are a batch's lines by key, the keys in one order for every
// transaction (by their hash).
type keyGroups struct {
	keys   []string
	hashes map[string][]byte
	byKey  map[string][]receiver.Line
}

func groupByKey(lines []receiver.Line) keyGroups {
	g := keyGroups{hashes: map[string][]byte{}, byKey: map[string][]receiver.Line{}}
	for _, l := range lines {
		if _, ok := g.hashes[l.Key]; !ok {
			h := sha256.Sum256([]byte(l.Key))
			g.hashes[l.Key] = h[:]
		}
		g.byKey[l.Key] = append(g.byKey[l.Key], l)
	}
	g.keys = make([]string, 0, len(g.hashes))
	for k := range g.hashes {
		g.keys = append(g.keys, k)
	}
	slices.SortFunc(g.keys, func(a, b string) int { return compareBytes(g.hashes[a], g.hashes[b]) })
	return g
}

// insertFresh inserts every key of g as if it were new: the keys that are
// (most of a batch of new records) are inserted in one statement and
// locked by it. It returns the keys inserted.
func insertFresh(ctx context.Context, tx pgx.Tx, nb receiver.NewBatch, g keyGroups) (map[string]bool, error) {
	fresh := receiver.Merge(nb.Agent, nb.Idem, nb.Lines, nil)
	var ins columns
	for _, k := range g.keys {
		if err := ins.add(g.hashes[k], k, fresh.Records[k]); err != nil {
			return nil, err
		}
	}
	rows, err := tx.Query(ctx, `INSERT INTO records (key_hash, key, rev, line, agent, batch, seen)
		SELECT * FROM unnest($1::bytea[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[])
		ON CONFLICT DO NOTHING RETURNING key`, ins.hash, ins.key, ins.rev, ins.line, ins.agent, ins.batch, ins.seen)
	if err != nil {
		return nil, err
	}
	inserted := map[string]bool{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			rows.Close()
			return nil, err
		}
		inserted[k] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return inserted, nil
}

// mergeStored merges the lines of the keys stored before (old.keys): it
// locks their rows, in order, merges, and writes what changed.
func mergeStored(ctx context.Context, tx pgx.Tx, nb receiver.NewBatch, old keyGroups) (receiver.Change, error) {
	var oldLines []receiver.Line
	var oldHashes [][]byte
	for _, k := range old.keys {
		oldLines = append(oldLines, old.byKey[k]...)
		oldHashes = append(oldHashes, old.hashes[k])
	}
	prev, err := lockStored(ctx, tx, oldHashes)
	if err != nil {
		return receiver.Change{}, err
	}
	if len(prev) != len(old.keys) {
		return receiver.Change{}, errRetry // a row seen by the insert is gone: cannot happen, rows are never deleted
	}
	oc := receiver.Merge(nb.Agent, nb.Idem, oldLines, prev)
	var upd columns
	for _, k := range old.keys {
		e := oc.Records[k]
		if e.Rev == prev[k].Rev {
			e.Line, e.Agent, e.Batch = nil, "", "" // kept as stored: not sent
		}
		if err := upd.add(old.hashes[k], k, e); err != nil {
			return receiver.Change{}, err
		}
	}
	// Only a higher rev replaces the line (the rows read hold no line).
	if _, err := tx.Exec(ctx, `UPDATE records r SET rev = u.rev, seen = u.seen,
			line = CASE WHEN u.rev > r.rev THEN u.line ELSE r.line END,
			agent = CASE WHEN u.rev > r.rev THEN u.agent ELSE r.agent END,
			batch = CASE WHEN u.rev > r.rev THEN u.batch ELSE r.batch END
		FROM unnest($1::bytea[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[]) AS u(key_hash, rev, line, agent, batch, seen)
		WHERE r.key_hash = u.key_hash`, upd.hash, upd.rev, upd.line, upd.agent, upd.batch, upd.seen); err != nil {
		return receiver.Change{}, err
	}
	return oc, nil
}

// lockStored reads and locks the rows of hashes, in key_hash order.
func lockStored(ctx context.Context, tx pgx.Tx, hashes [][]byte) (map[string]receiver.Entry, error) {
	rows, err := tx.Query(ctx, `SELECT key, rev, seen FROM records WHERE key_hash = ANY($1) ORDER BY key_hash FOR UPDATE`, hashes)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	prev := map[string]receiver.Entry{}
	for rows.Next() {
		var k, seen string
		var e receiver.Entry
		if err := rows.Scan(&k, &e.Rev, &seen); err != nil {
			return nil, err
		}
		if e.Seen, err = decodeSeen(seen); err != nil {
			return nil, fmt.Errorf("record %q: %w", k, err)
		}
		prev[k] = e
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return prev, nil
}

// columns are rows of records as arrays, for unnest.
type columns struct {
	hash                          [][]byte
	rev                           []int64
	key, line, agent, batch, seen []string
}

func (c *columns) add(hash []byte, key string, e receiver.Entry) error {
	seen, err := json.Marshal(e.Seen)
	if err != nil {
		return err
	}
	c.seen = append(c.seen, string(seen))
	c.hash = append(c.hash, hash)
	c.key = append(c.key, key)
	c.rev = append(c.rev, e.Rev)
	c.line = append(c.line, string(e.Line))
	c.agent = append(c.agent, e.Agent)
	c.batch = append(c.batch, e.Batch)
	return nil
}

func compareBytes(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return int(a[i]) - int(b[i])
		}
	}
	return len(a) - len(b)
}

func decodeSeen(s string) (map[int64]int64, error) {
	var m map[string]int64
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("seen: %w", err)
	}
	out := make(map[int64]int64, len(m))
	for k, v := range m {
		rev, err := strconv.ParseInt(k, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("seen: rev %q: %w", k, err)
		}
		out[rev] = v
	}
	return out, nil
}

func (s *Store) Records(ctx context.Context) ([]receiver.StoredRecord, error) {
	rows, err := s.pool.Query(ctx, `SELECT key, rev, line, agent, batch, seen FROM records ORDER BY key COLLATE "C"`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []receiver.StoredRecord{}
	for rows.Next() {
		var r receiver.StoredRecord
		var line, seen string
		if err := rows.Scan(&r.Key, &r.Rev, &line, &r.AgentID, &r.Batch, &seen); err != nil {
			return nil, err
		}
		m, err := decodeSeen(seen)
		if err != nil {
			return nil, fmt.Errorf("record %q: %w", r.Key, err)
		}
		r.Line, r.Redelivered = json.RawMessage(line), receiver.Entry{Seen: m}.Redelivered()
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *Store) Totals(ctx context.Context) (receiver.Totals, error) {
	var t receiver.Totals
	err := s.pool.QueryRow(ctx, `SELECT count(*), coalesce(sum(accepted), 0), coalesce(sum(duplicates), 0), coalesce(sum(redelivered), 0),
		(SELECT count(*) FROM records) FROM batches`).Scan(&t.BatchesAccepted, &t.LinesAccepted, &t.LinesIgnored, &t.RedeliveredLines, &t.Keys)
	return t, err
}

func (s *Store) PutStatus(ctx context.Context, agent string, report json.RawMessage, at time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO agents (id, status, status_at) VALUES ($1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET status = excluded.status, status_at = excluded.status_at`,
		agent, string(report), at.UTC().Truncate(time.Microsecond))
	if err != nil {
		return fmt.Errorf("store status: %w", err)
	}
	return nil
}

func (s *Store) Agents(ctx context.Context) ([]receiver.AgentRecord, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, status, status_at, last_batch_at, batches FROM agents ORDER BY id COLLATE "C"`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []receiver.AgentRecord{}
	for rows.Next() {
		var a receiver.AgentRecord
		var status *string
		var statusAt, batchAt *time.Time
		if err := rows.Scan(&a.ID, &status, &statusAt, &batchAt, &a.Batches); err != nil {
			return nil, err
		}
		if status != nil {
			a.Status = json.RawMessage(*status)
		}
		if statusAt != nil {
			a.StatusAt = statusAt.UTC()
		}
		if batchAt != nil {
			a.LastBatchAt = batchAt.UTC()
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
