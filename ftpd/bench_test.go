package ftpd

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jlaffaye/ftp"
)

// benchCSV is a staff-hours file of about size bytes.
func benchCSV(size int) []byte {
	var b bytes.Buffer
	b.WriteString("location_id;employee_id;nom;date;entree;sortie;pause\r\n")
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "0421;E%05d;Employé %d;%02d/11/2026;08:%02d;17:%02d;30\r\n", i%10000, i, i%28+1, i%60, i%60)
	}
	return b.Bytes()[:size]
}

// BenchmarkUpload20Clients measures 20 clients uploading 5 MB CSV files at
// once over loopback, each upload fsynced, renamed, and moved by an inbox
// that fsyncs too. Run with -benchtime=200x (each upload writes 5 MB).
func BenchmarkUpload20Clients(b *testing.B) {
	const clients, size = 20, 5_000_000
	content := benchCSV(size)
	for _, mode := range []string{TLSOff, TLSExplicit} {
		b.Run("tls="+mode, func(b *testing.B) {
			ts := startServer(b, func(c *Config) {
				c.TLS.Mode = mode
				c.MaxConnections, c.MaxConnectionsPerIP = 50, 25
				c.MaxFileSize = 2 * size
			})
			ts.inbox.sync = true
			conns := make([]*ftp.ServerConn, clients)
			for i := range conns {
				if mode == TLSOff {
					conns[i] = ts.login(b)
				} else {
					conns[i] = ts.login(b, ftp.DialWithExplicitTLS(ts.tlsClientConfig(b)))
				}
			}
			b.SetBytes(size)
			b.ResetTimer()
			var next atomic.Int64
			var wg sync.WaitGroup
			for i, c := range conns {
				wg.Go(func() {
					for {
						n := next.Add(1)
						if n > int64(b.N) {
							return
						}
						if err := c.Stor(fmt.Sprintf("c%02d-%07d.csv", i, n), bytes.NewReader(content)); err != nil {
							b.Errorf("upload %d: %v", n, err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "files/s")
			if got := len(ts.inbox.uploads()); got != b.N {
				b.Errorf("got %d imports, want %d", got, b.N)
			}
			for _, u := range ts.inbox.uploads() {
				if u.Size != size || !strings.HasPrefix(u.Name, "c") {
					b.Errorf("import %+v: want %d bytes", u, size)
					break
				}
			}
		})
	}
}
