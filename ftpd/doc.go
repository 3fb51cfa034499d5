// Package ftpd is the store agent's FTP endpoint: the place where a store's
// timeclock, payroll export or a person with FileZilla drops staff-hours CSV
// files, and reads back why a file was refused.
//
// It is an adapter over github.com/fclairamb/ftpserverlib: Server implements
// the library's MainDriver, and each logged-in user gets a filesystem of its
// own, rooted in the user's home folder through os.Root, that allows exactly
// this: upload *.csv files into the top folder (directly, or under a
// temporary name such as x.csv.tmp then renamed to x.csv), and list and
// download what is under archive/ and rejected/. An upload is written to a
// hidden temporary file, fsynced, renamed into the home and handed to the
// agent's Inbox; the client gets 226 (250 to the RNTO of a temporary name)
// only once the Inbox has durably committed the outcome.
//
// It uses a patched copy of the library (ftpserverlib/, see its PATCH.md)
// so that its errors carry their own FTP replies (451, 452, …).
//
// It must never acknowledge an upload (226, 250) before Inbox.Import returned nil,
// never import an interrupted or oversized upload, never let a client reach
// anything outside its home (no symlinks, no "..", no hidden folders), never
// allow anonymous logins, and never write a password, hash or file content to
// a log or a reply. It depends only on the record contract and its own
// libraries: never on the agent's buffer or an importer.
package ftpd
