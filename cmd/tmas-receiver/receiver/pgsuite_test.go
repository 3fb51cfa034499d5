package receiver_test

import (
	"testing"

	"github.com/tmas/storeagent/cmd/tmas-receiver/receiver"
	"github.com/tmas/storeagent/cmd/tmas-receiver/receiver/pgstore"
	"github.com/tmas/storeagent/cmd/tmas-receiver/receiver/pgstore/pgtest"
)

// The contract suite runs against PostgreSQL too: each test on a schema of
// its own (skipped without STOREAGENT_TEST_POSTGRES).
func init() {
	receiver.RegisterTestStore("postgres", func(t *testing.T) func() receiver.Store {
		dsn := pgtest.DSN(t)
		return func() receiver.Store {
			s, err := pgstore.Open(t.Context(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	})
}
