package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/tmas/storeagent/importers/record"
	"io"
	"io/fs"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	"gopkg.in/yaml.v3"

	"github.com/tmas/storeagent/agent/config"
	"github.com/tmas/storeagent/agent/spool"
	"github.com/tmas/storeagent/ftpd"
	"github.com/tmas/storeagent/importers/vend"
	"github.com/tmas/storeagent/installer"
)

func locationsCmd(e *env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:               "locations SOURCE",
		Short:             "List the POS's own locations or outlets with their ids, to fill the mapping",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeSources,
		RunE: func(_ *cobra.Command, args []string) error {
			c, err := e.load()
			if err != nil {
				return err
			}
			if _, ok := sources[args[0]]; !ok {
				return usageError{fmt.Errorf("unknown source %q (known: %s)", args[0], strings.Join(sortedSourceNames(), ", "))}
			}
			st, closeSt := e.tokenState(c.Buffer.Path)
			defer closeSt()
			imp, _, err := buildSource(args[0], c, sourceDeps{logger: e.consoleLogger(), state: st})
			if err != nil {
				return usageError{err}
			}
			if imp == nil {
				return usageError{fmt.Errorf("there is no %s section in %s", args[0], e.path())}
			}
			ctx, cancel := within(e.ctx, time.Minute)
			defer cancel()
			locs, err := imp.Locations(ctx)
			if err != nil {
				return err
			}
			mapped := map[string]string{}
			for _, b := range c.Bindings(args[0]) {
				mapped[b.SourceID] = b.LocationID
			}
			type row struct {
				record.Location
				MappedTo string `json:"mapped_to,omitempty"`
			}
			rows := make([]row, 0, len(locs))
			for _, l := range locs {
				to := mapped[l.ID]
				for sid, tmas := range mapped {
					if len(sid) == 8 && strings.HasSuffix(l.ID, sid) {
						to = tmas
					}
				}
				rows = append(rows, row{l, to})
			}
			if asJSON {
				return printJSON(e.stdout, rows)
			}
			tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tTIME ZONE\tACTIVE\tMAPPED TO\tNOTE")
			for _, r := range rows {
				zone := r.TimeZone
				if zone == "" { // the POS gives none for the location (Shopify): the note says why
					zone = "-"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%s\t%s\n", r.ID, r.Name, zone, r.Active, r.MappedTo, r.Note)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func sortedSourceNames() []string { return slices.Sorted(maps.Keys(sources)) }

// completeSources completes a SOURCE argument for the shell.
func completeSources(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return sortedSourceNames(), cobra.ShellCompDirectiveNoFileComp
}

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// tokenState opens the buffer for a short command that needs stored tokens,
// when the agent is not running; otherwise the command works without them.
func (e *env) tokenState(path string) (stateStore, func()) {
	sp, _, err := spool.Open(spool.Options{Path: path, LockTimeout: 500 * time.Millisecond})
	if err != nil {
		return nil, func() {}
	}
	return sp, func() { sp.Close() }
}

func connectCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "connect", Short: "Connect a POS account that signs in with OAuth"}
	var noBrowser bool
	v := &cobra.Command{
		Use:   "vend",
		Short: "Sign in to Lightspeed X-Series (Vend) and store the tokens",
		Long: `Runs the OAuth sign-in: prints an address to open in a browser, waits for
Lightspeed to send the browser back to this machine, and stores the tokens in
the agent's buffer file. Stop the agent service first (storeagent stop).`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			c, err := e.load()
			if err != nil {
				return err
			}
			vc, _ := c.Section("vend").(*vend.Config)
			if vc == nil || !vc.UsesOAuth() {
				return usageError{errors.New("connect vend needs a vend section with client_id and client_secret (a personal token needs no connect)")}
			}
			sp, _, err := spool.Open(spool.Options{Path: c.Buffer.Path, LockTimeout: time.Second})
			if errors.Is(err, spool.ErrLocked) {
				return errors.New("the agent is running and holds the buffer where tokens are kept: stop it (storeagent stop), connect, then start it again")
			}
			if err != nil {
				return err
			}
			defer sp.Close()
			ctx, cancel := context.WithTimeout(e.ctx, 15*time.Minute)
			defer cancel()
			opts := vend.ConnectOptions{Out: e.stdout}
			if !noBrowser {
				opts.Open = openBrowser
			}
			tok, err := vend.Connect(ctx, *vc, opts)
			if err != nil {
				return err
			}
			if err := (vendTokens{sp}).SaveToken(ctx, tok); err != nil {
				return fmt.Errorf("the sign-in worked but the token could not be saved: %w", err)
			}
			fmt.Fprintf(e.stdout, "Connected to %s. The token is stored in %s; start the agent (storeagent start).\n", tok.DomainPrefix, c.Buffer.Path)
			return nil
		},
	}
	v.Flags().BoolVar(&noBrowser, "no-browser", false, "only print the sign-in address")
	cmd.AddCommand(v)
	return cmd
}

func ftpCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "ftp", Short: "FTP endpoint administration"}
	var location string
	passwd := &cobra.Command{
		Use:   "passwd USER",
		Short: "Set an FTP user's password (prompted, or read from standard input); adds the user if new",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			pw, err := readPassword(e)
			if err != nil {
				return err
			}
			if len(pw) < 8 {
				return usageError{errors.New("the password must have at least 8 characters")}
			}
			hash, err := ftpd.HashPassword(pw)
			if err != nil {
				return err
			}
			added, err := setFTPPassword(e.path(), args[0], hash, location)
			if err != nil {
				return err
			}
			verb := "changed"
			if added {
				verb = "added"
			}
			fmt.Fprintf(e.stdout, "FTP user %s %s in %s. Restart the agent to apply it (storeagent restart).\n", args[0], verb, e.path())
			return nil
		},
	}
	passwd.Flags().StringVar(&location, "location", "", "for a new user: the location its files are for")
	cmd.AddCommand(passwd)
	return cmd
}

func readPassword(e *env) (string, error) {
	if f, ok := e.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(e.stderr, "New password: ")
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(e.stderr)
		if err != nil {
			return "", err
		}
		fmt.Fprint(e.stderr, "Again: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(e.stderr)
		if err != nil {
			return "", err
		}
		if string(a) != string(b) {
			return "", usageError{errors.New("the two passwords differ")}
		}
		return string(a), nil
	}
	line, err := bufio.NewReader(e.stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", usageError{errors.New("no password on standard input")}
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func serviceCmds(e *env) []*cobra.Command {
	var out []*cobra.Command
	for _, a := range []struct{ name, short string }{
		{"install", "Install the agent as a system service (systemd / Windows Service Control Manager)"},
		{"uninstall", "Remove the system service (keeps the data unless --purge)"},
		{"start", "Start the service"},
		{"stop", "Stop the service"},
		{"restart", "Restart the service"},
	} {
		var purge bool
		cmd := &cobra.Command{
			Use:   a.name,
			Short: a.short,
			Args:  cobra.NoArgs,
			RunE: func(*cobra.Command, []string) error {
				p, err := servicePaths(e, defaultServicePaths())
				switch {
				case err == nil:
				case purge:
					return err
				case a.name == "install" && !errors.Is(err, fs.ErrNotExist):
					return err
				}
				opts := []installer.Option{installer.WithOutput(e.stdout), installer.WithLogger(e.consoleLogger())}
				if purge {
					opts = append(opts, installer.WithPurge())
				}
				if serviceManager != nil {
					opts = append(opts, installer.WithManager(serviceManager), installer.WithOwner(-1, -1))
				}
				return installer.Control(e.ctx, a.name, p, opts...)
			},
		}
		if a.name == "uninstall" {
			cmd.Flags().BoolVar(&purge, "purge", false, "also delete the data folder and configuration")
		}
		out = append(out, cmd)
	}
	return out
}

// defaultServicePaths and serviceManager are the platform's paths and
// service manager; tests replace them.
var (
	defaultServicePaths = installer.DefaultPaths
	serviceManager      installer.Manager // nil: the system's
)

// servicePaths are the installer's paths for the configuration the command
// names (--config, else the default one): its data_dir and the folder of its
// log.file, resolved as the agent resolves them (relative to the file,
// defaults filled in), so that install restricts and uninstall --purge
// deletes this configuration's folders and never another instance's.
//
// The file is read without validation: the sample install writes is not
// valid yet and still names the folders. When it is missing, the platform's
// default folders are returned; for a --config file they are a guess, and
// the error (wrapping fs.ErrNotExist) says so: install writes the sample
// with them, uninstall --purge refuses.
func servicePaths(e *env, defaults installer.Paths) (installer.Paths, error) {
	p := defaults
	if e.configPath != "" {
		abs, err := filepath.Abs(e.configPath)
		if err != nil {
			return p, err
		}
		p.ConfigFile = abs
	}
	raw, err := os.ReadFile(p.ConfigFile)
	if err == nil {
		c := &config.Config{}
		if err = yaml.Unmarshal(raw, c); err == nil {
			c.Path = p.ConfigFile
			c.SetDefaults()
			p.DataDir = c.Agent.DataDir
			p.LogDir = filepath.Dir(c.Log.File)
			p.Writable, p.Ports = serviceWrites(c, p), servicePorts(c)
			return p, nil
		}
	}
	if e.configPath == "" && errors.Is(err, fs.ErrNotExist) {
		return p, nil
	}
	return p, usageError{fmt.Errorf("cannot tell the data and log folders of %s: %w", p.ConfigFile, err)}
}

// serviceWrites are the folders the agent writes outside its data and log
// folders: a configured inbox, buffer, FTP home root or certificate folder.
func serviceWrites(c *config.Config, p installer.Paths) []string {
	dirs := []string{c.Inbox.Dir, filepath.Dir(c.Buffer.Path)}
	if c.FTP != nil {
		dirs = append(dirs, c.FTP.HomeRoot, c.FTP.CertDir)
	}
	var out []string
	for _, d := range dirs {
		if d == "" || inFolder(d, p.DataDir) || inFolder(d, p.LogDir) || slices.Contains(out, d) {
			continue
		}
		out = append(out, d)
	}
	return out
}

// inFolder reports whether path is dir or inside it.
func inFolder(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// servicePorts are the TCP ports the agent listens on: the FTP port and the
// first passive port, and the status page's.
func servicePorts(c *config.Config) []int {
	var ports []int
	add := func(s string) {
		if n, err := strconv.Atoi(s); err == nil {
			ports = append(ports, n)
		}
	}
	hostPort := func(addr string) {
		if _, port, err := net.SplitHostPort(addr); err == nil {
			add(port)
		}
	}
	if c.FTP != nil {
		hostPort(c.FTP.Listen)
		first, _, _ := strings.Cut(c.FTP.PassivePorts, "-")
		add(strings.TrimSpace(first))
	}
	hostPort(c.Status.Listen)
	return ports
}
