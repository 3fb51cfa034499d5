package record

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration read from configuration text: Go's forms
// ("90s", "48h", "1h30m") plus whole days ("7d").
type Duration time.Duration

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// UnmarshalText reads "48h", "90s" or "7d".
func (d *Duration) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 {
			return fmt.Errorf("%q is not a duration (use 90s, 15m, 48h or 7d)", s)
		}
		*d = Duration(time.Duration(days) * 24 * time.Hour)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return fmt.Errorf("%q is not a duration (use 90s, 15m, 48h or 7d)", s)
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes the Go form.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Size is a byte count read from configuration text: "2GB", "50MB", "512KiB",
// "1048576". KB/MB/GB are powers of 1000, KiB/MiB/GiB powers of 1024.
type Size int64

var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"TIB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1},
}

// UnmarshalText reads a size.
func (z *Size) UnmarshalText(b []byte) error {
	s := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(string(b)), " ", ""))
	mult := int64(1)
	for _, u := range sizeUnits {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = n, u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 {
		return fmt.Errorf("%q is not a size (use 50MB, 2GB, 512KiB or a number of bytes)", string(b))
	}
	*z = Size(v * float64(mult))
	return nil
}

func (z Size) String() string {
	switch {
	case z >= 1<<30 && z%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", z>>30)
	case z >= 1<<20 && z%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", z>>20)
	case z >= 1e9 && z%1e9 == 0:
		return fmt.Sprintf("%dGB", z/1e9)
	case z >= 1e6 && z%1e6 == 0:
		return fmt.Sprintf("%dMB", z/1e6)
	}
	return strconv.FormatInt(int64(z), 10) + "B"
}

// MarshalText writes the size.
func (z Size) MarshalText() ([]byte, error) { return []byte(z.String()), nil }
