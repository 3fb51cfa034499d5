package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tmas/storeagent/agent/spool"
	"github.com/tmas/storeagent/importers/record"
	"github.com/tmas/storeagent/importers/staffcsv"
)

// FileRequest asks the agent to import one complete staff-hours file.
type FileRequest struct {
	Path     string // the complete file
	Root     string // the folder whose archive/ and rejected/ receive it
	Location string // the location the uploader is bound to, "" if none
	Origin   string // "inbox" or "ftp:USER", for the log and status
	// Discard removes the file when the agent refuses it for being full
	// (an FTP upload answered 452 must leave nothing behind); a file of the
	// watched inbox stays where it is and is tried again later.
	Discard bool
	// FromScan marks a request from the folder scan: a file already gone
	// (imported meanwhile by the FTP endpoint) is then not an error.
	FromScan bool
}

// FileOutcome is one file's result, as status shows it.
type FileOutcome struct {
	Name     string    `json:"name"`
	Origin   string    `json:"origin"`
	At       time.Time `json:"at"`
	Outcome  Outcome   `json:"outcome"`
	Records  int       `json:"records"`
	Queued   int       `json:"queued"`
	Detail   string    `json:"detail,omitempty"`
	Location string    `json:"location,omitempty"`
}

// fileState is kept per file content (by SHA-256) in the spool, committed
// with each chunk of records, so a crash resumes a file where it stopped and a
// file imported before is recognised.
type fileState struct {
	Name      string    `json:"name"`
	Committed int       `json:"committed"`
	Done      bool      `json:"done"`
	At        time.Time `json:"at"`
	Records   int       `json:"records"`
	Queued    int       `json:"queued"`
}

const fileChunk = 5000

// ImportFile imports one complete file: the whole file or nothing reaches
// the buffer, and it returns only once the outcome is durably committed and
// the file moved to archive/ or rejected/. Errors: record.ErrFull when the
// buffer is full (nothing imported), *record.RefusedError for bad content.
func (a *Agent) ImportFile(ctx context.Context, req FileRequest) error {
	a.fileMu.Lock()
	defer a.fileMu.Unlock()
	if _, err := os.Lstat(req.Path); req.FromScan && os.IsNotExist(err) {
		return nil
	}
	name := filepath.Base(req.Path)
	out := FileOutcome{Name: name, Origin: req.Origin, At: a.now(), Location: req.Location}
	err := a.importFile(ctx, req, &out)
	switch {
	case err == nil:
	case errors.Is(err, record.ErrFull):
		out.Outcome, out.Detail = OutcomeFull, "refused for now: "+err.Error()
		if req.Discard {
			os.Remove(req.Path)
		}
	default:
		var re *record.RefusedError
		if errors.As(err, &re) {
			out.Outcome, out.Detail = OutcomeRefused, re.Error()
		} else {
			out.Outcome, out.Detail = OutcomeFailed, err.Error()
		}
	}
	a.noteFile(out)
	log := a.log.With("component", "csv")
	lvl := log.Info
	if !out.Outcome.OK() {
		lvl = log.Warn
	}
	lvl("file import", "file", name, "origin", req.Origin, "outcome", out.Outcome, "records", out.Records, "queued", out.Queued, "detail", out.Detail)
	return err
}

func (a *Agent) importFile(ctx context.Context, req FileRequest, out *FileOutcome) error {
	sum, err := hashFile(req.Path)
	if err != nil {
		return fmt.Errorf("read %s: %w", out.Name, err)
	}
	stateKey := fileKey(sum)
	var st fileState
	if raw, err := a.spool.Value(stateKey); err != nil {
		return err
	} else if raw != nil {
		_ = json.Unmarshal(raw, &st)
	}
	if st.Done {
		out.Outcome, out.Records, out.Detail = OutcomeDuplicate, st.Records, "this content was imported before ("+st.At.Format(time.RFC3339)+"); nothing new"
		_, err := a.moveTo(req, "archive", "")
		return err
	}
	if st.Committed == 0 && a.spool.Full() {
		return record.ErrFull
	}
	limit := int64(a.cfg.CSV.MaxFileSize)
	f, err := os.Open(req.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	now := a.now()
	opts := staffcsv.Options{
		Locations:     a.cfg.Zones(),
		BoundLocation: req.Location,
		DateOrder:     a.cfg.CSV.DateOrder,
		MaxSize:       limit,
		Now:           now,
		ObservedAt:    now.UTC(),
	}
	st.Name = out.Name
	chunk := make([]record.Record, 0, fileChunk)
	hint := now.UnixMilli()
	commit := func(done bool) error {
		st.Committed += len(chunk)
		st.Done = done
		st.At = now.UTC()
		if done {
			st.Records = st.Committed
		}
		raw, _ := json.Marshal(st)
		res, err := a.spool.Commit(spool.Change{Records: chunk, State: map[spool.StateKey][]byte{stateKey: raw}})
		if err != nil {
			st.Committed -= len(chunk)
			return err
		}
		st.Queued += res.Queued
		a.countImported(record.SourceCSV, res.Queued)
		chunk = chunk[:0]
		a.fwd.Wake()
		return nil
	}
	summary, err := staffcsv.Import(f, opts, st.Committed, func(r record.Record) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		r.RevHint = hint
		chunk = append(chunk, r)
		if len(chunk) == fileChunk {
			return commit(false)
		}
		return nil
	})
	// Windows refuses to rename an open file: close it before it moves.
	f.Close()
	var ref *staffcsv.Refusal
	if errors.As(err, &ref) {
		return a.refuse(req, out, ref)
	}
	if err != nil {
		return err
	}
	if err := commit(true); err != nil {
		return err
	}
	out.Location = strings.Join(summary.Locations, ", ")
	out.Outcome, out.Records, out.Queued = OutcomeAccepted, st.Records, st.Queued
	if out.Queued < out.Records {
		out.Detail = fmt.Sprintf("%d of %d shifts were already known unchanged", out.Records-out.Queued, out.Records)
	}
	_, err = a.moveTo(req, "archive", "")
	return err
}

// refuse writes the report beside the file in rejected/ and moves the file
// there. Nothing of it reached the buffer. The error names the report where
// it really is (rejected/x.1.csv.errors.txt after an earlier x.csv), and
// counts bad lines as the report does (ref.BadLines).
func (a *Agent) refuse(req FileRequest, out *FileOutcome, ref *staffcsv.Refusal) error {
	name := filepath.Base(req.Path)
	report := ref.Report(name)
	dst, err := a.moveTo(req, "rejected", report)
	if err != nil {
		return err
	}
	reason := "refused"
	if len(ref.Problems) > 0 {
		reason = ref.Problems[0].String()
	}
	return &record.RefusedError{Name: name, Lines: ref.BadLines, Report: dst + ".errors.txt", Reason: reason}
}

// moveTo moves the file into req.Root/dir (a unique name if taken), writes
// the report beside it when given, and syncs the folders. It returns the
// file's new path.
func (a *Agent) moveTo(req FileRequest, dir, report string) (string, error) {
	target := filepath.Join(req.Root, dir)
	if err := os.MkdirAll(target, 0o750); err != nil {
		return "", err
	}
	name := filepath.Base(req.Path)
	dst := uniqueName(target, name)
	if report != "" {
		rp := dst + ".errors.txt"
		if err := writeFileSync(rp, []byte(report)); err != nil {
			return "", fmt.Errorf("write the error report: %w", err)
		}
	}
	if err := os.Rename(req.Path, dst); err != nil {
		return "", fmt.Errorf("move %s to %s/: %w", name, dir, err)
	}
	syncDir(target)
	syncDir(filepath.Dir(req.Path))
	return dst, nil
}

// uniqueName keeps earlier files of the same name: x.csv, x.1.csv, x.2.csv…
func uniqueName(dir, name string) string {
	p := filepath.Join(dir, name)
	if _, err := os.Lstat(p); os.IsNotExist(err) {
		return p
	}
	ext := filepath.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	for i := 1; ; i++ {
		p = filepath.Join(dir, fmt.Sprintf("%s.%d%s", stem, i, ext))
		if _, err := os.Lstat(p); os.IsNotExist(err) {
			return p
		}
	}
}

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func writeFileSync(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
