package vend

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// ConnectOptions are the connect flow's collaborators.
type ConnectOptions struct {
	// Open opens the sign-in address in a browser; nil only prints it.
	Open func(url string) error
	// Out receives the address and progress (default io.Discard).
	Out io.Writer
	// Listen is the loopback address of the redirect listener when
	// vend.redirect_url is not set (default "127.0.0.1:0", a free port).
	Listen     string
	HTTPClient *http.Client
	Now        func() time.Time
}

// stateLen is the length of the random state (Lightspeed wants ≥ 8).
const stateLen = 32

// Connect runs the OAuth authorization-code sign-in: it listens on a
// loopback address for the redirect, prints (and opens) the sign-in address,
// checks the state that comes back, and exchanges the code for a token. The
// caller saves the token in its TokenStore.
func Connect(ctx context.Context, cfg Config, opts ConnectOptions) (Token, error) {
	cfg.SetDefaults()
	if !cfg.UsesOAuth() {
		return Token{}, errors.New("vend: connect needs vend.client_id and vend.client_secret (an OAuth application); a personal token needs no connect")
	}
	secret, err := cfg.ClientSecretRef().Resolve()
	if err != nil {
		return Token{}, fmt.Errorf("vend.client_secret: %w", err)
	}
	if secret.IsZero() {
		return Token{}, errors.New("vend.client_secret: is required with client_id")
	}
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 60 * time.Second}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	listen, path := opts.Listen, "/callback"
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	if cfg.RedirectURL != "" {
		if err := checkLoopback(cfg.RedirectURL); err != nil {
			return Token{}, fmt.Errorf("vend.redirect_url: %w", err)
		}
		u, _ := url.Parse(cfg.RedirectURL)
		listen = u.Host
		if u.Port() == "" {
			listen = net.JoinHostPort(u.Hostname(), "80")
		}
		if u.Path != "" {
			path = u.Path
		}
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", listen)
	if err != nil {
		return Token{}, fmt.Errorf("vend: listen for the sign-in's return on %s: %w", listen, err)
	}
	redirect := cfg.RedirectURL
	if redirect == "" {
		redirect = "http://" + ln.Addr().String() + path
	}
	state, err := newState()
	if err != nil {
		ln.Close()
		return Token{}, err
	}
	q := url.Values{
		"response_type": {"code"},
		"client_id":     {cfg.ClientID},
		"redirect_uri":  {redirect},
		"state":         {state},
		"scope":         {cfg.Scope},
	}
	signIn := strings.TrimRight(cfg.AuthURL, "/") + "/connect?" + q.Encode()

	type result struct {
		tok Token
		err error
	}
	done := make(chan result, 1)
	var once sync.Once
	finish := func(r result) { once.Do(func() { done <- r }) }

	mux := http.NewServeMux()
	mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		rq := r.URL.Query()
		page := func(status int, title, text string) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(status)
			fmt.Fprintf(w, "<!doctype html><title>storeagent</title><h1>%s</h1><p>%s</p>", html.EscapeString(title), html.EscapeString(text))
		}
		if subtle.ConstantTimeCompare([]byte(rq.Get("state")), []byte(state)) != 1 {
			page(http.StatusBadRequest, "This sign-in did not come from this storeagent",
				"The answer does not carry the code this storeagent sent (state mismatch), so it was ignored. Close this tab and run `storeagent connect vend` again.")
			finish(result{err: errors.New("vend: the sign-in answer carried a different state than the one sent (a stale or forged link): nothing was saved; run `storeagent connect vend` again")})
			return
		}
		if e := rq.Get("error"); e != "" {
			page(http.StatusOK, "Lightspeed did not connect", "Lightspeed answered: "+e+" "+rq.Get("error_description")+". Run `storeagent connect vend` again.")
			finish(result{err: fmt.Errorf("vend: the sign-in was not completed: Lightspeed answered %q %s", e, rq.Get("error_description"))})
			return
		}
		code, prefix := rq.Get("code"), strings.ToLower(rq.Get("domain_prefix"))
		if code == "" {
			page(http.StatusBadRequest, "No sign-in code", "Lightspeed's answer carries no code. Run `storeagent connect vend` again.")
			finish(result{err: errors.New("vend: the sign-in answer carried no code")})
			return
		}
		tok, err := exchange(r.Context(), cfg, opts, secret.Reveal(), code, prefix, redirect)
		if err != nil {
			page(http.StatusOK, "Lightspeed did not connect", err.Error())
			finish(result{err: err})
			return
		}
		page(http.StatusOK, "Connected", "storeagent is connected to the Lightspeed store "+tok.DomainPrefix+". You can close this tab.")
		finish(result{tok: tok})
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(ln)
	}()
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		<-served
	}()

	fmt.Fprintf(opts.Out, "Open this address in a browser and sign in to Lightspeed as an administrator of the store:\n\n  %s\n\nWaiting for the sign-in to come back to %s ...\n", signIn, redirect)
	if opts.Open != nil {
		if err := opts.Open(signIn); err != nil {
			fmt.Fprintf(opts.Out, "(could not open a browser: %v; open the address yourself)\n", err)
		}
	}
	select {
	case <-ctx.Done():
		return Token{}, fmt.Errorf("vend: connect stopped before the sign-in came back: %w", ctx.Err())
	case r := <-done:
		if r.err == nil {
			fmt.Fprintf(opts.Out, "Connected to %s.\n", r.tok.DomainPrefix)
		}
		return r.tok, r.err
	}
}

func newState() (string, error) {
	b := make([]byte, stateLen*3/4)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("vend: make the sign-in state: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// exchange trades the sign-in code for a token at the store's token endpoint.
func exchange(ctx context.Context, cfg Config, opts ConnectOptions, secret, code, prefix, redirect string) (Token, error) {
	if prefix == "" {
		prefix = cfg.DomainPrefix
	}
	if !prefixRE.MatchString(prefix) {
		return Token{}, fmt.Errorf("vend: the sign-in answer names the store %q, which is not a Lightspeed store name", prefix)
	}
	if cfg.DomainPrefix != "" && prefix != cfg.DomainPrefix {
		return Token{}, fmt.Errorf("vend: you signed in to the Lightspeed store %q but vend.domain_prefix is %q: sign in to the right store, or fix the configuration", prefix, cfg.DomainPrefix)
	}
	base := "https://" + prefix + ".retail.lightspeed.app"
	if cfg.BaseURL != "" {
		base = strings.TrimRight(cfg.BaseURL, "/")
	}
	form := url.Values{
		"code":          {code},
		"client_id":     {cfg.ClientID},
		"client_secret": {secret},
		"grant_type":    {"authorization_code"},
		"redirect_uri":  {redirect},
	}
	tok, err := postToken(ctx, opts.HTTPClient, base+"/api/1.0/token", form, opts.Now())
	if err != nil {
		var te *tokenError
		if errors.As(err, &te) {
			switch te.Code {
			case "invalid_grant":
				return Token{}, errors.New("vend: Lightspeed refused the sign-in code (invalid_grant): a code works once and expires after about 10 minutes; run `storeagent connect vend` again")
			case "invalid_client", "unauthorized_client":
				return Token{}, fmt.Errorf("vend: Lightspeed refused the application (%s): check vend.client_id and vend.client_secret", te.Code)
			}
		}
		return Token{}, fmt.Errorf("vend: exchange the sign-in code: %w", err)
	}
	if tok.DomainPrefix == "" {
		tok.DomainPrefix = prefix
	}
	return tok, nil
}
