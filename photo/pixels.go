package photo

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// MaxPixels caps the width × height a photo declares. Decoding a photo
// takes 4 bytes a pixel wherever it is shown (staff phones, thumbnails), so
// a 10 MB PNG declaring 100000×100000 would ask 40 GB of whoever opens it.
// 50 megapixels is above what phone cameras make (48 MP sensors shoot
// 8064×6048 = 48.8 MP).
const MaxPixels = 50_000_000

// ErrTooManyPixels is returned for a photo that declares more than
// MaxPixels.
var ErrTooManyPixels = fmt.Errorf("a photo is at most %d megapixels", MaxPixels/1_000_000)

func tooManyPixels(w, h int64) error {
	if w*h > MaxPixels {
		return fmt.Errorf("%w; this one declares %d×%d", ErrTooManyPixels, w, h)
	}
	return nil
}

// headSize returns the width and height a PNG or WebP declares in its first
// 30 bytes; ok is false for other formats and for a head too short to say.
func headSize(contentType string, head []byte) (w, h int64, ok bool) {
	if len(head) < 30 {
		return 0, 0, false
	}
	switch contentType {
	case "image/png": // IHDR is the first chunk: width, height as uint32
		if string(head[12:16]) != "IHDR" {
			return 0, 0, false
		}
		return int64(binary.BigEndian.Uint32(head[16:])), int64(binary.BigEndian.Uint32(head[20:])), true
	case "image/webp":
		switch string(head[12:16]) {
		case "VP8X": // canvas width-1 and height-1, 24 bits each
			le24 := func(b []byte) int64 { return int64(b[0]) | int64(b[1])<<8 | int64(b[2])<<16 }
			return le24(head[24:]) + 1, le24(head[27:]) + 1, true
		case "VP8 ": // key frame: start code, then 14-bit width and height
			if head[23] != 0x9d || head[24] != 0x01 || head[25] != 0x2a {
				return 0, 0, false
			}
			return int64(binary.LittleEndian.Uint16(head[26:]) & 0x3fff), int64(binary.LittleEndian.Uint16(head[28:]) & 0x3fff), true
		case "VP8L": // signature, then width-1 and height-1 in 14 bits each
			if head[20] != 0x2f {
				return 0, 0, false
			}
			bits := binary.LittleEndian.Uint32(head[21:])
			return int64(bits&0x3fff) + 1, int64(bits>>14&0x3fff) + 1, true
		}
	}
	return 0, 0, false
}

// isSOF reports whether a JPEG marker starts a frame (SOF0–SOF15 but DHT,
// JPG and DAC, which share the range).
func isSOF(m byte) bool { return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC }

// sofSize reads the height and width from a SOF segment's payload.
func sofSize(payload []byte) (w, h int64, ok bool) {
	if len(payload) < 5 {
		return 0, 0, false
	}
	return int64(binary.BigEndian.Uint16(payload[3:])), int64(binary.BigEndian.Uint16(payload[1:])), true
}

// Dimensions reads only as much of a photo as it takes to learn the width
// and height it declares: the head of a PNG or WebP, a JPEG's segments up
// to its frame header. ok is false where it cannot tell (HEIC, a JPEG
// without a frame header before its data).
func Dimensions(r io.Reader) (w, h int64, ok bool, err error) {
	br := bufio.NewReaderSize(r, sniffLen)
	head, err := br.Peek(sniffLen)
	if err != nil && err != io.EOF {
		return 0, 0, false, err
	}
	ct, _ := Sniff(head)
	if ct != "image/jpeg" {
		w, h, ok = headSize(ct, head)
		return w, h, ok, nil
	}
	if _, err := br.Discard(2); err != nil { // SOI
		return 0, 0, false, err
	}
	for {
		b, err := br.ReadByte()
		if err != nil || b != 0xFF {
			return 0, 0, false, ignoreEOF(err)
		}
		m, err := br.ReadByte()
		for err == nil && m == 0xFF {
			m, err = br.ReadByte()
		}
		switch {
		case err != nil:
			return 0, 0, false, ignoreEOF(err)
		case m == 0xDA || m == 0xD9 || m == 0x00:
			return 0, 0, false, nil
		case m == 0x01 || m == 0xD8 || (m >= 0xD0 && m <= 0xD7):
			continue
		}
		var lenb [2]byte
		if _, err := io.ReadFull(br, lenb[:]); err != nil {
			return 0, 0, false, ignoreEOF(err)
		}
		n := int(binary.BigEndian.Uint16(lenb[:])) - 2
		if n < 0 {
			return 0, 0, false, nil
		}
		if isSOF(m) {
			payload := make([]byte, min(n, 5))
			if _, err := io.ReadFull(br, payload); err != nil {
				return 0, 0, false, ignoreEOF(err)
			}
			w, h, ok = sofSize(payload)
			return w, h, ok, nil
		}
		if _, err := br.Discard(n); err != nil {
			return 0, 0, false, ignoreEOF(err)
		}
	}
}

func ignoreEOF(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil
	}
	return err
}
