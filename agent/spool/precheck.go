package spool

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// bbolt's meta page layout (page header, then the meta fields).
const (
	boltMagic      = 0xED0CDAED
	pageHeaderSize = 16
)

// precheck reads the two meta pages of an existing file and refuses a file
// shorter than the pages its newest valid meta says it holds. bbolt maps the
// file and would read past its end: a SIGBUS that no recover can catch, and
// a crash loop for the service.
func precheck(path string) error {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() == 0 {
		return nil // a new file: bbolt initialises it
	}
	var best struct {
		ok       bool
		txid     uint64
		pgid     uint64
		pageSize uint32
	}
	// The freelist page of the meta bbolt will use (the newest with a good
	// checksum): bbolt reads it inside Open, and a panic there leaves the
	// file open and mapped, which on Windows it cannot be moved aside.
	var fl struct {
		ok       bool
		txid     uint64
		page     uint64
		pageSize uint32
	}
	for _, off := range []int64{0, -1} {
		if off < 0 {
			if !best.ok {
				off = 4096 // guess the default page size for the second meta
			} else {
				off = int64(best.pageSize)
			}
		}
		buf := make([]byte, pageHeaderSize+64)
		if _, err := f.ReadAt(buf, off); err != nil && err != io.EOF {
			continue
		}
		m := buf[pageHeaderSize:]
		if binary.LittleEndian.Uint32(m[0:]) != boltMagic {
			continue
		}
		pageSize := binary.LittleEndian.Uint32(m[8:])
		pgid := binary.LittleEndian.Uint64(m[40:])
		txid := binary.LittleEndian.Uint64(m[48:])
		h := fnv.New64a()
		_, _ = h.Write(m[:56])
		if h.Sum64() == binary.LittleEndian.Uint64(m[56:]) {
			if !fl.ok || txid > fl.txid {
				fl.ok, fl.txid, fl.page, fl.pageSize = true, txid, binary.LittleEndian.Uint64(m[32:]), pageSize
			}
		}
		if !best.ok || txid > best.txid {
			best.ok, best.txid, best.pgid, best.pageSize = true, txid, pgid, pageSize
		}
	}
	if !best.ok {
		return fmt.Errorf("no valid bbolt meta page")
	}
	if need := int64(best.pgid) * int64(best.pageSize); fi.Size() < need {
		return fmt.Errorf("the file is truncated: %d bytes, its meta page says %d", fi.Size(), need)
	}
	const noFreelist, freelistFlag = ^uint64(0), 0x10
	if fl.ok && fl.page != noFreelist && fl.pageSize > 0 {
		hdr := make([]byte, pageHeaderSize)
		if _, err := f.ReadAt(hdr, int64(fl.page)*int64(fl.pageSize)); err != nil {
			return fmt.Errorf("the freelist page %d cannot be read: %w", fl.page, err)
		}
		if flags := binary.LittleEndian.Uint16(hdr[8:]); flags&freelistFlag == 0 {
			return fmt.Errorf("the freelist page %d is not a freelist page (flags %#x)", fl.page, flags)
		}
	}
	return nil
}
