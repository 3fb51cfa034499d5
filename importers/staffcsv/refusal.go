package staffcsv

import (
	"strconv"
	"strings"
)

// Problem is one reason a file is refused.
type Problem struct {
	// Line is the physical line where the bad row (or the header) starts,
	// counting from 1; 0 for a problem of the whole file.
	Line int
	// Column is the canonical column name (clock_in, even when the header
	// says "Entrée"), or empty for a problem of the whole row or file.
	Column string
	// Reason says what is wrong, quoting the value when there is one.
	Reason string
}

// String renders "line N: column: reason", "line N: reason" for a problem of
// the whole row, or the bare reason for a problem of the whole file.
func (p Problem) String() string {
	switch {
	case p.Line == 0 && p.Column == "":
		return p.Reason
	case p.Line == 0:
		return p.Column + ": " + p.Reason
	case p.Column == "":
		return "line " + strconv.Itoa(p.Line) + ": " + p.Reason
	}
	return "line " + strconv.Itoa(p.Line) + ": " + p.Column + ": " + p.Reason
}

// Refusal is the error Import returns when it refuses a file. The file is
// refused whole: nothing was emitted.
type Refusal struct {
	// Problems lists the problems of the first Options.MaxReportedLines bad
	// lines, in file order (a line may have several problems).
	Problems []Problem
	// More counts the bad lines found after those.
	More int
	// BadLines counts every bad line, listed or not; 0 when the problem is
	// one of the whole file (empty, not text, too large).
	BadLines int
}

var _ error = (*Refusal)(nil)

// Error gives the count of bad lines and the first problem:
// "3 bad lines: line 3: clock_in: ...", or the problem of the whole file.
func (r *Refusal) Error() string {
	first := "file refused"
	if len(r.Problems) > 0 {
		first = r.Problems[0].String()
	}
	if r.BadLines == 0 {
		return first
	}
	return plural(r.BadLines, "bad line") + ": " + first
}

// Report is the text of the <name>.errors.txt file the agent writes beside a
// refused file: a title line, one line per problem, then "… and N more bad
// lines" when the list was capped. Lines end with "\n".
func (r *Refusal) Report(fileName string) string {
	var b strings.Builder
	b.WriteString(fileName)
	b.WriteString(" was refused: nothing in it was imported")
	if r.BadLines > 0 {
		b.WriteString(" (")
		b.WriteString(plural(r.BadLines, "bad line"))
		b.WriteString(")")
	}
	b.WriteString(". Correct the problems below and upload the whole file again.\n")
	for _, p := range r.Problems {
		b.WriteString(p.String())
		b.WriteByte('\n')
	}
	if r.More > 0 {
		b.WriteString("… and ")
		b.WriteString(plural(r.More, "more bad line"))
		b.WriteByte('\n')
	}
	return b.String()
}

func plural(n int, what string) string {
	s := strconv.Itoa(n) + " " + what
	if n != 1 {
		s += "s"
	}
	return s
}

// collector gathers the problems of pass 1, keeping the details of the first
// max bad lines only, so that memory stays bounded on a file of garbage.
type collector struct {
	n        int // problems added, listed or not
	max      int
	problems []Problem
	badLines int
	lastLine int
}

func (c *collector) add(line int, col, reason string) {
	c.n++
	if line != c.lastLine || c.badLines == 0 {
		c.badLines++
		c.lastLine = line
	}
	if c.badLines <= c.max {
		c.problems = append(c.problems, Problem{Line: line, Column: col, Reason: reason})
	}
}

func (c *collector) refusal() *Refusal {
	if c.badLines == 0 {
		return nil
	}
	return &Refusal{Problems: c.problems, More: max(c.badLines-c.max, 0), BadLines: c.badLines}
}

// fileRefusal refuses the whole file for one reason.
func fileRefusal(reason string) *Refusal {
	return &Refusal{Problems: []Problem{{Reason: reason}}}
}
