package main

// Benchmarks of the real binary: idle footprint, start-up, and FTP uploads
// into a running agent. They build a normal (non-race) binary.
//
//	go test -run '^$' -bench 'Idle|Startup|FTPUploads' -benchtime 1x ./cmd/storeagent

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jlaffaye/ftp"

	"github.com/tmas/storeagent/cmd/tmas-receiver/receiver"
	"github.com/tmas/storeagent/importers/shopify/shopifytest"
	"github.com/tmas/storeagent/importers/vend/vendtest"
)

var (
	plainOnce sync.Once
	plainBin  string
	plainErr  error
)

func plainBinary(b *testing.B) string {
	b.Helper()
	plainOnce.Do(func() {
		dir, err := os.MkdirTemp("", "storeagent-bench-")
		if err != nil {
			plainErr = err
			return
		}
		plainBin = filepath.Join(dir, "storeagent")
		out, err := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", plainBin, "github.com/tmas/storeagent/cmd/storeagent").CombinedOutput()
		if err != nil {
			plainErr = fmt.Errorf("%v\n%s", err, out)
		}
	})
	if plainErr != nil {
		b.Fatal(plainErr)
	}
	return plainBin
}

// procStat reads a process's resident memory (now and peak, KiB) and CPU
// time (user+system, clock ticks) from /proc.
func procStat(b *testing.B, pid int) (rssKiB, peakKiB int64, ticks int64) {
	rssKiB, peakKiB, _, ticks = procMem(b, pid)
	return
}

// procMem also returns the anonymous part of the resident memory (heap and
// stacks, KiB): the rest is file pages, such as the buffer file bbolt maps,
// which the kernel reclaims at will.
func procMem(b *testing.B, pid int) (rssKiB, peakKiB, anonKiB int64, ticks int64) {
	b.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Skipf("no /proc here: %v", err)
	}
	for _, l := range strings.Split(string(status), "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && f[0] == "VmRSS:" {
			rssKiB, _ = strconv.ParseInt(f[1], 10, 64)
		}
		if len(f) >= 2 && f[0] == "VmHWM:" {
			peakKiB, _ = strconv.ParseInt(f[1], 10, 64)
		}
		if len(f) >= 2 && f[0] == "RssAnon:" {
			anonKiB, _ = strconv.ParseInt(f[1], 10, 64)
		}
	}
	stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if i := bytes.LastIndexByte(stat, ')'); i > 0 {
		f := strings.Fields(string(stat[i+2:]))
		if len(f) > 13 {
			u, _ := strconv.ParseInt(f[11], 10, 64)
			s, _ := strconv.ParseInt(f[12], 10, 64)
			ticks = u + s
		}
	}
	return
}

// fullConfig is an agent with every source configured against doubles, the
// FTP endpoint and the inbox: what a store runs.
func fullConfig(b *testing.B, dir string) agentSetup {
	hq, err := receiver.New(receiver.Config{Tokens: []string{"agent-token"}})
	if err != nil {
		b.Fatal(err)
	}
	hqSrv := httptest.NewServer(hq.Handler())
	b.Cleanup(hqSrv.Close)
	shop := shopifytest.NewServer(b, shopifytest.Options{SearchLag: -1})
	shop.AddToken("shpat_bench")
	loc := shop.AddLocation("Toronto", true)
	now := time.Now()
	for i := range 50 {
		shop.AddOrder(shopifytest.Order{Location: loc, ProcessedAt: now.Add(-time.Duration(i+1) * time.Hour), Lines: []shopifytest.Line{{Title: "Mug", Qty: 1, Price: "10.00"}}})
	}
	v := vendtest.NewServer(b, vendtest.WithPersonalToken("vend-bench"), vendtest.WithNow(now))
	outlet := v.AddOutlet(vendtest.Outlet{Name: "Main", TimeZone: "America/Toronto", Currency: "CAD"})
	s := agentSetup{dir: dir, config: filepath.Join(dir, "config.yaml"), statusAddr: freeAddr(b), ftpAddr: freeAddr(b)}
	hash, _ := hashForTest("bench-pass-1")
	cfg := fmt.Sprintf(`agent: {id: bench, data_dir: data}
upstream: {url: %q, token: agent-token}
locations:
  "0421": {timezone: America/Toronto, shopify: %q, vend: %q}
shopify: {shop: acme, token: shpat_bench, base_url: %q}
vend: {domain_prefix: acme, token: vend-bench, base_url: %q, staff: false}
ftp:
  listen: %q
  passive_ports: "0"
  tls: {mode: explicit}
  max_file_size: 20MB
  max_connections_per_ip: 25
  users: [{name: timeclock, password_hash: '%s', location: "0421"}]
csv: {max_file_size: 20MB}
status: {listen: %q}
`, hqSrv.URL, loc, outlet, shop.URL, v.URL, s.ftpAddr, hash, s.statusAddr)
	os.MkdirAll(dir, 0o750)
	if err := os.WriteFile(s.config, []byte(cfg), 0o600); err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkIdleFootprint runs the agent with everything configured, lets it
// finish its start-up sync, then measures its resident memory and CPU use
// over an idle minute (STOREAGENT_IDLE_SECONDS to change).
func BenchmarkIdleFootprint(b *testing.B) {
	bin := plainBinary(b)
	if fi, err := os.Stat(bin); err == nil {
		b.ReportMetric(float64(fi.Size())/(1<<20), "binary-MiB")
	}
	idle := 60 * time.Second
	if v, err := strconv.Atoi(os.Getenv("STOREAGENT_IDLE_SECONDS")); err == nil && v > 0 {
		idle = time.Duration(v) * time.Second
	}
	for b.Loop() {
		s := fullConfig(b, b.TempDir())
		cmd := exec.Command(bin, "run", "--config", s.config)
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for s.status() == nil {
			if time.Since(start) > 30*time.Second {
				b.Fatal("the agent did not start")
			}
			time.Sleep(5 * time.Millisecond)
		}
		b.ReportMetric(float64(time.Since(start).Milliseconds()), "startup-ms")
		time.Sleep(5 * time.Second) // the start-up sync of both sources
		_, _, t0 := procStat(b, cmd.Process.Pid)
		w0 := time.Now()
		time.Sleep(idle)
		rss, peak, t1 := procStat(b, cmd.Process.Pid)
		cpu := float64(t1-t0) / 100 / time.Since(w0).Seconds() * 100 // ticks are 1/100 s
		b.ReportMetric(float64(rss)/1024, "idle-RSS-MiB")
		b.ReportMetric(float64(peak)/1024, "peak-RSS-MiB")
		b.ReportMetric(cpu, "idle-CPU-%")
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	}
}

// BenchmarkFTPUploadsToAgent: 20 FTPS clients each upload a 5 MB timesheet
// at once into a running agent; measured from the first byte to the last
// 226 (each one sent after the file's import is committed), with the
// agent's peak resident memory.
func BenchmarkFTPUploadsToAgent(b *testing.B) {
	bin := plainBinary(b)
	const clients = 20
	files := make([][]byte, clients)
	var total int
	for c := range files {
		var buf bytes.Buffer
		buf.WriteString("employee_id,date,clock_in,clock_out,break_minutes\r\n")
		for r := 0; buf.Len() < 5_000_000; r++ {
			fmt.Fprintf(&buf, "C%02d-E%06d,2026-10-%02d,09:00,17:30,30\r\n", c, r, 1+r%28)
		}
		files[c] = buf.Bytes()
		total += buf.Len()
	}
	for b.Loop() {
		s := fullConfig(b, b.TempDir())
		cmd := exec.Command(bin, "run", "--config", s.config)
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		for s.status() == nil {
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(3 * time.Second) // start-up sync out of the way
		var wg sync.WaitGroup
		errs := make(chan error, clients)
		var peakAnon int64
		sampling := make(chan struct{})
		go func() {
			for {
				select {
				case <-sampling:
					return
				case <-time.After(50 * time.Millisecond):
					if _, _, anon, _ := procMem(b, cmd.Process.Pid); anon > peakAnon {
						peakAnon = anon
					}
				}
			}
		}()
		start := time.Now()
		for c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				conn, err := ftp.Dial(s.ftpAddr, ftp.DialWithExplicitTLS(&tls.Config{InsecureSkipVerify: true}), ftp.DialWithTimeout(5*time.Minute))
				if err != nil {
					errs <- err
					return
				}
				defer conn.Quit()
				if err := conn.Login("timeclock", "bench-pass-1"); err != nil {
					errs <- err
					return
				}
				if err := conn.Stor(fmt.Sprintf("big-%02d.csv", c), bytes.NewReader(files[c])); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		elapsed := time.Since(start)
		close(sampling)
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
		_, peak, _ := procStat(b, cmd.Process.Pid)
		b.ReportMetric(float64(clients)/elapsed.Seconds(), "files/s")
		b.ReportMetric(float64(total)/1e6/elapsed.Seconds(), "MB/s")
		b.ReportMetric(float64(peak)/1024, "peak-RSS-MiB")
		b.ReportMetric(float64(peakAnon)/1024, "peak-anon-MiB")
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	}
}
