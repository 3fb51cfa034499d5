// Package staffcsv parses the staff-hours CSV files that stores upload to the
// agent (contract: shared/contracts/staff-hours-csv.md) into shift records.
//
// It is a pure streaming parser: Import reads the reader it is given twice
// (once to validate every row, once to emit the records) with memory that does
// not grow with the size of the file, and either emits every row of a file or
// refuses the whole file with a *Refusal listing every bad line.
//
// It must never touch the file system (moving files, writing the errors
// report and watching the inbox belong to the agent), never emit a record from
// a file it refuses, never log, and never import the agent or its buffer: it
// depends only on the record contract package, the standard library and
// golang.org/x/text.
package staffcsv
