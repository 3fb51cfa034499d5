package receiver

import (
	"path/filepath"
	"testing"
)

// testStore is one Store implementation the contract suite runs against.
type testStore struct {
	name string
	// storage makes one fresh storage of this kind for the test and
	// returns a function that opens a Store on it: each call opens the
	// same storage again (a restart).
	storage func(t *testing.T) func() Store
}

// testStores are the implementations of the suite: bbolt here; PostgreSQL
// is added by pgsuite_test.go (package receiver_test, as package pgstore
// imports this one).
var testStores = []testStore{{
	name: "bbolt",
	storage: func(t *testing.T) func() Store {
		path := filepath.Join(t.TempDir(), "hq.db")
		return func() Store {
			s, err := OpenBolt(path)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	},
}}

// contractSuite is every test of the upstream contract, each run against
// every store.
var contractSuite = []struct {
	name string
	fn   func(*testing.T, testStore)
}{
	{"Auth", testAuth},
	{"Headers", testHeaders},
	{"BodyDecoding", testBodyDecoding},
	{"StoredRecordFields", testStoredRecordFields},
	{"Idempotency", testIdempotency},
	{"RevOrdering", testRevOrdering},
	{"ClosedReceiverAnswers503", testClosedReceiverAnswers503},
	{"StatusFaults", testStatusFaults},
	{"FaultsRefusedOutsideTheContract", testFaultsRefusedOutsideTheContract},
	{"DelayFault", testDelayFault},
	{"ResetAfterStoreFault", testResetAfterStoreFault},
	{"MaxLinesFault", testMaxLinesFault},
	{"RejectKeysFault", testRejectKeysFault},
	{"RevokedFault", testRevokedFault},
	{"AdminEndpoints", testAdminEndpoints},
	{"AdminDisabledByDefault", testAdminDisabledByDefault},
	{"InvalidLines", testInvalidLines},
	{"RejectedLineNumbers", testRejectedLineNumbers},
	{"ValidVariants", testValidVariants},
	{"TooLarge", testTooLarge},
	{"Persistence", testPersistence},
	{"AgentTokens", testAgentTokens},
	{"StatusReports", testStatusReports},
	{"Fleet", testFleet},
	{"Metrics", testMetrics},
}

func TestContract(t *testing.T) {
	for _, st := range testStores {
		t.Run(st.name, func(t *testing.T) {
			for _, tc := range contractSuite {
				t.Run(tc.name, func(t *testing.T) { tc.fn(t, st) })
			}
		})
	}
}
