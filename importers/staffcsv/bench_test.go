package staffcsv

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/gocarina/gocsv"

	"github.com/tmas/storeagent/importers/record"
)

const genHeader = "location_id,employee_id,employee_name,date,clock_in,clock_out,break_minutes\n"

// genRowLen is the length of every generated row:
// "0421,E000123,Employee 000123,2026-11-07,07:23,15:23,30\n".
const genRowLen = 55

// genRow writes row i into b (genRowLen bytes) without allocating.
func genRow(b []byte, i int) {
	copy(b, "0421,E000000,Employee 000000,2026-11-00,00:00,00:00,30\n")
	put := func(at, width, v int) {
		for k := at + width - 1; k >= at; k-- {
			b[k] = byte('0' + v%10)
			v /= 10
		}
	}
	emp := i % 1000000
	put(6, 6, emp)
	put(22, 6, emp)
	put(37, 2, 1+i%20)
	h := 6 + i%4
	put(40, 2, h)
	put(43, 2, i%60)
	put(46, 2, h+8)
	put(49, 2, i%60)
}

// genFile is a ReadSeeker over a generated file of n rows that holds only one
// row in memory, so that measuring the heap of Import does not measure the
// file. sample, when set, is called every MiB read.
type genFile struct {
	n      int
	off    int64
	row    [genRowLen]byte
	rowIdx int
	sample func()
	next   int64
}

func newGenFile(n int) *genFile { return &genFile{n: n, rowIdx: -1} }

func (g *genFile) size() int64 { return int64(len(genHeader)) + int64(g.n)*genRowLen }

func (g *genFile) Read(p []byte) (int, error) {
	if g.off >= g.size() {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && g.off < g.size() {
		if g.off < int64(len(genHeader)) {
			c := copy(p[n:], genHeader[g.off:])
			n += c
			g.off += int64(c)
			continue
		}
		rel := g.off - int64(len(genHeader))
		idx, within := int(rel/genRowLen), int(rel%genRowLen)
		if idx != g.rowIdx {
			genRow(g.row[:], idx)
			g.rowIdx = idx
		}
		c := copy(p[n:], g.row[within:])
		n += c
		g.off += int64(c)
	}
	if g.sample != nil && g.off >= g.next {
		g.sample()
		g.next = g.off + 1<<20
	}
	return n, nil
}

func (g *genFile) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
		g.off = off
	case io.SeekCurrent:
		g.off += off
	case io.SeekEnd:
		g.off = g.size() + off
	}
	g.next = g.off
	if g.off < 0 {
		return 0, errors.New("negative offset")
	}
	return g.off, nil
}

// genBytes is the whole generated file in memory, for the speed benchmarks.
func genBytes(b *testing.B, n int) []byte {
	b.Helper()
	data, err := io.ReadAll(newGenFile(n))
	if err != nil {
		b.Fatal(err)
	}
	return data
}

const benchRows = 400_000

func reportRows(b *testing.B, rows int) {
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkImport is both passes of Import with a no-op emit.
func BenchmarkImport(b *testing.B) {
	data := genBytes(b, benchRows)
	opts := baseOptions(b)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		sum, err := Import(bytes.NewReader(data), opts, 0, func(record.Record) error { return nil })
		if err != nil || sum.Records != benchRows {
			b.Fatalf("got %d records, %v", sum.Records, err)
		}
	}
	reportRows(b, benchRows)
}

// BenchmarkEncodingCSV is one bare pass of encoding/csv over the same file,
// the ceiling Import is measured against.
func BenchmarkEncodingCSV(b *testing.B) {
	data := genBytes(b, benchRows)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		if rows := countRows(b, bareCSV(data).Read); rows != benchRows+1 {
			b.Fatalf("got %d rows", rows)
		}
	}
	reportRows(b, benchRows)
}

// bareCSV is encoding/csv set up as the baseline reads: records reused, any
// number of fields.
func bareCSV(data []byte) *csv.Reader {
	cr := csv.NewReader(bytes.NewReader(data))
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1
	return cr
}

// countRows calls read until io.EOF and returns the number of rows read.
func countRows(b *testing.B, read func() ([]string, error)) int {
	rows := 0
	for {
		_, err := read()
		if err == io.EOF {
			return rows
		}
		if err != nil {
			b.Fatal(err)
		}
		rows++
	}
}

type gocsvRow struct {
	Location string `csv:"location_id"`
	Employee string `csv:"employee_id"`
	Name     string `csv:"employee_name"`
	Date     string `csv:"date"`
	In       string `csv:"clock_in"`
	Out      string `csv:"clock_out"`
	Break    int    `csv:"break_minutes"`
}

// BenchmarkGocsv is gocarina/gocsv's streaming decoder over the same file,
// decoding strings only: the reason the package uses encoding/csv directly.
func BenchmarkGocsv(b *testing.B) {
	data := genBytes(b, benchRows)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		rows := 0
		if err := gocsv.UnmarshalToCallback(bytes.NewReader(data), func(gocsvRow) { rows++ }); err != nil {
			b.Fatal(err)
		}
		if rows != benchRows {
			b.Fatalf("got %d rows", rows)
		}
	}
	reportRows(b, benchRows)
}

// BenchmarkImportMemory reports the peak heap in use while importing a
// generated file (which is never held in memory) of 100k and 400k rows, and
// the allocations per row: memory is flat when the peak does not grow with
// the rows.
func BenchmarkImportMemory(b *testing.B) {
	for _, rows := range []int{100_000, 400_000} {
		b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) {
			opts := baseOptions(b)
			var peak uint64
			var ms runtime.MemStats
			sample := func() {
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
			}
			runtime.GC()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			b.ResetTimer()
			for b.Loop() {
				f := newGenFile(rows)
				f.sample = sample
				n := 0
				_, err := Import(f, opts, 0, func(record.Record) error {
					if n++; n%50_000 == 0 {
						sample()
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N*rows), "B/row")
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(b.N*rows), "allocs/row")
			reportRows(b, rows)
		})
	}
}

// BenchmarkRows is the row reader alone over the same file: what the importer
// spends splitting rows, against BenchmarkEncodingCSV.
func BenchmarkRows(b *testing.B) {
	data := genBytes(b, benchRows)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		if rows := countRows(b, newRowReader(bytes.NewReader(data), ',').Read); rows != benchRows+1 {
			b.Fatalf("got %d rows", rows)
		}
	}
	reportRows(b, benchRows)
}

// BenchmarkImportVsEncodingCSV alternates one bare encoding/csv pass and one
// Import over the same file and reports Import's speed as a percentage of
// encoding/csv's: side by side, so that a busy machine slows both alike. The
// "quoted" file has every field in quotes, as some timeclocks write them.
func BenchmarkImportVsEncodingCSV(b *testing.B) {
	plain := genBytes(b, benchRows)
	quoted := bytes.ReplaceAll(plain, []byte(","), []byte(`","`))
	quoted = bytes.ReplaceAll(quoted, []byte("\n"), []byte("\"\n\""))
	quoted = append([]byte{'"'}, quoted[:len(quoted)-1]...)
	for _, file := range []struct {
		name string
		data []byte
	}{{"plain", plain}, {"quoted", quoted}} {
		b.Run(file.name, func(b *testing.B) {
			opts := baseOptions(b)
			var bare, imp time.Duration
			for b.Loop() {
				start := time.Now()
				countRows(b, bareCSV(file.data).Read)
				bare += time.Since(start)
				start = time.Now()
				sum, err := Import(bytes.NewReader(file.data), opts, 0, func(record.Record) error { return nil })
				if err != nil || sum.Records != benchRows {
					b.Fatalf("got %d records, %v", sum.Records, err)
				}
				imp += time.Since(start)
			}
			b.ReportMetric(100*bare.Seconds()/imp.Seconds(), "%-of-encoding/csv")
			b.ReportMetric(float64(benchRows)*float64(b.N)/imp.Seconds(), "import-rows/s")
			b.ReportMetric(float64(benchRows)*float64(b.N)/bare.Seconds(), "csv-rows/s")
		})
	}
}
