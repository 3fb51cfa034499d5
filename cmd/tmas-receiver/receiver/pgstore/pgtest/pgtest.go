// Package pgtest gives tests a PostgreSQL schema of their own. The database
// is named by the environment variable STOREAGENT_TEST_POSTGRES (a
// postgres:// URL); without it the test is skipped, unless
// STOREAGENT_REQUIRE_POSTGRES=1 (CI), when it fails.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Env names the variable holding the test database's URL.
const Env = "STOREAGENT_TEST_POSTGRES"

// BaseDSN returns the test database's URL, or skips (fails under
// STOREAGENT_REQUIRE_POSTGRES=1) the test when there is none.
func BaseDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(Env)
	if dsn == "" {
		if os.Getenv("STOREAGENT_REQUIRE_POSTGRES") == "1" {
			t.Fatalf("STOREAGENT_REQUIRE_POSTGRES=1 but %s is not set", Env)
		}
		t.Skipf("set %s (e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable) to run the PostgreSQL tests", Env)
	}
	return dsn
}

// DSN creates a schema of the test's own, dropped at its end, and returns a
// URL whose search_path is that schema: tests on one database can run in
// parallel.
func DSN(t testing.TB) string {
	t.Helper()
	base := BaseDSN(t)
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("%s must be a postgres:// URL", Env)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "test_" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to the test database: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
