package receiver

import "testing"

// RegisterTestStore adds a Store implementation to the contract suite
// (TestContract), for stores in packages that import this one.
func RegisterTestStore(name string, storage func(t *testing.T) func() Store) {
	testStores = append(testStores, testStore{name: name, storage: storage})
}
