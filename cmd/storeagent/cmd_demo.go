package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/tmas/storeagent/agent"
	"github.com/tmas/storeagent/agent/config"
	"github.com/tmas/storeagent/cmd/tmas-receiver/receiver"
	"github.com/tmas/storeagent/ftpd"
)

const demoCSV = "location_id;employee_id;nom;date;entree;sortie;pause\r\n" +
	"0421;E017;Hélène Dubé;20/11/2026;08:58;17:04;30\r\n" +
	"0421;E022;Marc Roy;20/11/2026;22:00;06:00;0\r\n"

func demoCmd(e *env) *cobra.Command {
	var dir string
	var keep bool
	var duration time.Duration
	var dropSample bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run a self-contained agent on this machine: FTP endpoint, watched inbox and a local headquarters",
		Long: `Starts, on this machine and with nothing installed, an agent with its FTP
endpoint and watched inbox, and the reference headquarters receiver in the same
process. Upload a staff-hours CSV (a sample is written for you) and watch it
arrive at headquarters. Stop with Ctrl-C.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return runDemo(e, dir, keep, duration, dropSample)
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "data folder (default: a new temporary folder)")
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the temporary folder afterwards")
	cmd.Flags().DurationVar(&duration, "for", 0, "stop by itself after this long (0: run until Ctrl-C)")
	cmd.Flags().BoolVar(&dropSample, "drop-sample", false, "drop the sample file into the inbox at start")
	return cmd
}

func runDemo(e *env, dir string, keep bool, duration time.Duration, dropSample bool) error {
	ctx := e.ctx
	if duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, duration)
		defer cancel()
	}
	if dir == "" {
		d, err := os.MkdirTemp("", "storeagent-demo-")
		if err != nil {
			return err
		}
		dir = d
		if !keep {
			defer func() {
				if err := os.RemoveAll(dir); err != nil {
					fmt.Fprintf(e.stderr, "warning: the demo folder %s could not be removed: %v\n", dir, err)
				}
			}()
		}
	}
	logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if e.verbose {
		logger = slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}

	// Headquarters, in this process.
	token := randomString(18)
	hq, err := receiver.New(receiver.Config{Tokens: []string{token}, Locations: []string{"0421", "0422"}, Admin: true})
	if err != nil {
		return err
	}
	defer hq.Close()
	hqLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hqCtx, stopHQ := context.WithCancel(context.Background())
	var hqWG sync.WaitGroup
	hqWG.Add(1)
	go func() { defer hqWG.Done(); _ = hq.Run(hqCtx, hqLn) }()
	defer func() { stopHQ(); hqWG.Wait() }()

	// A fixed local port for the status API, so that `status` and `doctor`
	// with this demo's configuration find the running agent.
	statusAddr, err := freeLoopbackAddr()
	if err != nil {
		return err
	}
	password := randomString(12)
	hash, err := ftpd.HashPassword(password)
	if err != nil {
		return err
	}
	text := fmt.Sprintf(`# Written by storeagent demo.
agent: {id: demo-store, data_dir: data, timezone: America/Toronto}
upstream: {url: "http://%s", token: %q, batch_max_age: 1s}
locations:
  "0421": {timezone: America/Toronto, name: Demo Toronto}
  "0422": {timezone: Europe/Paris, name: Demo Paris}
ftp:
  listen: "127.0.0.1:0"
  passive_ports: "0"
  tls: {mode: explicit, required: true}
  users:
    - {name: demo, password_hash: '%s', location: "0421"}
inbox: {settle: 1s, rescan: 10s}
status: {listen: %q}
`, hqLn.Addr(), token, hash, statusAddr)
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(text), 0o600); err != nil {
		return err
	}
	c, err := config.Load(cfgPath, configKinds()...)
	if err != nil {
		return err
	}
	as, err := assemble(c, logger, agent.Options{NoStartupSync: true})
	if err != nil {
		return err
	}
	sample := filepath.Join(dir, "sample-timesheet.csv")
	if err := os.WriteFile(sample, []byte(demoCSV), 0o644); err != nil {
		return err
	}
	host, port, _ := net.SplitHostPort(as.ftp.Addr())
	fmt.Fprintf(e.stdout, `
TMAS store agent demo
=====================
Data folder      %s
Watched inbox    %s   (drop a .csv file here)
Status page      %s
Headquarters     http://%s   (records it holds: http://%s/_admin/records)

FTP endpoint (explicit FTPS, self-signed certificate)
  host %s  port %s  user demo  password %s

Upload the sample with curl:
  curl --ssl-reqd -k -T %s ftp://demo:%s@%s:%s/

Or with lftp (the certificate is self-signed, so lftp must not verify it):
  lftp -p %s -u demo,%s -e "set ftp:ssl-force true; set ssl:verify-certificate no; put %s; bye" %s

FileZilla: Host %s, Port %s, Protocol FTP, Encryption "Require explicit FTP over TLS",
  Logon Type Normal, User demo, Password %s; accept the certificate; Transfer mode Passive.

Refused files land in rejected/ with a <name>.errors.txt report, readable over FTP.

Look at it as store IT would, from another terminal (from the source tree,
"go run ./cmd/storeagent" stands for storeagent):
  storeagent status --config %s
  storeagent doctor --config %s
Press Ctrl-C to stop.

`, dir, c.Inbox.Dir, as.statusURL, hqLn.Addr(), hqLn.Addr(), host, port, password, sample, password, host, port,
		port, password, sample, host, host, port, password, cfgPath, cfgPath)
	if dropSample {
		if err := os.MkdirAll(c.Inbox.Dir, 0o750); err == nil {
			os.WriteFile(filepath.Join(c.Inbox.Dir, "sample-timesheet.csv"), []byte(demoCSV), 0o640)
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		watchHQ(ctx, e, hq)
	}()
	err = as.agent.Run(ctx, as.extra)
	<-done
	st := hq.Stats()
	fmt.Fprintf(e.stdout, "\nDemo stopped. Headquarters holds %d records (%d lines accepted).\n", st.Keys, st.LinesAccepted)
	if keep {
		fmt.Fprintf(e.stdout, "Data kept in %s\n", dir)
	}
	return err
}

// freeLoopbackAddr finds a free TCP port on 127.0.0.1.
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// watchHQ prints each change of what headquarters holds.
func watchHQ(ctx context.Context, e *env, hq *receiver.Receiver) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	var seen int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			st := hq.Stats()
			if st.LinesAccepted == seen {
				continue
			}
			seen = st.LinesAccepted
			fmt.Fprintf(e.stdout, "headquarters now holds %d records:\n", st.Keys)
			for _, r := range hq.Records() {
				fmt.Fprintf(e.stdout, "  %s rev %d %s\n", r.Key, r.Rev, summary(r.Fields))
			}
		}
	}
}

func summary(f map[string]any) string {
	var parts []string
	for _, k := range []string{"location_id", "employee_name", "clock_in", "clock_out", "hours", "kind", "net_sales", "occurred_at"} {
		if v, ok := f[k]; ok && v != nil {
			parts = append(parts, fmt.Sprintf("%s=%v", k, v))
		}
	}
	return strings.Join(parts, " ")
}

func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return strings.NewReplacer("+", "x", "/", "y", "=", "").Replace(base64.StdEncoding.EncodeToString(b))[:n]
}

var _ = http.StatusOK
