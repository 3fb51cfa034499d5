package ftpd

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	ftpserver "github.com/fclairamb/ftpserverlib"

	"github.com/tmas/storeagent/importers/record"
)

// partialFile is the temporary file an upload is written to.
type partialFile interface {
	io.Writer
	Sync() error
	Close() error
}

// upload is the file the library writes a STOR into. Its Close decides the
// reply: 226 only once the Inbox has committed the file.
type upload struct {
	fs      *userFS
	name    string // the name the client gave (checked)
	partial string // .partial/<random>.part, in the home
	f       partialFile
	max     int64
	ascii   *asciiIn // TYPE A: line ends converted to CRLF; nil in binary
	buf     []byte

	mu       sync.Mutex
	size     int64
	failed   *coded // why the upload cannot be imported, once known
	closed   bool
	closeErr error
}

var (
	_ ftpserver.FileTransfer      = (*upload)(nil)
	_ ftpserver.FileTransferError = (*upload)(nil)
)

// The codes an upload can end with, beside 226. Each is sent as a coded
// error, which the (patched) library answers as it is.
const (
	codeAborted  = 426 // the data connection broke or the client sent ABOR
	codeRetry    = 451 // a local error: nothing was kept, send the file again
	codeFull     = 452 // the agent's buffer or the disk is full: nothing was kept
	codeRefused  = 550 // the content was refused; the report is in rejected/
	codeDenied   = 550 // not allowed here (append, resume, read-only folders)
	codeTooLarge = 552 // larger than max_file_size
	codeBadName  = 553 // not a .csv, or a name the agent cannot store
)

func (f *userFS) refuse(name string, c *coded) error {
	f.log.Info("ftp upload refused", "file", name, "code", c.code, "reason", c.msg)
	f.s.events.add(Event{Kind: EventUploadFailed, User: f.acct.Name, Remote: f.remote, File: sanitize(name, maxNameLen), Code: c.code, Detail: c.msg})
	f.s.counts.uploadEnded(c.code, EventUploadFailed)
	return c
}

// upload checks where and what the client may upload, and opens the
// temporary file.
func (f *userFS) upload(name string, flags int, offset int64) (ftpserver.FileTransfer, error) {
	parts := splitPath(name)
	switch {
	case flags&os.O_APPEND != 0:
		return nil, f.refuse(name, &coded{code: codeDenied, msg: "appending is not allowed: upload the whole file", err: fs.ErrPermission})
	case offset != 0:
		return nil, f.refuse(name, &coded{code: codeDenied, msg: "resuming an upload is not supported: upload the whole file again", err: fs.ErrPermission})
	case len(parts) == 0:
		return nil, f.refuse(name, &coded{code: codeBadName, msg: "file name not allowed: a file name is needed", err: ftpserver.ErrFileNameNotAllowed})
	case len(parts) > 1 && (parts[0] == archiveDir || parts[0] == rejectedDir):
		return nil, f.refuse(name, &coded{code: codeDenied, msg: "archive/ and rejected/ are read-only: upload into the top folder", err: fs.ErrPermission})
	case len(parts) > 1:
		return nil, f.refuse(name, &coded{code: codeBadName, msg: "file name not allowed: upload into the top folder, without folders", err: ftpserver.ErrFileNameNotAllowed})
	}
	if err := checkUploadOrTempName(parts[0]); err != nil {
		return nil, f.refuse(name, &coded{code: codeBadName, msg: err.Error(), err: ftpserver.ErrFileNameNotAllowed})
	}
	if !f.s.startUpload() {
		return nil, f.refuse(name, &coded{code: codeRetry, msg: "the server is shutting down, try again later", err: errShuttingDown})
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	partial := filepath.Join(partialDir, hex.EncodeToString(b[:])+".part")
	file, err := f.home.root.OpenFile(partial, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		f.s.uploadWG.Done()
		return nil, f.refuse(name, f.writeFailure(parts[0], err))
	}
	var pf partialFile = file
	if f.s.wrapPartial != nil {
		pf = f.s.wrapPartial(file)
	}
	f.log.Debug("ftp upload started", "file", parts[0], "partial", partial)
	u := &upload{fs: f, name: parts[0], partial: partial, f: pf, max: int64(f.s.cfg.MaxFileSize)}
	if f.ascii() {
		u.ascii = &asciiIn{}
	}
	return u, nil
}

// writeFailure is the reply for a local write error: 452 when the disk is
// full, else 451. The cause is logged, never sent.
func (f *userFS) writeFailure(name string, err error) *coded {
	if isDiskFull(err) {
		return &coded{code: codeFull, msg: name + " not kept: the disk is full, try again later", cause: err}
	}
	return &coded{code: codeRetry, msg: name + " not kept: a local error occurred, try again later", cause: err}
}

// Write appends to the temporary file, failing as soon as the size limit
// is passed or the disk is full.
func (u *upload) Write(p []byte) (int, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.failed != nil {
		return 0, u.failed
	}
	data := p
	if u.ascii != nil {
		u.buf = u.ascii.convert(u.buf[:0], p)
		data = u.buf
	}
	if err := u.write(data); err != nil {
		return 0, err
	}
	return len(p), nil
}

// write stores data (already converted), within the size limit; u.mu is held.
func (u *upload) write(data []byte) error {
	if u.size+int64(len(data)) > u.max {
		u.failed = &coded{code: codeTooLarge, msg: fmt.Sprintf("%s not kept: larger than the %s limit", u.name, record.Size(u.max)), err: ftpserver.ErrStorageExceeded}
		return u.failed
	}
	n, err := u.f.Write(data)
	u.size += int64(n)
	if err != nil {
		u.failed = u.fs.writeFailure(u.name, err)
		return u.failed
	}
	return nil
}

// Read refuses: an upload is write-only.
func (u *upload) Read([]byte) (int, error) { return 0, errors.New("upload: not readable") }

// Seek only reports the position: uploads cannot be resumed.
func (u *upload) Seek(offset int64, whence int) (int64, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if offset == 0 && (whence == io.SeekStart && u.size == 0 || whence == io.SeekCurrent) {
		return u.size, nil
	}
	return 0, errors.New("upload: cannot seek")
}

// TransferError marks the upload aborted (ABOR, a broken data connection):
// it will be deleted, never imported.
func (u *upload) TransferError(err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.failed == nil {
		u.failed = &coded{code: codeAborted, msg: "transfer aborted: " + sanitize(err.Error(), 200), cause: err}
	}
}

// Close ends the upload. An aborted or failed upload is deleted. A complete
// one is fsynced, renamed into the home (durably) and imported; its error
// becomes the reply.
func (u *upload) Close() error {
	u.mu.Lock()
	if u.closed {
		u.mu.Unlock()
		return u.closeErr
	}
	u.closed = true
	if u.failed == nil && u.ascii != nil {
		_ = u.write(u.ascii.flush(u.buf[:0]))
	}
	failed := u.failed
	u.mu.Unlock()
	defer u.fs.s.uploadWG.Done()

	err := u.finish(failed)
	u.mu.Lock()
	u.closeErr = err
	u.mu.Unlock()
	return err
}

func (u *upload) finish(failed *coded) error {
	f, h := u.fs, u.fs.home
	if failed != nil {
		_ = u.f.Close()
		_ = h.root.Remove(u.partial)
		return f.report(u.name, u.size, failed, EventUploadFailed)
	}
	if err := u.f.Sync(); err != nil {
		_ = u.f.Close()
		_ = h.root.Remove(u.partial)
		return f.report(u.name, u.size, f.writeFailure(u.name, err), EventUploadFailed)
	}
	if err := u.f.Close(); err != nil {
		_ = h.root.Remove(u.partial)
		return f.report(u.name, u.size, f.writeFailure(u.name, err), EventUploadFailed)
	}
	if isTempName(u.name) {
		// Kept under its temporary name, out of the import, until the
		// client renames it to .csv (rename.go).
		if err := h.keepTemp(u.partial, u.name); err != nil {
			_ = h.root.Remove(u.partial)
			return f.report(u.name, u.size, f.writeFailure(u.name, err), EventUploadFailed)
		}
		f.log.Info("ftp temporary upload stored, imported when renamed to .csv", "file", u.name, "size", u.size)
		return nil
	}
	return f.importAs(u.partial, u.name, u.size)
}

// importAs moves a complete, fsynced file of the home (src: the upload's
// temporary file, or a temporary name the client renames) to name, durably,
// and imports it. It returns nil only once the inbox committed the file;
// otherwise a coded error: the reply, the same for STOR and RNTO.
func (f *userFS) importAs(src, name string, size int64) error {
	h := f.home
	final, fi, err := h.commit(src, name)
	if err != nil {
		_ = h.root.Remove(src)
		return f.report(name, size, f.writeFailure(name, err), EventUploadFailed)
	}
	ctx, cancel := f.s.importContext()
	defer cancel()
	err = f.s.inbox.Import(ctx, Upload{
		User:       f.acct.Name,
		Location:   f.acct.Location,
		Home:       h.dir,
		Path:       filepath.Join(h.dir, final),
		Name:       name,
		RemoteAddr: f.remote,
		Size:       size,
	})
	var refused *record.RefusedError
	switch {
	case err == nil:
		f.log.Info("ftp upload imported", "file", name, "stored_as", final, "size", size)
		f.s.events.add(Event{Kind: EventUpload, User: f.acct.Name, Remote: f.remote, File: name, Size: size, Code: 226})
		f.s.counts.uploadsAccepted.Add(1)
		return nil
	case errors.Is(err, record.ErrFull):
		h.removeIfSame(final, fi)
		return f.report(name, size, &coded{code: codeFull, msg: name + " not kept: the agent's buffer or disk is full, try again later", cause: err}, EventUploadFailed)
	case errors.As(err, &refused):
		return f.report(name, size, &coded{code: codeRefused, msg: refusal(h.dir, refused), cause: err}, EventUploadRefused)
	default:
		h.removeIfSame(final, fi)
		return f.report(name, size, &coded{code: codeRetry, msg: name + " not imported: a local error occurred, try again later", cause: err}, EventUploadFailed)
	}
}

// report logs and records the end of an upload that was not imported.
func (f *userFS) report(name string, size int64, c *coded, kind string) error {
	attrs := []any{"file", name, "size", size, "code", c.code, "reply", c.msg}
	if c.cause != nil {
		attrs = append(attrs, "err", c.cause)
	}
	if kind == EventUploadRefused || c.code == codeAborted || c.code == codeTooLarge {
		f.log.Info("ftp upload not imported", attrs...)
	} else {
		f.log.Warn("ftp upload not imported", attrs...)
	}
	f.s.events.add(Event{Kind: kind, User: f.acct.Name, Remote: f.remote, File: name, Size: size, Code: c.code, Detail: c.msg})
	f.s.counts.uploadEnded(c.code, kind)
	return c
}

// refusal is the reply text for refused content, naming the report file as
// the client sees it: "file refused: 3 bad lines, see
// rejected/x.csv.errors.txt (first: line 2: ...)".
func refusal(homeDir string, r *record.RefusedError) string {
	var b strings.Builder
	b.WriteString("file refused: ")
	switch {
	case r.Lines == 1:
		b.WriteString("1 bad line")
	case r.Lines > 1:
		b.WriteString(strconv.Itoa(r.Lines) + " bad lines")
	case r.Reason != "":
		b.WriteString(sanitize(r.Reason, 200))
	default:
		b.WriteString("invalid content")
	}
	if r.Report != "" {
		report := filepath.Base(r.Report)
		if rp, err := filepath.Rel(homeDir, r.Report); err == nil && filepath.IsLocal(rp) {
			report = filepath.ToSlash(rp)
		}
		b.WriteString(", see " + sanitize(report, 260))
	}
	if r.Lines > 0 && r.Reason != "" {
		b.WriteString(" (first: " + sanitize(r.Reason, 200) + ")")
	}
	return b.String()
}
