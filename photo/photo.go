// Package photo accepts homeowners' complaint photos. A photo is trusted by
// its content, never by its file name or the client's Content-Type, and it
// is copied in one streaming pass with bounded memory: uploads reach 10 MB
// and many may arrive at once, so nothing here holds a whole file. Phones
// embed the GPS position of the home in EXIF; the copy blanks it in JPEGs
// and flags the other formats, whose location we do not rewrite.
package photo

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
)

// sniffLen matches net/http.DetectContentType, so callers that already
// buffered a head for that function can pass the same slice.
const sniffLen = 512

// copyBufLen is one buffer shared by the JPEG segment copy and the plain
// copy; it must hold the largest JPEG segment payload (65533 bytes) because
// an EXIF APP1 segment is rewritten as a whole.
const copyBufLen = 64 << 10

// heicScanLen bounds the search for EXIF in HEIC: the "meta" box that lists
// an Exif item sits at the front of phone HEIC files, so scanning further
// would cost time without finding more.
const heicScanLen = 256 << 10

// ErrNotImage is returned when the content is not one of the accepted image
// types, whatever the upload claims to be.
var ErrNotImage = errors.New("not a JPEG, PNG, WebP or HEIC image")

// ErrTooLarge is returned as soon as the input exceeds the limit, so an
// oversized upload costs at most limit+1 bytes of reading.
var ErrTooLarge = errors.New("photo too large")

// errTruncatedJPEG reports a JPEG that ends inside a header segment: we
// cannot tell whether a cut-off EXIF segment still carries a location, so
// such a file is refused rather than stored half-cleaned.
var errTruncatedJPEG = fmt.Errorf("truncated jpeg header segment: %w", io.ErrUnexpectedEOF)

// Sniff returns the MIME type of an image from its first bytes, because the
// name and the declared type of an upload are whatever the client chose.
// Only JPEG, PNG, WebP and HEIC/HEIF (reported as "image/heic") are
// accepted; ok is false for anything else, including GIF, AVIF and empty
// input. Bytes beyond the first 512 are ignored.
func Sniff(head []byte) (contentType string, ok bool) {
	if len(head) > sniffLen {
		head = head[:sniffLen]
	}
	switch {
	case len(head) >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF:
		return "image/jpeg", true
	case len(head) >= 8 && string(head[:8]) == "\x89PNG\r\n\x1a\n":
		return "image/png", true
	case len(head) >= 16 && string(head[:4]) == "RIFF" && string(head[8:15]) == "WEBPVP8" &&
		(head[15] == ' ' || head[15] == 'L' || head[15] == 'X'):
		return "image/webp", true
	case len(head) >= 12 && string(head[4:8]) == "ftyp":
		switch major := string(head[8:12]); major {
		case "heic", "heix", "hevc", "hevx", "heim", "heis", "hevm", "hevs":
			return "image/heic", true
		case "mif1", "msf1":
			// These generic HEIF brands are also the major brand of some
			// AVIF files, which we do not accept.
			if !compatibleAVIF(head) {
				return "image/heic", true
			}
		}
	}
	return "", false
}

// compatibleAVIF reports whether the ftyp box at the start of head lists an
// AVIF brand among its compatible brands.
func compatibleAVIF(head []byte) bool {
	end := uint64(binary.BigEndian.Uint32(head))
	if end > uint64(len(head)) {
		end = uint64(len(head))
	}
	for i := uint64(16); i+4 <= end; i += 4 {
		if b := string(head[i : i+4]); b == "avif" || b == "avis" {
			return true
		}
	}
	return false
}

// Clean is the result of copying a photo: what the caller stores alongside
// the file and shows to staff.
type Clean struct {
	ContentType     string // sniffed from the content, safe to serve the file as
	Size            int64  // bytes written to dst
	SHA256          string // lower-case hex of the bytes written to dst, for deduplication and integrity
	LocationRemoved bool   // a JPEG whose EXIF GPS data was blanked
	LocationFlagged bool   // EXIF or XMP we did not rewrite, which may hold a location: any non-JPEG's, a JPEG's we could not blank
}

// Copy streams a photo from src to dst in one pass, so an upload can go
// straight to storage without being held in memory. It refuses content that
// is not an accepted image (ErrNotImage) or that declares more than
// MaxPixels (ErrTooManyPixels; HEIC is not measured) and stops reading at max+1 bytes
// (ErrTooLarge), leaving the rest of src unread. In a JPEG it blanks the GPS
// data of the EXIF segment in place, keeping the file's length and every
// other tag (Orientation matters for display); in PNG, WebP and HEIC it only
// reports EXIF through LocationFlagged. On any error dst may hold a partial
// copy, which the caller must discard, and the returned Clean is zero.
func Copy(dst io.Writer, src io.Reader, max int64) (c Clean, err error) {
	// Callers run Copy in a goroutine of their own (streaming into storage),
	// where a panic on a hostile file would end the whole process: it is an
	// error of this photo instead.
	defer func() {
		if v := recover(); v != nil {
			c, err = Clean{}, fmt.Errorf("photo: panic while copying: %v", v)
		}
	}()
	br := bufio.NewReaderSize(&capReader{r: src, left: max}, 4096)
	head, err := br.Peek(sniffLen)
	if err != nil && err != io.EOF {
		return Clean{}, err
	}
	ct, ok := Sniff(head)
	if !ok {
		return Clean{}, ErrNotImage
	}
	if w, h, ok := headSize(ct, head); ok {
		if err := tooManyPixels(w, h); err != nil {
			return Clean{}, err
		}
	}

	// The JPEG walker writes markers a few bytes at a time, and a hostile
	// file can be nothing but markers; buffering keeps that to few writes.
	bw := bufio.NewWriterSize(dst, 32<<10)
	out := &sink{w: bw, h: sha256.New()}
	buf := make([]byte, copyBufLen)
	c = Clean{ContentType: ct}
	if ct == "image/jpeg" {
		c.LocationRemoved, c.LocationFlagged, err = copyJPEG(out, br, buf)
	} else {
		insp := newInspector(ct)
		// Hiding bufio's WriteTo makes io.CopyBuffer use buf instead of
		// bufio's small buffer.
		_, err = io.CopyBuffer(io.MultiWriter(out, insp), struct{ io.Reader }{br}, buf)
		c.LocationFlagged = insp.found()
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return Clean{}, err
	}
	c.Size = out.n
	c.SHA256 = hex.EncodeToString(out.h.Sum(nil))
	return c, nil
}

// capReader passes through at most left bytes and then fails with
// ErrTooLarge if even one more byte exists. io.LimitedReader would silently
// end the stream there, turning an oversized photo into a truncated one.
type capReader struct {
	r    io.Reader
	left int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		var one [1]byte
		if _, err := io.ReadFull(c.r, one[:]); err != nil {
			return 0, err
		}
		return 0, ErrTooLarge
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// sink hashes and counts what it passes on; a short or failed write to dst
// makes Copy fail, so on success they describe the stored file exactly.
type sink struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (s *sink) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	s.h.Write(p[:n])
	s.n += int64(n)
	return n, err
}

// copyJPEG copies the header segments one by one so that each EXIF APP1
// segment can be rewritten before it is written; from the start of scan
// data (SOS) on, the bytes are entropy-coded image data and copied as they
// are. A byte sequence it cannot follow is copied verbatim too: the file is
// still served as a JPEG, just without our cleaning past that point.
//
// It flags what it leaves that may hold a location: an EXIF segment with a
// GPS tag it could not blank (malformed offsets a lenient reader may still
// follow), or XMP naming GPS coordinates.
func copyJPEG(w io.Writer, r *bufio.Reader, buf []byte) (removed, flagged bool, err error) {
	var soi [2]byte
	if _, err := io.ReadFull(r, soi[:]); err != nil {
		return false, false, err
	}
	if _, err := w.Write(soi[:]); err != nil {
		return false, false, err
	}
	for {
		b, err := r.ReadByte()
		if err == io.EOF {
			return removed, flagged, nil // ended between segments: nothing left to clean
		}
		if err != nil {
			return false, false, err
		}
		if b != 0xFF {
			return removed, flagged, copyRest(w, r, buf, b)
		}
		// Any number of 0xFF fill bytes may precede a marker; they are
		// written in batches so a hostile run of them costs few writes.
		ffs := 1
		m, err := r.ReadByte()
		for err == nil && m == 0xFF {
			if ffs == len(buf) {
				if err := writeFF(w, buf, ffs); err != nil {
					return false, false, err
				}
				ffs = 0
			}
			ffs++
			m, err = r.ReadByte()
		}
		if err != nil {
			return false, false, eofIsTruncation(err)
		}
		if err := writeFF(w, buf, ffs-1); err != nil {
			return false, false, err
		}
		switch {
		case m == 0xDA || m == 0xD9 || m == 0x00: // SOS, EOI, or not a marker
			return removed, flagged, copyRest(w, r, buf, 0xFF, m)
		case m == 0x01 || m == 0xD8 || (m >= 0xD0 && m <= 0xD7): // no length field
			if _, err := w.Write([]byte{0xFF, m}); err != nil {
				return false, false, err
			}
			continue
		}
		var lenb [2]byte
		if _, err := io.ReadFull(r, lenb[:]); err != nil {
			return false, false, eofIsTruncation(err)
		}
		seg := []byte{0xFF, m, lenb[0], lenb[1]}
		n := int64(binary.BigEndian.Uint16(lenb[:])) - 2
		if n < 0 {
			return removed, flagged, copyRest(w, r, buf, seg...)
		}
		if _, err := w.Write(seg); err != nil {
			return false, false, err
		}
		if isSOF(m) && n <= int64(len(buf)) { // the frame's size, checked before its data
			payload := buf[:n]
			if _, err := io.ReadFull(r, payload); err != nil {
				return false, false, eofIsTruncation(err)
			}
			if width, height, ok := sofSize(payload); ok {
				if err := tooManyPixels(width, height); err != nil {
					return false, false, err
				}
			}
			if _, err := w.Write(payload); err != nil {
				return false, false, err
			}
			continue
		}
		if m != 0xE1 {
			copied, err := io.CopyBuffer(w, io.LimitReader(r, n), buf)
			if err != nil {
				return false, false, err
			}
			if copied < n {
				return false, false, errTruncatedJPEG
			}
			continue
		}
		payload := buf[:n]
		if _, err := io.ReadFull(r, payload); err != nil {
			return false, false, eofIsTruncation(err)
		}
		switch exif := len(payload) >= 6 && string(payload[:6]) == "Exif\x00\x00"; {
		case exif && blankGPS(payload[6:]):
			removed = true
		case exif && mayHoldGPS(payload[6:]), isXMP(payload) && bytes.Contains(payload, []byte("GPSLatitude")):
			flagged = true
		}
		if _, err := w.Write(payload); err != nil {
			return false, false, err
		}
	}
}

// writeFF writes n fill bytes using buf, which must be at least n long.
func writeFF(w io.Writer, buf []byte, n int) error {
	for i := range n {
		buf[i] = 0xFF
	}
	_, err := w.Write(buf[:n])
	return err
}

// copyRest writes the bytes already consumed and then the rest of r.
func copyRest(w io.Writer, r *bufio.Reader, buf []byte, consumed ...byte) error {
	if _, err := w.Write(consumed); err != nil {
		return err
	}
	_, err := io.CopyBuffer(w, struct{ io.Reader }{r}, buf)
	return err
}

func eofIsTruncation(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return errTruncatedJPEG
	}
	return err
}

// inspector watches the bytes being copied for EXIF without holding them,
// because the copy is a single pass.
type inspector interface {
	io.Writer
	found() bool
}

func newInspector(contentType string) inspector {
	switch contentType {
	case "image/png":
		// Signature, then chunks of length (big-endian), type, data, CRC.
		return &chunkWalker{skip: 8, want: "eXIf", next: func(h []byte) int64 {
			return int64(binary.BigEndian.Uint32(h[:4])) + 4
		}}
	case "image/webp":
		// RIFF header and "WEBP", then chunks of FourCC, size
		// (little-endian), data padded to an even length.
		return &chunkWalker{skip: 12, want: "EXIF", typeFirst: true, next: func(h []byte) int64 {
			n := int64(binary.LittleEndian.Uint32(h[4:]))
			return n + n&1
		}}
	default:
		return &exifScan{left: heicScanLen}
	}
}

// chunkWalker follows PNG or RIFF chunks as they stream past, so a chunk
// type is recognised wherever the copy's buffer boundaries fall.
type chunkWalker struct {
	skip      int64 // bytes to pass before the next chunk header
	hdr       [8]byte
	have      int // header bytes collected so far
	want      string
	typeFirst bool                   // RIFF puts the FourCC before the size, PNG after
	next      func(hdr []byte) int64 // bytes from the end of the header to the next one
	hit       bool
}

func (c *chunkWalker) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 && !c.hit {
		if c.skip > 0 {
			k := min(int64(len(p)), c.skip)
			p = p[k:]
			c.skip -= k
			continue
		}
		k := copy(c.hdr[c.have:], p)
		c.have += k
		p = p[k:]
		if c.have < len(c.hdr) {
			break
		}
		typ := c.hdr[4:]
		if c.typeFirst {
			typ = c.hdr[:4]
		}
		c.hit = string(typ) == c.want
		c.skip = c.next(c.hdr[:])
		c.have = 0
	}
	return n, nil
}

func (c *chunkWalker) found() bool { return c.hit }

// exifScan looks for the bytes "Exif\x00\x00" near the start of a HEIC
// file. Parsing the meta/iinf boxes properly is not needed to raise a flag:
// an Exif item's infe entry (item type "Exif", empty name, then the next
// box's zero high size byte) and the Exif payload itself both contain these
// bytes, and the meta box comes first in phone HEIC files. A false positive
// only flags a photo for review, which is the safe direction.
type exifScan struct {
	left  int // bytes still to scan
	state int // length of the matched prefix of the pattern
	hit   bool
}

const exifPattern = "Exif\x00\x00"

func (s *exifScan) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) > s.left {
		p = p[:s.left]
	}
	s.left -= len(p)
	for _, b := range p {
		if s.hit {
			break
		}
		switch {
		case b == exifPattern[s.state]:
			s.state++
		case b == 'E':
			// 'E' occurs only at the start of the pattern, so a mismatch
			// can only restart a match here.
			s.state = 1
		default:
			s.state = 0
		}
		s.hit = s.state == len(exifPattern)
	}
	return n, nil
}

func (s *exifScan) found() bool { return s.hit }
