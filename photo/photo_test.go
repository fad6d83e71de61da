package photo

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"testing"
	"testing/iotest"
)

// --- fixtures, all generated here so the test needs no binary files ---

// testImage is noisy so that its PNG and JPEG are several kilobytes, larger
// than the sniff length and the copy's small reads.
func testImage() image.Image {
	img := image.NewRGBA(image.Rect(0, 0, 48, 32))
	seed := uint32(1)
	for y := range 32 {
		for x := range 48 {
			seed = seed*1664525 + 1013904223 // deterministic LCG
			img.Set(x, y, color.RGBA{uint8(seed >> 24), uint8(seed >> 16), uint8(x * 5), 255})
		}
	}
	return img
}

func makeJPEG(t testing.TB) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, testImage(), &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func makePNG(t testing.TB, exif []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, testImage()); err != nil {
		t.Fatal(err)
	}
	p := b.Bytes()
	if exif == nil {
		return p
	}
	// eXIf goes right after IHDR (8-byte signature + 25-byte IHDR chunk).
	const afterIHDR = 8 + 25
	chunk := binary.BigEndian.AppendUint32(nil, uint32(len(exif)))
	chunk = append(chunk, "eXIf"...)
	chunk = append(chunk, exif...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))
	return concat(p[:afterIHDR], chunk, p[afterIHDR:])
}

func concat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// order reads and appends in one byte order, as the fixtures need both.
type order interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

func rational(bo order, pairs ...uint32) []byte {
	var b []byte
	for _, v := range pairs {
		b = bo.AppendUint32(b, v)
	}
	return b
}

// Offsets inside the TIFF block built by buildExif.
const (
	ifd0Off   = 8
	gpsIFDOff = ifd0Off + 2 + 2*12 + 4 // 38
	gpsCount  = 4
	latOff    = gpsIFDOff + 2 + gpsCount*12 + 4 // 92
	lonOff    = latOff + 24                     // 116
)

// buildExif returns a TIFF block (what follows "Exif\0\0") whose IFD0 has
// Orientation=6 and a GPSInfo pointer to a GPS IFD with latitude
// 31°14'0" N and longitude 121°28'30" E, and the latitude value bytes.
func buildExif(bo order) (tiff, lat []byte) {
	entry := func(b []byte, tag, typ uint16, count uint32, value []byte) []byte {
		b = bo.AppendUint16(b, tag)
		b = bo.AppendUint16(b, typ)
		b = bo.AppendUint32(b, count)
		v := make([]byte, 4)
		copy(v, value)
		return append(b, v...)
	}
	u32 := func(v uint32) []byte { return bo.AppendUint32(nil, v) }
	short := func(v uint16) []byte { return bo.AppendUint16(nil, v) }

	if bo == order(binary.LittleEndian) {
		tiff = []byte("II")
	} else {
		tiff = []byte("MM")
	}
	tiff = bo.AppendUint16(tiff, 42)
	tiff = bo.AppendUint32(tiff, ifd0Off)

	tiff = bo.AppendUint16(tiff, 2)
	tiff = entry(tiff, 0x0112, 3, 1, short(6))        // Orientation
	tiff = entry(tiff, 0x8825, 4, 1, u32(gpsIFDOff))  // GPSInfo
	tiff = bo.AppendUint32(tiff, 0)                   // no IFD1
	tiff = bo.AppendUint16(tiff, gpsCount)            // GPS IFD
	tiff = entry(tiff, 0x0001, 2, 2, []byte("N\x00")) // GPSLatitudeRef
	tiff = entry(tiff, 0x0002, 5, 3, u32(latOff))     // GPSLatitude
	tiff = entry(tiff, 0x0003, 2, 2, []byte("E\x00")) // GPSLongitudeRef
	tiff = entry(tiff, 0x0004, 5, 3, u32(lonOff))     // GPSLongitude
	tiff = bo.AppendUint32(tiff, 0)                   // next IFD
	lat = rational(bo, 31, 1, 14, 1, 0, 1)
	tiff = append(tiff, lat...)
	tiff = append(tiff, rational(bo, 121, 1, 28, 1, 30, 1)...)
	return tiff, lat
}

// app1Start is where spliceExif puts the TIFF block: after SOI (2), the
// APP1 marker and length (4) and "Exif\0\0" (6).
const app1Start = 12

// spliceExif inserts an APP1 Exif segment right after the JPEG's SOI.
func spliceExif(jpg, tiff []byte) []byte {
	payload := append([]byte("Exif\x00\x00"), tiff...)
	seg := []byte{0xFF, 0xE1}
	seg = binary.BigEndian.AppendUint16(seg, uint16(len(payload)+2))
	seg = append(seg, payload...)
	return concat(jpg[:2], seg, jpg[2:])
}

// entryValue reads the 4 value bytes of tag in the IFD at off, failing the
// test if the tag is missing.
func entryValue(t *testing.T, tiff []byte, bo binary.ByteOrder, off int, tag uint16) []byte {
	t.Helper()
	n := int(bo.Uint16(tiff[off:]))
	for i := range n {
		e := tiff[off+2+12*i:]
		if bo.Uint16(e) == tag {
			return e[8:12]
		}
	}
	t.Fatalf("tag %#04x not found in IFD at %d", tag, off)
	return nil
}

// minimal WebP and HEIC heads: Copy only sniffs and scans them.
func makeWebP(exif bool) []byte {
	chunk := func(fourcc string, data []byte) []byte {
		c := append([]byte(fourcc), binary.LittleEndian.AppendUint32(nil, uint32(len(data)))...)
		c = append(c, data...)
		if len(data)%2 == 1 {
			c = append(c, 0)
		}
		return c
	}
	body := []byte("WEBP")
	body = append(body, chunk("VP8X", make([]byte, 10))...)
	// An odd-sized chunk before EXIF checks the RIFF padding rule; its data
	// contains "EXIF" to check that chunk data is not mistaken for a header.
	body = append(body, chunk("ICCP", []byte("EXIF data-ish"))...)
	if exif {
		tiff, _ := buildExif(binary.BigEndian)
		body = append(body, chunk("EXIF", tiff)...)
	}
	body = append(body, chunk("VP8 ", bytes.Repeat([]byte{0x9d}, 40))...)
	return concat([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(len(body))), body)
}

func makeHEIC(exif bool) []byte {
	ftyp := []byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic")
	meta := bytes.Repeat([]byte{0x11}, 300)
	if exif {
		// infe v2: item_type "Exif", empty name, then the next box.
		meta = append(meta, []byte("infe\x02\x00\x00\x00\x00\x02\x00\x00Exif\x00\x00\x00\x00\x15infe")...)
	}
	return concat(ftyp, meta, bytes.Repeat([]byte{0x22}, 1000))
}

// --- Sniff ---

func TestSniff(t *testing.T) {
	jpg := makeJPEG(t)
	tiff, _ := buildExif(binary.LittleEndian)
	tests := []struct {
		name   string
		head   []byte
		want   string
		wantOK bool
	}{
		{"jpeg", jpg, "image/jpeg", true},
		{"jpeg with exif", spliceExif(jpg, tiff), "image/jpeg", true},
		{"png", makePNG(t, nil), "image/png", true},
		{"webp lossy", []byte("RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00"), "image/webp", true},
		{"webp lossless", []byte("RIFF\x24\x00\x00\x00WEBPVP8L\x18\x00\x00\x00"), "image/webp", true},
		{"webp extended", makeWebP(true), "image/webp", true},
		{"heic", []byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"), "image/heic", true},
		{"heix", []byte("\x00\x00\x00\x18ftypheix\x00\x00\x00\x00mif1heix"), "image/heic", true},
		{"heif mif1", []byte("\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1heic"), "image/heic", true},
		{"heif msf1", []byte("\x00\x00\x00\x14ftypmsf1\x00\x00\x00\x00hevc"), "image/heic", true},
		{"avif", []byte("\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf"), "", false},
		{"avif under mif1", []byte("\x00\x00\x00\x1cftypmif1\x00\x00\x00\x00mif1avifmiaf"), "", false},
		{"mp4", []byte("\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"), "", false},
		{"text named .jpg", []byte("hello"), "", false},
		{"gif", []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00"), "", false},
		{"pdf", []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), "", false},
		{"riff wave", []byte("RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00"), "", false},
		{"two jpeg bytes", []byte{0xFF, 0xD8}, "", false},
		{"empty", []byte{}, "", false},
		{"nil", nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Sniff(tt.head)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("Sniff = %q, %v; want %q, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestSniffLooksOnlyAt512Bytes(t *testing.T) {
	// A type signature past 512 bytes must not count: callers pass more
	// than a head only by accident, and the answer must not depend on it.
	head := append(bytes.Repeat([]byte{'x'}, 512), 0xFF, 0xD8, 0xFF)
	if ct, ok := Sniff(head); ok {
		t.Errorf("Sniff = %q, true; want false", ct)
	}
}

// --- Copy ---

type copyCase struct {
	name        string
	in          []byte
	max         int64
	wantErr     error
	wantType    string
	wantRemoved bool
	wantFlagged bool
	wantSame    bool // output must equal input byte for byte
}

// readers feeds each case both in one piece and one byte at a time, so
// segment and chunk headers split across reads are exercised.
var readers = []struct {
	name string
	wrap func(io.Reader) io.Reader
}{
	{"whole", func(r io.Reader) io.Reader { return r }},
	{"onebyte", iotest.OneByteReader},
	{"half", iotest.HalfReader},
}

func runCopyCases(t *testing.T, tests []copyCase) {
	t.Helper()
	for _, tt := range tests {
		for _, rd := range readers {
			t.Run(tt.name+"/"+rd.name, func(t *testing.T) {
				var out bytes.Buffer
				c, err := Copy(&out, rd.wrap(bytes.NewReader(tt.in)), tt.max)
				if tt.wantErr != nil {
					if !errors.Is(err, tt.wantErr) {
						t.Fatalf("err = %v, want %v", err, tt.wantErr)
					}
					if c != (Clean{}) {
						t.Errorf("Clean = %+v on error, want zero", c)
					}
					return
				}
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				if c.ContentType != tt.wantType {
					t.Errorf("ContentType = %q, want %q", c.ContentType, tt.wantType)
				}
				if c.Size != int64(out.Len()) {
					t.Errorf("Size = %d, output has %d bytes", c.Size, out.Len())
				}
				if out.Len() != len(tt.in) {
					t.Errorf("output %d bytes, input %d", out.Len(), len(tt.in))
				}
				sum := sha256.Sum256(out.Bytes())
				if c.SHA256 != hex.EncodeToString(sum[:]) {
					t.Errorf("SHA256 = %s, want hash of output %x", c.SHA256, sum)
				}
				if c.LocationRemoved != tt.wantRemoved {
					t.Errorf("LocationRemoved = %v, want %v", c.LocationRemoved, tt.wantRemoved)
				}
				if c.LocationFlagged != tt.wantFlagged {
					t.Errorf("LocationFlagged = %v, want %v", c.LocationFlagged, tt.wantFlagged)
				}
				if tt.wantSame && !bytes.Equal(out.Bytes(), tt.in) {
					t.Errorf("output differs from input")
				}
			})
		}
	}
}

func TestCopy(t *testing.T) {
	const limit = 10 << 20
	jpg := makeJPEG(t)
	tiffII, _ := buildExif(binary.LittleEndian)
	exifJPG := spliceExif(jpg, tiffII)
	pngPlain := makePNG(t, nil)
	pngExif := makePNG(t, tiffII)
	// APP0, a COM segment and fill bytes before the EXIF: the walker must
	// step over them to reach the APP1.
	multiApp := concat(jpg[:2],
		[]byte{0xFF, 0xE0, 0x00, 0x10}, []byte("JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"),
		[]byte{0xFF, 0xFE, 0x00, 0x07}, []byte("hello"),
		[]byte{0xFF, 0xFF}, // fill
		spliceExif(jpg, tiffII)[2:])
	// Markers without a length field (RST0, TEM) before the EXIF: reading
	// a length after them would swallow the APP1 segment.
	standalone := concat(jpg[:2], []byte{0xFF, 0xD0, 0xFF, 0x01}, spliceExif(jpg, tiffII)[2:])
	tests := []copyCase{
		{name: "jpeg gps after standalone markers", in: standalone, max: limit, wantType: "image/jpeg", wantRemoved: true},
		{name: "jpeg without exif", in: jpg, max: limit, wantType: "image/jpeg", wantSame: true},
		{name: "jpeg with gps", in: exifJPG, max: limit, wantType: "image/jpeg", wantRemoved: true},
		{name: "jpeg gps after other segments", in: multiApp, max: limit, wantType: "image/jpeg", wantRemoved: true},
		{name: "png without exif", in: pngPlain, max: limit, wantType: "image/png", wantSame: true},
		{name: "png with exif", in: pngExif, max: limit, wantType: "image/png", wantFlagged: true, wantSame: true},
		{name: "webp without exif", in: makeWebP(false), max: limit, wantType: "image/webp", wantSame: true},
		{name: "webp with exif", in: makeWebP(true), max: limit, wantType: "image/webp", wantFlagged: true, wantSame: true},
		{name: "heic without exif", in: makeHEIC(false), max: limit, wantType: "image/heic", wantSame: true},
		{name: "heic with exif", in: makeHEIC(true), max: limit, wantType: "image/heic", wantFlagged: true, wantSame: true},
		{name: "text", in: []byte("hello"), max: limit, wantErr: ErrNotImage},
		{name: "gif", in: []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00"), max: limit, wantErr: ErrNotImage},
		{name: "empty", in: nil, max: limit, wantErr: ErrNotImage},
		{name: "jpeg exactly max", in: exifJPG, max: int64(len(exifJPG)), wantType: "image/jpeg", wantRemoved: true},
		{name: "jpeg max+1", in: exifJPG, max: int64(len(exifJPG)) - 1, wantErr: ErrTooLarge},
		{name: "png exactly max", in: pngPlain, max: int64(len(pngPlain)), wantType: "image/png", wantSame: true},
		{name: "png max+1", in: pngPlain, max: int64(len(pngPlain)) - 1, wantErr: ErrTooLarge},
		{name: "max below sniff length", in: pngPlain, max: 100, wantErr: ErrTooLarge},
		{name: "truncated in jpeg header", in: exifJPG[:40], max: limit, wantErr: io.ErrUnexpectedEOF},
	}
	runCopyCases(t, tests)
}

// countingReader records how much of src Copy consumed.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// endless yields an unbounded stream, as a hostile client would.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestCopyStopsReadingPastMax(t *testing.T) {
	const max = 1 << 20
	for _, head := range [][]byte{makeJPEG(t)[:20], makePNG(t, nil)} {
		ct, _ := Sniff(head)
		t.Run(ct, func(t *testing.T) {
			// For the JPEG the filler lands in a huge run of fill bytes, so
			// the segment walker is the one that must stop.
			var fill io.Reader = endless{}
			if ct == "image/jpeg" {
				fill = bytes.NewReader(bytes.Repeat([]byte{0xFF}, 4*max))
			}
			src := &countingReader{r: io.MultiReader(bytes.NewReader(head), fill)}
			var out bytes.Buffer
			_, err := Copy(&out, src, max)
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("err = %v, want ErrTooLarge", err)
			}
			if src.n > max+1 {
				t.Errorf("read %d bytes from src, want at most max+1 = %d", src.n, max+1)
			}
			if out.Len() > max {
				t.Errorf("wrote %d bytes to dst, more than max %d", out.Len(), max)
			}
		})
	}
}

func TestCopyBlanksGPS(t *testing.T) {
	for _, bo := range []order{binary.LittleEndian, binary.BigEndian} {
		t.Run(bo.String(), func(t *testing.T) {
			tiff, lat := buildExif(bo)
			in := spliceExif(makeJPEG(t), tiff)
			if !bytes.Contains(in, lat) {
				t.Fatal("fixture lacks the latitude bytes")
			}
			var out bytes.Buffer
			c, err := Copy(&out, bytes.NewReader(in), 10<<20)
			if err != nil {
				t.Fatal(err)
			}
			got := out.Bytes()
			if !c.LocationRemoved || c.LocationFlagged || c.ContentType != "image/jpeg" {
				t.Errorf("Clean = %+v, want LocationRemoved JPEG", c)
			}
			if len(got) != len(in) {
				t.Fatalf("output %d bytes, input %d", len(got), len(in))
			}
			if _, err := jpeg.Decode(bytes.NewReader(got)); err != nil {
				t.Errorf("output no longer decodes: %v", err)
			}
			if bytes.Contains(got, lat) {
				t.Error("latitude bytes still present in output")
			}

			out2 := got[app1Start:]
			if o := entryValue(t, out2, bo, ifd0Off, 0x0112); bo.Uint16(o) != 6 {
				t.Errorf("Orientation = %d, want 6", bo.Uint16(o))
			}
			if n := bo.Uint16(out2[gpsIFDOff:]); n != 0 {
				t.Errorf("GPS IFD count = %d, want 0", n)
			}
			gpsEntries := out2[gpsIFDOff+2 : gpsIFDOff+2+gpsCount*12]
			if !allZero(gpsEntries) {
				t.Errorf("GPS entries not zeroed: % x", gpsEntries)
			}
			if !allZero(out2[latOff : lonOff+24]) {
				t.Errorf("GPS rationals not zeroed: % x", out2[latOff:lonOff+24])
			}
			// Only the GPS IFD and its values may change; everything else,
			// including the image data and IFD0, must be untouched.
			gpsStart, gpsEnd := app1Start+gpsIFDOff, app1Start+lonOff+24
			if !bytes.Equal(got[:gpsStart], in[:gpsStart]) || !bytes.Equal(got[gpsEnd:], in[gpsEnd:]) {
				t.Error("bytes outside the GPS IFD changed")
			}
		})
	}
}

func TestCopyPNGWithExifStillDecodes(t *testing.T) {
	tiff, _ := buildExif(binary.LittleEndian)
	var out bytes.Buffer
	if _, err := Copy(&out, bytes.NewReader(makePNG(t, tiff)), 10<<20); err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(&out); err != nil {
		t.Fatalf("fixture/output does not decode: %v", err)
	}
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// malformedExif returns EXIF blocks whose offsets or counts point outside
// the segment; each must be left exactly as it is.
func malformedExif() map[string][]byte {
	le := binary.LittleEndian
	good, _ := buildExif(le)
	mod := func(f func(b []byte)) []byte {
		b := bytes.Clone(good)
		f(b)
		return b
	}
	gpsEntry := func(i int) int { return gpsIFDOff + 2 + 12*i }
	return map[string][]byte{
		"ifd0 past end":            mod(func(b []byte) { le.PutUint32(b[4:], 0xFFFFFFF0) }),
		"ifd0 count past end":      mod(func(b []byte) { le.PutUint16(b[ifd0Off:], 0xFFFF) }),
		"gps pointer past end":     mod(func(b []byte) { le.PutUint32(b[ifd0Off+2+12+8:], 0xFFFFFFFF) }),
		"gps pointer at last byte": mod(func(b []byte) { le.PutUint32(b[ifd0Off+2+12+8:], uint32(len(good)-1)) }),
		"gps pointer wrong type":   mod(func(b []byte) { le.PutUint16(b[ifd0Off+2+12+2:], 2) }),
		"gps count past end":       mod(func(b []byte) { le.PutUint16(b[gpsIFDOff:], 0x7FFF) }),
		"gps value past end":       mod(func(b []byte) { le.PutUint32(b[gpsEntry(1)+8:], uint32(len(good)-8)) }),
		"gps count overflow":       mod(func(b []byte) { le.PutUint32(b[gpsEntry(3)+4:], 0xFFFFFFFF) }),
		"offset wraps 32 bits":     mod(func(b []byte) { le.PutUint32(b[gpsEntry(1)+8:], 0xFFFFFFF8) }),
		"bad magic":                mod(func(b []byte) { le.PutUint16(b[2:], 43) }),
		"bad byte order":           mod(func(b []byte) { copy(b, "XX") }),
		"header only":              good[:8],
		"shorter than header":      good[:5],
		"cut inside gps ifd":       good[:gpsIFDOff+20],
		"empty":                    {},
	}
}

func TestCopyMalformedExif(t *testing.T) {
	jpg := makeJPEG(t)
	var tests []copyCase
	for name, tiff := range malformedExif() {
		// Left as it is, and flagged wherever the block still has its GPS
		// tag: a lenient reader may find the location blankGPS could not.
		noTag := name == "empty" || name == "shorter than header" || name == "header only"
		tests = append(tests, copyCase{
			name: name, in: spliceExif(jpg, tiff), max: 10 << 20,
			wantType: "image/jpeg", wantSame: true, wantFlagged: !noTag,
		})
	}
	runCopyCases(t, tests)
}

func TestCopyGPSIFDWithoutEntries(t *testing.T) {
	// An already-empty GPS IFD carries no location: nothing was removed.
	le := binary.LittleEndian
	tiff, _ := buildExif(le)
	le.PutUint16(tiff[gpsIFDOff:], 0)
	in := spliceExif(makeJPEG(t), tiff)
	runCopyCases(t, []copyCase{{name: "empty gps ifd", in: in, max: 10 << 20, wantType: "image/jpeg", wantSame: true}})
}

// writeCounter counts calls to Write.
type writeCounter struct{ calls int }

func (w *writeCounter) Write(p []byte) (int, error) {
	w.calls++
	return len(p), nil
}

func TestCopyBatchesSmallWrites(t *testing.T) {
	// 1 MiB of length-less markers (TEM, RST0) and 0xFF fill bytes: without
	// buffering each marker would be its own write to dst.
	in := []byte{0xFF, 0xD8}
	for len(in) < 1<<20 {
		in = append(in, 0xFF, 0x01, 0xFF, 0xFF, 0xFF, 0xD0)
	}
	in = append(in, 0xFF, 0xD9)
	var w writeCounter
	c, err := Copy(&w, bytes.NewReader(in), 10<<20)
	if err != nil {
		t.Fatal(err)
	}
	if c.Size != int64(len(in)) {
		t.Errorf("Size = %d, want %d", c.Size, len(in))
	}
	if w.calls > 64 {
		t.Errorf("%d writes to dst for a %d-byte file, want few", w.calls, len(in))
	}
}

type failWriter struct{ after int }

var errDisk = errors.New("disk full")

func (f *failWriter) Write(p []byte) (int, error) {
	if len(p) > f.after {
		n := f.after
		f.after = 0
		return n, errDisk
	}
	f.after -= len(p)
	return len(p), nil
}

func TestCopyWriteError(t *testing.T) {
	tiff, _ := buildExif(binary.BigEndian)
	for name, in := range map[string][]byte{"jpeg": spliceExif(makeJPEG(t), tiff), "png": makePNG(t, nil)} {
		t.Run(name, func(t *testing.T) {
			c, err := Copy(&failWriter{after: 100}, bytes.NewReader(in), 10<<20)
			if !errors.Is(err, errDisk) {
				t.Fatalf("err = %v, want %v", err, errDisk)
			}
			if c != (Clean{}) {
				t.Errorf("Clean = %+v on error, want zero", c)
			}
		})
	}
}

func TestCopyReadError(t *testing.T) {
	errNet := errors.New("connection reset")
	src := io.MultiReader(bytes.NewReader(makeJPEG(t)[:300]), iotest.ErrReader(errNet))
	if _, err := Copy(io.Discard, src, 10<<20); !errors.Is(err, errNet) {
		t.Fatalf("err = %v, want %v", err, errNet)
	}
}

// --- fuzzing: hostile uploads must never panic or change the length ---

func FuzzBlankGPS(f *testing.F) {
	for _, bo := range []order{binary.LittleEndian, binary.BigEndian} {
		tiff, _ := buildExif(bo)
		f.Add(tiff)
	}
	for _, tiff := range malformedExif() {
		f.Add(tiff)
	}
	f.Fuzz(func(t *testing.T, tiff []byte) {
		b := bytes.Clone(tiff)
		if !blankGPS(b) && !bytes.Equal(b, tiff) {
			t.Error("segment changed although nothing was blanked")
		}
		if len(b) != len(tiff) {
			t.Error("length changed")
		}
	})
}

func FuzzCopy(f *testing.F) {
	jpg := makeJPEG(f)
	tiff, _ := buildExif(binary.LittleEndian)
	f.Add(spliceExif(jpg, tiff))
	f.Add(jpg[:200])
	f.Add(makePNG(f, tiff))
	f.Add(makeWebP(true))
	f.Add(makeHEIC(true))
	f.Fuzz(func(t *testing.T, in []byte) {
		var out bytes.Buffer
		c, err := Copy(&out, bytes.NewReader(in), 1<<20)
		if err != nil {
			return
		}
		if out.Len() != len(in) || c.Size != int64(len(in)) {
			t.Errorf("in %d bytes, out %d, Size %d", len(in), out.Len(), c.Size)
		}
	})
}

func TestCopyFlagsXMPLocation(t *testing.T) {
	jpg := makeJPEG(t)
	app1 := func(payload string) []byte {
		seg := []byte{0xFF, 0xE1, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}
		out := append([]byte{}, jpg[:2]...)
		out = append(out, seg...)
		out = append(out, payload...)
		return append(out, jpg[2:]...)
	}
	xmp := "http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta><rdf:Description exif:GPSLatitude=\"31,14.0N\"/></x:xmpmeta>"
	runCopyCases(t, []copyCase{
		{name: "xmp with a location", in: app1(xmp), max: 10 << 20, wantType: "image/jpeg", wantSame: true, wantFlagged: true},
		{name: "xmp without", in: app1("http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta/>"), max: 10 << 20, wantType: "image/jpeg", wantSame: true},
	})
}
