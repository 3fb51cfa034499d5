package agent

import (
	"testing"

	"github.com/tmas/storeagent/agent/spool"
)

// TestStateKeys: the keys are the ones buffer files written by earlier
// versions hold, so an upgrade finds its cursors, file progress and token.
func TestStateKeys(t *testing.T) {
	for _, tt := range []struct {
		got  spool.StateKey
		want string
	}{
		{cursorKey("shopify"), "cursor:shopify"},
		{backfillKey("vend", "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z"), "backfill:vend:2026-11-01T00:00:00Z:2026-11-02T00:00:00Z"},
		{fileKey("ab12"), "file:ab12"},
		{recentFilesKey, "recent_files"},
		{TokenKey("vend"), "token:vend"},
	} {
		if string(tt.got) != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
