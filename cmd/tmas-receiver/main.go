package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/tmas/storeagent/cmd/tmas-receiver/receiver"
	"github.com/tmas/storeagent/cmd/tmas-receiver/receiver/pgstore"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	code := 0
	var ue usageError
	switch {
	case errors.Is(err, flag.ErrHelp):
	case errors.As(err, &ue):
		fmt.Fprintln(os.Stderr, "tmas-receiver:", err)
		code = 2
	case err != nil:
		fmt.Fprintln(os.Stderr, "tmas-receiver:", err)
		code = 1
	}
	os.Exit(code)
}

// usageError is a mistake in the command line (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tmas-receiver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		listen      = fs.String("listen", "127.0.0.1:8700", "address to listen on (port 0 picks a free port)")
		store       = fs.String("store", "", "where to store: a bbolt file path, or a postgres:// URL shared by any number of receivers (empty: in memory)")
		dbPath      = fs.String("db", "", "bbolt file holding the store (the same as --store PATH)")
		tokenFile   = fs.String("token-file", "", "file with shared tokens, one per line, each valid for any agent id (demo, tests)")
		tokensFile  = fs.String("tokens-file", "", "file of per-agent tokens: lines of AGENT_ID sha256:HEX or AGENT_ID BCRYPT_HASH")
		silentAfter = fs.Duration("silent-after", 0, "call an agent silent after this long without a status report (default: 3 × its announced interval)")
		locations   = fs.String("locations", "", "comma-separated known TMAS location ids (empty: any)")
		admin       = fs.Bool("admin", false, "enable the /_admin/ endpoints (faults, records, stats); for tests only")
		maxLines    = fs.Int("max-lines", receiver.DefaultMaxLines, "most lines per batch (413 beyond)")
		maxBytes    = fs.Int64("max-bytes", receiver.DefaultMaxBytes, "most bytes per batch before compression (413 beyond)")
		verbose     = fs.Bool("v", false, "log every request")
		tokens      []string
	)
	fs.Func("token", "an accepted bearer token (repeatable; prefer --token-file, as arguments are visible to other users)", func(s string) error {
		if strings.TrimSpace(s) == "" {
			return errors.New("empty token")
		}
		tokens = append(tokens, strings.TrimSpace(s))
		return nil
	})
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	if *tokenFile != "" {
		t, err := readTokens(*tokenFile)
		if err != nil {
			return err
		}
		tokens = append(tokens, t...)
	}
	var agentTokens []receiver.AgentToken
	if *tokensFile != "" {
		f, err := os.Open(*tokensFile)
		if err != nil {
			return fmt.Errorf("tokens file: %w", err)
		}
		agentTokens, err = receiver.ParseTokens(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("tokens file %s: %w", *tokensFile, err)
		}
		if len(agentTokens) == 0 {
			return fmt.Errorf("tokens file %s holds no token", *tokensFile)
		}
	}
	if len(tokens) == 0 && len(agentTokens) == 0 {
		return usageError{"give at least one --token, a --token-file or a --tokens-file"}
	}
	if *store != "" && *dbPath != "" {
		return usageError{"give --store or --db, not both"}
	}
	if *store == "" {
		*store = *dbPath
	}
	var locs []string
	for l := range strings.SplitSeq(*locations, ",") {
		if l = strings.TrimSpace(l); l != "" {
			locs = append(locs, l)
		}
	}

	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	cfg := receiver.Config{
		Tokens: tokens, AgentTokens: agentTokens, Locations: locs, SilentAfter: *silentAfter,
		MaxLines: *maxLines, MaxBytes: *maxBytes, Admin: *admin, Logger: logger,
	}
	if strings.HasPrefix(*store, "postgres://") || strings.HasPrefix(*store, "postgresql://") {
		st, err := pgstore.Open(ctx, *store)
		if err != nil {
			return err
		}
		cfg.Store = st
	} else {
		cfg.DBPath = *store
	}
	r, err := receiver.New(cfg)
	if err != nil {
		if cfg.Store != nil {
			err = errors.Join(err, cfg.Store.Close())
		}
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return errors.Join(fmt.Errorf("listen: %w", err), r.Close())
	}
	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())
	err = r.Run(ctx, ln)
	return errors.Join(err, r.Close())
}

// readTokens reads one token per line, skipping blank lines and # comments.
func readTokens(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("token file: %w", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("token file: %w", err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("token file %s holds no token", path)
	}
	return out, nil
}
