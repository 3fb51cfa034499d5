package vend_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tmas/storeagent/importers/record"
	"github.com/tmas/storeagent/importers/vend"
	"github.com/tmas/storeagent/importers/vend/vendtest"
)

func grantToken(g vendtest.Grant) *vend.Token {
	return &vend.Token{AccessToken: record.NewSecret(g.AccessToken), RefreshToken: record.NewSecret(g.RefreshToken), Expires: g.Expires, DomainPrefix: "acme"}
}

func oauthImporter(t *testing.T, sc *scenario, store vend.TokenStore) *vend.Importer {
	t.Helper()
	cfg := vend.Config{DomainPrefix: "acme", ClientID: "cid", ClientSecret: "csecret", BaseURL: sc.s.URL, AuthURL: sc.s.URL}
	imp, err := vend.New(cfg, sc.bindings(), vend.Options{Now: sc.s.Now, Sleep: sc.s.Sleep, TokenStore: store})
	if err != nil {
		t.Fatal(err)
	}
	return imp
}

func countRequests(log []string, prefix string) int {
	n := 0
	for _, l := range log {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

func TestOAuthRefreshRotates(t *testing.T) {
	sc := buildScenario(t)
	sc.s.SetAccessTTL(30 * time.Minute)
	g := sc.s.IssueGrant()
	store := vend.NewMemoryTokenStore(grantToken(g))
	imp := oauthImporter(t, sc, store)
	pages := runAll(t, imp, nil)
	if n := countRequests(sc.s.Requests(), "POST /api/1.0/token"); n != 0 {
		t.Errorf("got %d refreshes while the access token was fresh, want 0", n)
	}
	sc.s.Advance(time.Hour)
	sc.s.ResetRequests()
	runAll(t, imp, pages[len(pages)-1].cursor)
	if n := countRequests(sc.s.Requests(), "POST /api/1.0/token"); n != 1 {
		t.Errorf("got %d refreshes, want 1", n)
	}
	saved, err := store.LoadToken(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got := []bool{store.Saves() == 1, saved.RefreshToken.Reveal() != g.RefreshToken, sc.s.RefreshTokenLive(g.RefreshToken), sc.s.RefreshTokenLive(saved.RefreshToken.Reveal())}; !cmp.Equal(got, []bool{true, true, false, true}) {
		t.Errorf("got [saved once, new refresh token, old live, new live] = %v, want [true true false true]", got)
	}
	if want := sc.s.Now().Add(30 * time.Minute).Unix(); saved.Expires.Unix() != want {
		t.Errorf("got expiry %v, want %v", saved.Expires.Unix(), want)
	}
}

func TestCrashBetweenRefreshAndSave(t *testing.T) {
	sc := buildScenario(t)
	sc.s.SetAccessTTL(30 * time.Minute)
	g := sc.s.IssueGrant()
	sc.s.Advance(time.Hour) // the access token has expired

	// The refresh succeeds but the token cannot be saved.
	store := vend.NewMemoryTokenStore(grantToken(g))
	store.SaveErr = errors.New("disk full")
	imp := oauthImporter(t, sc, store)
	_, err := imp.Fetch(t.Context(), nil)
	want := "vend: the renewed Lightspeed token could not be saved (it is kept in memory and saved at the next request; if the agent stops before that, run `storeagent connect vend`): disk full"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
	// Same process, disk back: it saves the token it kept and goes on.
	store.SaveErr = nil
	if _, err := imp.Fetch(t.Context(), nil); err != nil {
		t.Fatalf("after the disk came back: %v", err)
	}
	saved, _ := store.LoadToken(t.Context())
	if store.Saves() != 1 || !sc.s.RefreshTokenLive(saved.RefreshToken.Reveal()) {
		t.Errorf("got %d saves, saved token live %v; want 1, true", store.Saves(), sc.s.RefreshTokenLive(saved.RefreshToken.Reveal()))
	}

	// The process died instead: the next start has only the old, revoked
	// refresh token, and says to reconnect.
	old := vend.NewMemoryTokenStore(grantToken(g))
	_, err = oauthImporter(t, sc, old).Fetch(t.Context(), nil)
	if !errors.Is(err, vend.ErrReconnect) || err.Error() != "vend: the Lightspeed connection has expired or was revoked: run `storeagent connect vend` to reconnect" {
		t.Errorf("got %v, want ErrReconnect", err)
	}
	// Never connected.
	_, err = oauthImporter(t, sc, vend.NewMemoryTokenStore(nil)).Fetch(t.Context(), nil)
	if !errors.Is(err, vend.ErrNotConnected) {
		t.Errorf("got %v, want ErrNotConnected", err)
	}
	// Revoked while the access token is still fresh: the 401 leads to one
	// refresh attempt, which is refused too.
	g2 := sc.s.IssueGrant()
	sc.s.RevokeAll()
	_, err = oauthImporter(t, sc, vend.NewMemoryTokenStore(grantToken(g2))).Fetch(t.Context(), nil)
	if !errors.Is(err, vend.ErrReconnect) {
		t.Errorf("got %v, want ErrReconnect", err)
	}
}

// connectRun starts Connect and returns the sign-in address it opened and
// a channel with its outcome.
func connectRun(t *testing.T, s *vendtest.Server, out io.Writer) (string, chan error, *vend.Token) {
	t.Helper()
	cfg := vend.Config{DomainPrefix: "acme", ClientID: "cid", ClientSecret: "csecret", BaseURL: s.URL, AuthURL: s.URL}
	urls := make(chan string, 1)
	done := make(chan error, 1)
	tok := &vend.Token{}
	go func() {
		got, err := vend.Connect(t.Context(), cfg, vend.ConnectOptions{Out: out, Now: s.Now, Open: func(u string) error { urls <- u; return nil }})
		*tok = got
		done <- err
	}()
	select {
	case u := <-urls:
		return u, done, tok
	case err := <-done:
		t.Fatalf("connect ended before opening the browser: %v", err)
	}
	return "", nil, nil
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// signIn plays the merchant: opens the sign-in address and returns where
// Lightspeed sends the browser back.
func signIn(t *testing.T, u string) *url.URL {
	t.Helper()
	resp, err := noRedirect.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("got %d from the sign-in page, want 302", resp.StatusCode)
	}
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return back
}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestConnect(t *testing.T) {
	t.Run("signs in", func(t *testing.T) {
		sc := buildScenario(t)
		var out bytes.Buffer
		u, done, tok := connectRun(t, sc.s, &out)
		pu, _ := url.Parse(u)
		q := pu.Query()
		if got := []string{pu.Path, q.Get("response_type"), q.Get("client_id"), q.Get("scope")}; !cmp.Equal(got, []string{"/connect", "code", "cid", vend.DefaultScope}) {
			t.Errorf("got sign-in address %s", u)
		}
		if len(q.Get("state")) != 32 || !strings.HasPrefix(q.Get("redirect_uri"), "http://127.0.0.1:") {
			t.Errorf("got state %q, redirect %q; want 32 characters and a loopback address", q.Get("state"), q.Get("redirect_uri"))
		}
		status, page := get(t, u) // the browser follows the redirect home
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if status != http.StatusOK || !strings.Contains(page, "storeagent is connected to the Lightspeed store acme") {
			t.Errorf("got page %d %q", status, page)
		}
		if !strings.Contains(out.String(), u) || !strings.Contains(out.String(), "Connected to acme.") {
			t.Errorf("got output %q, want the address and the outcome", out.String())
		}
		if tok.DomainPrefix != "acme" || !sc.s.RefreshTokenLive(tok.RefreshToken.Reveal()) {
			t.Errorf("got token %+v, want a live grant for acme", tok)
		}
		locs, err := oauthImporter(t, sc, vend.NewMemoryTokenStore(tok)).Locations(t.Context())
		if err != nil || len(locs) != 3 {
			t.Errorf("with the new token got %d locations, %v; want 3", len(locs), err)
		}
	})
	t.Run("wrong state", func(t *testing.T) {
		sc := buildScenario(t)
		u, done, _ := connectRun(t, sc.s, io.Discard)
		back := signIn(t, u)
		q := back.Query()
		q.Set("state", "forged-state-0123456789")
		back.RawQuery = q.Encode()
		status, page := get(t, back.String())
		err := <-done
		if want := "vend: the sign-in answer carried a different state than the one sent (a stale or forged link): nothing was saved; run `storeagent connect vend` again"; err == nil || err.Error() != want {
			t.Errorf("got %v, want %s", err, want)
		}
		if status != http.StatusBadRequest || !strings.Contains(page, "state mismatch") {
			t.Errorf("got page %d %q", status, page)
		}
	})
	t.Run("expired code", func(t *testing.T) {
		sc := buildScenario(t)
		u, done, _ := connectRun(t, sc.s, io.Discard)
		back := signIn(t, u)
		sc.s.Advance(11 * time.Minute)
		_, page := get(t, back.String())
		err := <-done
		want := "vend: Lightspeed refused the sign-in code (invalid_grant): a code works once and expires after about 10 minutes; run `storeagent connect vend` again"
		if err == nil || err.Error() != want {
			t.Errorf("got %v, want %s", err, want)
		}
		if !strings.Contains(page, "a code works once and expires after about 10 minutes") {
			t.Errorf("got page %q", page)
		}
	})
}
