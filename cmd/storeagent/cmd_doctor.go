package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tmas/storeagent/agent/config"
	"github.com/tmas/storeagent/agent/spool"
	"github.com/tmas/storeagent/importers/record"
)

func doctorCmd(e *env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check the configuration, permissions, disk, credentials, location mapping, headquarters and FTP, and say what to fix",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			c, err := config.Load(e.path(), configKinds()...)
			if err != nil {
				if asJSON {
					_ = printFindings(e.stdout, []record.Finding{{Check: "configuration " + e.path(), Detail: err.Error(), Fix: "fix the configuration first"}}, true)
				} else {
					fmt.Fprintf(e.stdout, "[FAIL] configuration %s\n%s\n", e.path(), indent(err.Error()))
				}
				return usageError{errors.New("fix the configuration first")}
			}
			findings := []record.Finding{{Check: "configuration " + c.Path, OK: true}}
			ctx, cancel := within(e.ctx, 2*time.Minute)
			defer cancel()
			running := agentRunning(ctx, c)
			findings = append(findings, checkPermissions(c)...)
			findings = append(findings, checkDisk(c))
			findings = append(findings, checkBuffer(c, running))
			findings = append(findings, checkUpstream(ctx, c))
			st, closeSt := e.tokenState(c.Buffer.Path)
			imps, _, err := buildSources(c, sourceDeps{logger: e.consoleLogger(), state: st})
			if err != nil {
				findings = append(findings, record.Finding{Check: "sources", Detail: err.Error(), Fix: "correct the source sections of the configuration"})
			}
			for _, name := range sortedSourceNames() {
				imp, ok := imps[name]
				if !ok {
					continue
				}
				for _, f := range imp.Check(ctx) {
					f.Check = name + ": " + f.Check
					findings = append(findings, f)
				}
			}
			closeSt()
			findings = append(findings, checkUnmappedLocations(c, slices.Sorted(maps.Keys(imps)))...)
			if c.FTP != nil {
				findings = append(findings, checkFTP(c, running)...)
				findings = append(findings, checkFTPTLS(c)...)
			}
			return printFindings(e.stdout, findings, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the findings as JSON")
	return cmd
}

// checkUnmappedLocations names the TMAS locations no configured POS source
// is mapped to: their sales never reach headquarters. An agent with no POS
// source (staff hours only) has nothing to map.
func checkUnmappedLocations(c *config.Config, sources []string) []record.Finding {
	if len(sources) == 0 {
		return nil
	}
	bound := map[string]bool{}
	for _, name := range sources {
		for _, b := range c.Bindings(name) {
			bound[b.LocationID] = true
		}
	}
	var out []record.Finding
	for _, id := range c.LocationIDs() {
		if bound[id] {
			continue
		}
		out = append(out, record.Finding{Check: "location " + id, OK: true, Warning: true,
			Detail: "no POS source is mapped to it (" + strings.Join(sources, ", ") + "): no sales reach headquarters for it",
			Fix:    "map it to a POS source (under locations." + id + ", or in the section of a source that maps locations itself; storeagent locations SOURCE lists the POS's ids), or remove it if it sells nothing"})
	}
	return out
}

// printFindings lists the findings and sums them up; the error is non-nil
// when one failed (a warning alone is not a failure).
func printFindings(w io.Writer, findings []record.Finding, asJSON bool) error {
	bad, warn := 0, 0
	for _, f := range findings {
		switch {
		case !f.OK:
			bad++
		case f.Warning:
			warn++
		}
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(map[string]any{"findings": findings, "problems": bad, "warnings": warn}); err != nil {
			return err
		}
	} else {
		for _, f := range findings {
			mark := "ok  "
			switch {
			case !f.OK:
				mark = "FAIL"
			case f.Warning:
				mark = "WARN"
			}
			fmt.Fprintf(w, "[%s] %s", mark, f.Check)
			if f.Detail != "" {
				fmt.Fprintf(w, ": %s", f.Detail)
			}
			fmt.Fprintln(w)
			if (!f.OK || f.Warning) && f.Fix != "" {
				fmt.Fprintf(w, "       fix: %s\n", f.Fix)
			}
		}
	}
	switch {
	case bad > 0 && warn > 0:
		return fmt.Errorf("%s and %s found", plural(bad, "problem"), plural(warn, "warning"))
	case bad > 0:
		return fmt.Errorf("%s found", plural(bad, "problem"))
	case asJSON:
	case warn > 0:
		fmt.Fprintf(w, "No problem found, but %s to look at (above).\n", plural(warn, "warning"))
	default:
		fmt.Fprintln(w, "Everything checked is fine.")
	}
	return nil
}

// plural is "1 problem", "2 problems".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func indent(s string) string { return "  " + strings.ReplaceAll(s, "\n", "\n  ") }

func agentRunning(ctx context.Context, c *config.Config) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+c.Status.Listen+"/api/status", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func checkPermissions(c *config.Config) []record.Finding {
	var out []record.Finding
	if runtime.GOOS != "windows" {
		fi, err := os.Stat(c.Path)
		if err == nil && fi.Mode().Perm()&0o007 != 0 {
			out = append(out, record.Finding{Check: "configuration permissions", Detail: fmt.Sprintf("%s is readable by every user (%v) and may hold secrets", c.Path, fi.Mode().Perm()),
				Fix: "chmod 640 " + c.Path})
		} else if err == nil {
			out = append(out, record.Finding{Check: "configuration permissions", OK: true, Detail: fi.Mode().Perm().String()})
		}
	}
	if err := os.MkdirAll(c.Agent.DataDir, 0o750); err != nil {
		return append(out, record.Finding{Check: "data folder " + c.Agent.DataDir, Detail: err.Error(), Fix: "create it and give the service account write access"})
	}
	probe := filepath.Join(c.Agent.DataDir, ".doctor-write-test")
	if err := os.WriteFile(probe, []byte("ok"), 0o600); err != nil {
		return append(out, record.Finding{Check: "data folder " + c.Agent.DataDir, Detail: "not writable: " + err.Error(), Fix: "give the service account write access to it"})
	}
	os.Remove(probe)
	return append(out, record.Finding{Check: "data folder " + c.Agent.DataDir, OK: true, Detail: "writable"})
}

func checkDisk(c *config.Config) record.Finding {
	free, err := freeBytes(c.Agent.DataDir)
	if err != nil {
		return record.Finding{Check: "disk space", Detail: err.Error()}
	}
	need := min(int64(c.Buffer.MaxSize), 1<<30)
	f := record.Finding{Check: "disk space", OK: free >= need, Detail: humanBytes(free) + " free where the buffer lives"}
	if !f.OK {
		f.Fix = fmt.Sprintf("free at least %s on that disk, or lower buffer.max_size; when the disk fills, uploads are refused", humanBytes(need))
	}
	return f
}

func checkBuffer(c *config.Config, running bool) record.Finding {
	if running {
		return record.Finding{Check: "buffer " + c.Buffer.Path, OK: true, Detail: "held by the running agent"}
	}
	sp, rec, err := spool.Open(spool.Options{Path: c.Buffer.Path, LockTimeout: time.Second})
	if err != nil {
		return record.Finding{Check: "buffer " + c.Buffer.Path, Detail: err.Error(), Fix: "check the folder's permissions and that no other storeagent uses this data folder"}
	}
	st := sp.Stats()
	sp.Close()
	if rec != nil {
		return record.Finding{Check: "buffer " + c.Buffer.Path, Detail: fmt.Sprintf("was damaged and has been set aside as %s (%s); %d records salvaged", rec.SetAside, rec.Reason, rec.Salvaged),
			Fix: "keep the damaged file for support; the agent continues with a fresh buffer"}
	}
	return record.Finding{Check: "buffer " + c.Buffer.Path, OK: true, Detail: fmt.Sprintf("%d records waiting, %d dead letters", st.Queued, st.Dead)}
}

func checkUpstream(ctx context.Context, c *config.Config) record.Finding {
	f := record.Finding{Check: "headquarters " + c.Upstream.URL}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(c.Upstream.URL, "/")+"/v1/ping", nil)
	if err != nil {
		f.Detail = err.Error()
		return f
	}
	req.Header.Set("Authorization", "Bearer "+c.UpstreamToken.Reveal())
	client := &http.Client{Transport: upstreamTransport(c)}
	resp, err := client.Do(req)
	if err != nil {
		f.Detail = "unreachable: " + err.Error()
		f.Fix = "check the network, upstream.url, upstream.proxy and upstream.ca_file; records wait in the buffer meanwhile"
		return f
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNoContent, http.StatusOK:
		f.OK, f.Detail = true, "the agent token is accepted"
	case http.StatusUnauthorized, http.StatusForbidden:
		f.Detail = fmt.Sprintf("the agent token is refused (HTTP %d)", resp.StatusCode)
		f.Fix = "set upstream.token (or token_env / token_file) to the token TMAS gave for this agent"
	default:
		f.Detail = "answered " + resp.Status
		f.Fix = "headquarters may be in maintenance; try again later"
	}
	return f
}

func upstreamTransport(c *config.Config) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	if c.Upstream.CAFile != "" {
		if pemBytes, err := os.ReadFile(c.Upstream.CAFile); err == nil {
			pool, _ := x509.SystemCertPool()
			if pool == nil {
				pool = x509.NewCertPool()
			}
			pool.AppendCertsFromPEM(pemBytes)
			tr.TLSClientConfig.RootCAs = pool
		}
	}
	if c.Upstream.Proxy != "" {
		if u, err := url.Parse(c.Upstream.Proxy); err == nil {
			tr.Proxy = http.ProxyURL(u)
		}
	}
	return tr
}

func checkFTP(c *config.Config, running bool) []record.Finding {
	var out []record.Finding
	f := record.Finding{Check: "FTP port " + c.FTP.Listen}
	ln, err := net.Listen("tcp", c.FTP.Listen)
	switch {
	case err == nil:
		ln.Close()
		f.OK, f.Detail = true, "free"
	case running:
		f.OK, f.Detail = true, "in use by the running agent"
	default:
		f.Detail = "cannot listen: " + err.Error()
		f.Fix = "another program uses this port: stop it or change ftp.listen"
	}
	out = append(out, f)
	if len(c.FTP.Users) == 0 {
		out = append(out, record.Finding{Check: "FTP users", Detail: "no user can log in", Fix: "add one: storeagent ftp passwd USER --location ID"})
	}
	for _, u := range c.FTP.Users {
		if u.PasswordHash == "" {
			out = append(out, record.Finding{Check: "FTP user " + u.Name, Detail: "has no password", Fix: "storeagent ftp passwd " + u.Name})
		}
	}
	if c.FTP.TLS.Mode != "" && c.FTP.TLS.Mode != "off" {
		cert := c.FTP.TLS.CertFile
		if cert == "" {
			cert = filepath.Join(c.FTP.CertDir, "ftp-cert.pem")
		}
		out = append(out, checkCert(cert, c.FTP.TLS.CertFile == ""))
	}
	return out
}

// checkFTPTLS warns (counted in the summary, not a failure of the endpoint)
// when the FTP endpoint lets passwords and files cross the network in clear:
// TLS off, or explicit TLS not required. Implicit TLS is always encrypted.
func checkFTPTLS(c *config.Config) []record.Finding {
	f := record.Finding{Check: "FTP TLS", OK: true, Warning: true}
	switch {
	case c.FTP.TLS.Mode == "off":
		f.Detail = "ftp.tls.mode is off: FTP passwords and staff-hours files cross the network unencrypted"
	case c.FTP.TLS.Mode == "explicit" && !c.FTP.TLS.Required:
		f.Detail = "ftp.tls.required is false: clients may log in and upload without encryption"
	default:
		return nil
	}
	f.Fix = "set ftp.tls to {mode: explicit, required: true} (a self-signed certificate is generated at first start) and set the clients to require explicit FTP over TLS"
	return []record.Finding{f}
}

func checkCert(path string, generated bool) record.Finding {
	f := record.Finding{Check: "FTP certificate " + path}
	raw, err := os.ReadFile(path)
	if err != nil {
		if generated && os.IsNotExist(err) {
			f.OK, f.Detail = true, "will be generated (self-signed) at first start"
			return f
		}
		f.Detail, f.Fix = err.Error(), "check ftp.tls.cert_file"
		return f
	}
	block, _ := pem.Decode(raw)
	if block == nil {
		f.Detail, f.Fix = "not a PEM certificate", "check ftp.tls.cert_file"
		return f
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		f.Detail, f.Fix = err.Error(), "check ftp.tls.cert_file"
		return f
	}
	left := time.Until(cert.NotAfter)
	switch {
	case left < 0:
		f.Detail, f.Fix = "expired on "+cert.NotAfter.Format(time.DateOnly), "renew the certificate (or delete the generated one to have a new one made)"
	case left < 30*24*time.Hour:
		f.Detail, f.Fix = "expires on "+cert.NotAfter.Format(time.DateOnly), "renew it soon"
	default:
		f.OK, f.Detail = true, "valid until "+cert.NotAfter.Format(time.DateOnly)
	}
	return f
}

// humanBytes writes a byte count for people: 512 B, 3.4 MiB, 76.7 GiB.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
