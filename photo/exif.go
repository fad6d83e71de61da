package photo

import (
	"bytes"
	"encoding/binary"
)

// EXIF tags and TIFF field types used to find and blank the GPS IFD.
const (
	tagGPSInfo = 0x8825 // IFD0 entry pointing at the GPS IFD
	tiffMagic  = 42
	entryLen   = 12 // tag(2) type(2) count(4) value-or-offset(4)
)

// typeSize is the byte size of one value of a TIFF field type. Unknown
// types are 0: their values cannot be located, so only the entry that
// refers to them is blanked.
func typeSize(typ uint16) uint64 {
	switch typ {
	case 1, 2, 6, 7: // BYTE, ASCII, SBYTE, UNDEFINED
		return 1
	case 3, 8: // SHORT, SSHORT
		return 2
	case 4, 9, 11, 13: // LONG, SLONG, FLOAT, IFD
		return 4
	case 5, 10, 12: // RATIONAL, SRATIONAL, DOUBLE
		return 8
	}
	return 0
}

// blankGPS zeroes the GPS IFD of the TIFF structure that follows "Exif\0\0"
// in a JPEG APP1 segment: every GPS value, every GPS entry, and the entry
// count. It works in place and never changes the length, because the other
// offsets in the segment (and the segment length) must stay valid for the
// tags we keep. All offsets come from the uploader, so each is checked
// against len(tiff) in uint64 arithmetic, and the whole GPS IFD is checked
// before the first byte changes: a malformed EXIF is left exactly as it was
// rather than half-blanked into something readers might misparse. It
// reports whether a GPS IFD with at least one entry was blanked.
func blankGPS(tiff []byte) bool {
	if len(tiff) < 8 {
		return false
	}
	var bo binary.ByteOrder
	switch string(tiff[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return false
	}
	if bo.Uint16(tiff[2:]) != tiffMagic {
		return false
	}

	ifd0, n0, ok := ifdEntries(tiff, bo, uint64(bo.Uint32(tiff[4:])))
	if !ok {
		return false
	}
	gps, found := uint64(0), false
	for i := range n0 {
		e := ifd0[i*entryLen:]
		if bo.Uint16(e) != tagGPSInfo {
			continue
		}
		if typ := bo.Uint16(e[2:]); (typ != 4 && typ != 13) || bo.Uint32(e[4:]) != 1 {
			return false
		}
		gps, found = uint64(bo.Uint32(e[8:])), true
		break
	}
	if !found {
		return false
	}

	entries, n, ok := ifdEntries(tiff, bo, gps)
	if !ok || n == 0 {
		return false
	}
	for i := range n {
		if _, _, ok := valueSpan(entries[i*entryLen:], bo, len(tiff)); !ok {
			return false
		}
	}
	for i := range n {
		e := entries[i*entryLen : (i+1)*entryLen]
		off, size, _ := valueSpan(e, bo, len(tiff))
		clear(tiff[off : off+size])
		clear(e)
	}
	bo.PutUint16(tiff[gps:], 0)
	return true
}

// ifdEntries returns the entries of the IFD at off and their count, or
// ok=false if the count or any entry lies outside tiff.
func ifdEntries(tiff []byte, bo binary.ByteOrder, off uint64) (entries []byte, n int, ok bool) {
	if off+2 > uint64(len(tiff)) {
		return nil, 0, false
	}
	n = int(bo.Uint16(tiff[off:]))
	start := off + 2
	end := start + uint64(n)*entryLen
	if end > uint64(len(tiff)) {
		return nil, 0, false
	}
	return tiff[start:end], n, true
}

// valueSpan returns where an entry's out-of-line value lies in tiff (size 0
// when the value is inline in the entry or of an unknown type), or ok=false
// if it lies outside tiff.
func valueSpan(e []byte, bo binary.ByteOrder, tiffLen int) (off, size uint64, ok bool) {
	size = typeSize(bo.Uint16(e[2:])) * uint64(bo.Uint32(e[4:]))
	if size <= 4 {
		return 0, 0, true
	}
	off = uint64(bo.Uint32(e[8:]))
	if off+size > uint64(tiffLen) {
		return 0, 0, false
	}
	return off, size, true
}

// mayHoldGPS reports whether an EXIF block that blankGPS left alone may
// still hold a location: unless it reads cleanly as having no GPS data (no
// GPS tag, or an empty GPS IFD), any GPS tag in it, in either byte order,
// is one a reader more lenient than blankGPS might follow.
func mayHoldGPS(tiff []byte) bool {
	if noGPS(tiff) {
		return false
	}
	return bytes.Contains(tiff, []byte{0x88, 0x25}) || bytes.Contains(tiff, []byte{0x25, 0x88})
}

// noGPS reports whether tiff is well-formed up to its GPS data and has none.
func noGPS(tiff []byte) bool {
	if len(tiff) < 8 {
		return false
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if string(tiff[:2]) == "MM" {
		bo = binary.BigEndian
	} else if string(tiff[:2]) != "II" {
		return false
	}
	ifd0, n0, ok := ifdEntries(tiff, bo, uint64(bo.Uint32(tiff[4:])))
	if bo.Uint16(tiff[2:]) != tiffMagic || !ok {
		return false
	}
	for i := range n0 {
		if e := ifd0[i*entryLen:]; bo.Uint16(e) == tagGPSInfo {
			_, n, ok := ifdEntries(tiff, bo, uint64(bo.Uint32(e[8:])))
			return ok && n == 0
		}
	}
	return true
}

// isXMP reports whether an APP1 payload is XMP metadata.
func isXMP(payload []byte) bool {
	return bytes.HasPrefix(payload, []byte("http://ns.adobe.com/xap/1.0/\x00"))
}
