package agent

import (
	"encoding/json"

	"github.com/tmas/storeagent/agent/spool"
)

// The keys the agent keeps its state under in the buffer. Only these
// constructors name them; cmd and the sources never spell a key.
func cursorKey(source string) spool.StateKey { return spool.StateKey("cursor:" + source) }

// backfillKey is a backfill window's own cursor, apart from the regular one.
func backfillKey(source, since, until string) spool.StateKey {
	return spool.StateKey("backfill:" + source + ":" + since + ":" + until)
}

// fileKey is a staff-hours file's progress, by the SHA-256 of its content.
func fileKey(sha string) spool.StateKey { return spool.StateKey("file:" + sha) }

// recentFilesKey holds the recent files list, so status shows it after a
// restart and while the agent is stopped.
const recentFilesKey spool.StateKey = "recent_files"

// TokenKey is where a source keeps its OAuth token ("token:vend"): the key
// the source's record.StateStore reads and writes.
func TokenKey(source string) spool.StateKey { return spool.StateKey("token:" + source) }

// SourceState is what a source is doing, as status shows it.
type SourceState string

const (
	SourceNever       SourceState = "never"       // not run since the agent started
	SourceRunning     SourceState = "running"     // a run is in progress
	SourceOK          SourceState = "ok"          // the last run succeeded
	SourceError       SourceState = "error"       // the last run failed
	SourcePaused      SourceState = "paused"      // polling paused: the buffer is full
	SourceInterrupted SourceState = "interrupted" // the run was stopped with the agent
	SourceStopped     SourceState = "stopped"     // the agent is not running
)

// Outcome is what became of a staff-hours file.
type Outcome string

const (
	OutcomeAccepted  Outcome = "accepted"  // imported
	OutcomeDuplicate Outcome = "duplicate" // imported before; nothing new
	OutcomeRefused   Outcome = "refused"   // bad input, nothing imported
	OutcomeFull      Outcome = "full"      // refused for now: the buffer is full
	OutcomeFailed    Outcome = "failed"    // an error of the agent's own
)

// OK tells whether the file's content is in the buffer.
func (o Outcome) OK() bool { return o == OutcomeAccepted || o == OutcomeDuplicate }

// ComponentState is "running", "stopped" or "failed: " and the error a
// component stopped with.
type ComponentState string

const (
	ComponentRunning ComponentState = "running"
	ComponentStopped ComponentState = "stopped"
)

// componentFailed is the state of a component that stopped with err.
func componentFailed(err error) ComponentState { return ComponentState("failed: " + err.Error()) }

// Failed tells whether the component stopped with an error.
func (c ComponentState) Failed() bool { return len(c) > 7 && c[:7] == "failed:" }

// LogLevel is an import log line's level.
type LogLevel string

const (
	LogOK    LogLevel = "ok"
	LogNote  LogLevel = "note"
	LogError LogLevel = "error"
)

// levelOf is the import log level of a run's outcome.
func levelOf(err error) LogLevel {
	if err != nil {
		return LogError
	}
	return LogOK
}

// RecentFiles reads the recent files list kept in the buffer (newest first),
// for status while the agent is stopped.
func RecentFiles(sp *spool.Spool) []FileOutcome {
	var files []FileOutcome
	if raw, _ := sp.Value(recentFilesKey); raw != nil {
		_ = json.Unmarshal(raw, &files)
	}
	return files
}
