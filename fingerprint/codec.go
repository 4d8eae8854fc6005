package fingerprint

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"sync"
)

// Errors returned by the decoders. They are wrapped with details (which
// byte, which item, how many were expected); test with errors.Is. Every
// message says what is wrong in words a client can act on, so a caller can
// pass it on as the message of a 400 naming its field.
var (
	ErrEmpty     = errors.New("fingerprint is empty")
	ErrBase64    = errors.New("fingerprint is not URL-safe base64 (as fpcalc prints it)")
	ErrHeader    = errors.New("fingerprint header is invalid")
	ErrAlgorithm = errors.New("fingerprint was made with another Chromaprint algorithm than the default (fpcalc -algorithm 2)")
	ErrTruncated = errors.New("fingerprint is truncated")
	ErrCorrupt   = errors.New("fingerprint is corrupt")
	ErrRaw       = errors.New("raw fingerprint is not a list of 32-bit integers")
	ErrTooLong   = errors.New("fingerprint is too long")
)

// Chromaprint's algorithms, as the first byte of a compressed fingerprint
// holds them. fpcalc's -algorithm option counts from 1: its default,
// "-algorithm 2", writes header byte 1 (CHROMAPRINT_ALGORITHM_TEST2).
const (
	AlgorithmTest1 = iota
	AlgorithmTest2
	AlgorithmTest3
	AlgorithmTest4
	AlgorithmTest5

	DefaultAlgorithm = AlgorithmTest2
)

// MaxItems is the largest number of sub-fingerprints a fingerprint may
// have: the compressed header holds the count in 3 bytes. At about 8 items
// per second it is 24 days of audio; fpcalc's default 120 s gives ~950.
const MaxItems = 1<<24 - 1

const (
	normalBits = 3
	maxNormal  = 1<<normalBits - 1 // a 3-bit value of 7 is continued by a 5-bit exception
)

// Decode decodes a fingerprint in Chromaprint's compressed form, as fpcalc
// prints it: URL-safe base64 without padding (standard base64 and padding
// are accepted too) of a 4-byte header (algorithm, then the number of
// sub-fingerprints, big-endian in 3 bytes), then the 3-bit packed "normal"
// values and the 5-bit packed "exception" values that spell, for each
// sub-fingerprint XOR the previous one, the distances between its set bits.
// It returns the algorithm byte and the sub-fingerprints. Surrounding white
// space is ignored; anything else that is not exactly one whole fingerprint
// is an error.
func Decode(s string) (algorithm int, items []uint32, err error) {
	s = strings.TrimSpace(s)
	s = strings.TrimRight(s, "=")
	if s == "" {
		return 0, nil, ErrEmpty
	}
	// URL-safe, as fpcalc prints it; standard base64 when the first
	// character URL-safe base64 refuses is one of its two others
	data, err := base64.RawURLEncoding.DecodeString(s)
	var ce base64.CorruptInputError
	if errors.As(err, &ce) && int(ce) < len(s) && (s[ce] == '+' || s[ce] == '/') {
		data, err = base64.RawStdEncoding.DecodeString(s)
	}
	if err != nil {
		if errors.As(err, &ce) {
			return 0, nil, fmt.Errorf("%w: bad character or length at position %d", ErrBase64, int64(ce))
		}
		return 0, nil, fmt.Errorf("%w: %v", ErrBase64, err)
	}
	return DecodeBytes(data)
}

// DecodeBytes decodes the bytes of a compressed fingerprint (Decode's input
// after base64).
func DecodeBytes(data []byte) (algorithm int, items []uint32, err error) {
	d, _ := decoders.Get().(*Decoder)
	if d == nil {
		d = new(Decoder)
	}
	algorithm, items, err = d.decode(data, false)
	if cap(d.vals) <= maxPooledVals {
		decoders.Put(d)
	}
	return algorithm, items, err
}

// maxPooledVals bounds the scratch space a pooled Decoder keeps: that of
// an hour of audio (fpcalc's default 120 s needs ~7,600 bytes).
const maxPooledVals = 1 << 18

// decoders keep the scratch space of DecodeBytes (the unpacked values,
// ~8 bytes per item) from one call to the next: a lookup decodes two
// thousand fingerprints.
var decoders sync.Pool

// A Decoder decodes many compressed fingerprints one after the other
// without allocating: what an index build at start-up from stored
// fingerprints wants. The zero value is ready; it is not safe for
// concurrent use.
type Decoder struct {
	vals, exc []byte
	items     []uint32
}

// DecodeBytes is the package's DecodeBytes, but the items it returns are
// valid only until the next call.
func (d *Decoder) DecodeBytes(data []byte) (algorithm int, items []uint32, err error) {
	return d.decode(data, true)
}

func (d *Decoder) decode(data []byte, reuse bool) (algorithm int, items []uint32, err error) {
	if len(data) < 4 {
		return 0, nil, fmt.Errorf("%w: %d bytes, shorter than the 4-byte header", ErrTruncated, len(data))
	}
	algorithm = int(data[0])
	if algorithm > AlgorithmTest5 {
		return 0, nil, fmt.Errorf("%w: unknown algorithm %d (Chromaprint has 0 to %d)", ErrHeader, algorithm, AlgorithmTest5)
	}
	n := int(data[1])<<16 | int(data[2])<<8 | int(data[3])
	if n == 0 {
		return algorithm, nil, fmt.Errorf("%w: the header says 0 sub-fingerprints", ErrEmpty)
	}
	body := data[4:]
	// Every sub-fingerprint ends with a 3-bit zero: fail before allocating
	// anything when the header promises more than the input can hold.
	if len(body)*8/normalBits < n {
		return algorithm, nil, fmt.Errorf("%w: the header says %d sub-fingerprints, the %d bytes after it hold at most %d",
			ErrTruncated, n, len(body), len(body)*8/normalBits)
	}

	// The 3-bit values, unpacked 8 from every 3 bytes; then find where
	// the n-th item ends and count the exceptions.
	vals := d.vals[:0]
	if need := (len(body) + 2) / 3 * 8; cap(vals) < need {
		vals = make([]byte, 0, need)
	}
	vals = unpack3(vals, body)
	d.vals = vals
	vals = vals[:len(body)*8/normalBits] // drop the values made of padding bits only
	nvals, nexc, zeros := 0, 0, 0
	// eight values at a time while the n-th zero is not among them: a
	// value's byte plus 0x7f sets its top bit unless it is 0, plus 0x79
	// when it is 7
	for ; nvals+8 <= len(vals); nvals += 8 {
		w := binary.LittleEndian.Uint64(vals[nvals:])
		z := 8 - bits.OnesCount64((w+0x7f7f7f7f7f7f7f7f)&0x8080808080808080)
		if zeros+z >= n {
			break
		}
		zeros += z
		nexc += bits.OnesCount64((w + 0x7979797979797979) & 0x8080808080808080)
	}
	for ; nvals < len(vals) && zeros < n; nvals++ {
		v := vals[nvals]
		zeros += int(isZero[v])
		nexc += int(isMax[v])
	}
	if zeros < n {
		return algorithm, nil, fmt.Errorf("%w: the normal bits end after %d of %d sub-fingerprints", ErrTruncated, zeros, n)
	}
	vals = vals[:nvals]
	excStart := (nvals*normalBits + 7) / 8
	excBytes := (nexc*5 + 7) / 8
	if have := len(body) - excStart; have < excBytes {
		return algorithm, nil, fmt.Errorf("%w: %d exception values need %d bytes after the normal bits, %d are left",
			ErrTruncated, nexc, excBytes, max(have, 0))
	}
	if extra := len(body) - excStart - excBytes; extra > 0 {
		return algorithm, nil, fmt.Errorf("%w: %d unexpected bytes after the end of the fingerprint", ErrCorrupt, extra)
	}
	exc := d.exc[:0]
	if need := (excBytes + 4) / 5 * 8; cap(exc) < need {
		exc = make([]byte, 0, need)
	}
	exc = unpack5(exc, body[excStart:])
	d.exc = exc

	// Rebuild the items: each value is the distance to the next set bit of
	// the item XOR the previous one (7 adds the next exception); 0 ends the
	// item. The loop has no branch on the values (they are random: a
	// branch would be mispredicted every few values).
	if reuse && cap(d.items) >= n {
		items = d.items[:n]
	} else {
		items = make([]uint32, n)
		if reuse {
			d.items = items
		}
	}
	exc = append(exc, 0) // read, times 0, after the last exception
	d.exc = exc
	var value uint32
	bit, item, e, bad := 0, 0, 0, 0
	for _, v8 := range vals {
		v := int(v8)
		z, x := b2i(v == 0), b2i(v == maxNormal)
		bit += v + x*int(exc[e])
		e += x
		bad |= b2i(bit > 32)
		value ^= uint32(1-z) << ((bit - 1) & 31)
		items[item] = value
		item += z
		bit &= z - 1 // 0 after a 0: an AND, not a multiply, on the loop's chain
	}
	if bad != 0 {
		return algorithm, nil, badBit(vals, exc)
	}
	return algorithm, items, nil
}

func b2i(b bool) int {
	var i int
	if b {
		i = 1
	}
	return i
}

// badBit returns the error of a fingerprint whose values set a bit past 32.
func badBit(vals, exc []byte) error {
	bit, item, e := 0, 0, 0
	for _, v8 := range vals {
		v := int(v8)
		switch v {
		case 0:
			item++
			bit = 0
			continue
		case maxNormal:
			v += int(exc[e])
			e++
		}
		if bit += v; bit > 32 {
			break
		}
	}
	return fmt.Errorf("%w: sub-fingerprint %d sets bit %d of 32", ErrCorrupt, item, bit)
}

var (
	isZero = [8]uint8{0: 1}
	isMax  = [8]uint8{maxNormal: 1}
)

// unpack3 appends the 3-bit values of p (least significant bits first),
// 8 for every 3 bytes, the last group padded with zero bits.
func unpack3(dst, p []byte) []byte {
	for len(p) >= 3 {
		w := uint32(p[0]) | uint32(p[1])<<8 | uint32(p[2])<<16
		dst = append(dst, byte(w&7), byte(w>>3&7), byte(w>>6&7), byte(w>>9&7),
			byte(w>>12&7), byte(w>>15&7), byte(w>>18&7), byte(w>>21&7))
		p = p[3:]
	}
	if len(p) > 0 {
		var q [3]byte
		copy(q[:], p)
		dst = unpack3(dst, q[:])
	}
	return dst
}

// DecodeDefault is Decode for fingerprints that are to be matched: it
// refuses any algorithm but Chromaprint's default (fpcalc -algorithm 2),
// the only one Compare and Index are tuned for.
func DecodeDefault(s string) ([]uint32, error) {
	alg, items, err := Decode(s)
	if err != nil {
		return nil, err
	}
	if alg != DefaultAlgorithm {
		return nil, fmt.Errorf("%w: header byte %d (fpcalc -algorithm %d), expected %d", ErrAlgorithm, alg, alg+1, DefaultAlgorithm)
	}
	return items, nil
}

// unpack5 appends the 5-bit values of p (least significant bits first),
// 8 for every 5 bytes, the last group padded with zero bits.
func unpack5(dst, p []byte) []byte {
	for len(p) >= 5 {
		w := uint64(p[0]) | uint64(p[1])<<8 | uint64(p[2])<<16 | uint64(p[3])<<24 | uint64(p[4])<<32
		dst = append(dst, byte(w&31), byte(w>>5&31), byte(w>>10&31), byte(w>>15&31),
			byte(w>>20&31), byte(w>>25&31), byte(w>>30&31), byte(w>>35&31))
		p = p[5:]
	}
	if len(p) > 0 {
		var q [5]byte
		copy(q[:], p)
		dst = unpack5(dst, q[:])
	}
	return dst
}

// Encode compresses items the way Chromaprint does (fpcalc's output form):
// Decode(Encode(items, alg)) gives back alg and items. It panics if items
// is longer than MaxItems or algorithm is not a byte.
func Encode(items []uint32, algorithm int) string {
	return base64.RawURLEncoding.EncodeToString(EncodeBytes(items, algorithm))
}

// EncodeBytes is Encode without the base64 step.
func EncodeBytes(items []uint32, algorithm int) []byte {
	if len(items) > MaxItems || algorithm < 0 || algorithm > 255 {
		panic("fingerprint: Encode: too many items or bad algorithm")
	}
	normal := make([]byte, 0, len(items)*8)
	var exc []byte
	var prev uint32
	for _, x := range items {
		d := x ^ prev
		prev = x
		last := 0
		for d != 0 {
			bit := bits.TrailingZeros32(d) + 1 // 1-based position of the next set bit
			d &= d - 1
			v := bit - last
			if v >= maxNormal {
				normal = append(normal, maxNormal)
				exc = append(exc, byte(v-maxNormal))
			} else {
				normal = append(normal, byte(v))
			}
			last = bit
		}
		normal = append(normal, 0)
	}
	out := make([]byte, 4, 4+(len(normal)*3+7)/8+(len(exc)*5+7)/8)
	out[0] = byte(algorithm)
	out[1], out[2], out[3] = byte(len(items)>>16), byte(len(items)>>8), byte(len(items))
	out = packBits(out, normal, normalBits)
	out = packBits(out, exc, 5)
	return out
}

// packBits appends vals, width bits each, least significant bits first.
func packBits(out, vals []byte, width uint) []byte {
	var acc uint32
	var nacc uint
	for _, v := range vals {
		acc |= uint32(v) << nacc
		nacc += width
		for nacc >= 8 {
			out = append(out, byte(acc))
			acc >>= 8
			nacc -= 8
		}
	}
	if nacc > 0 {
		out = append(out, byte(acc))
	}
	return out
}

// FromRaw converts the integers of `fpcalc -raw` to sub-fingerprints. fpcalc
// prints them unsigned by default and signed with -signed (as pg_acoustid
// and AcoustID's API use them): each value must be in [-2^31, 2^32), and a
// negative one is read as its 32-bit two's complement.
func FromRaw(raw []int64) ([]uint32, error) {
	if len(raw) == 0 {
		return nil, ErrEmpty
	}
	if len(raw) > MaxItems {
		return nil, fmt.Errorf("%w: %d sub-fingerprints, at most %d", ErrTooLong, len(raw), MaxItems)
	}
	items := make([]uint32, len(raw))
	for i, v := range raw {
		if v < math.MinInt32 || v > math.MaxUint32 {
			return nil, fmt.Errorf("%w: item %d (%d) is outside [-2147483648, 4294967295]", ErrRaw, i, v)
		}
		items[i] = uint32(v)
	}
	return items, nil
}

// FromRawFloat is FromRaw for numbers decoded from JSON into float64 (every
// 32-bit integer is exact in a float64); a value with a fraction is an
// error.
func FromRawFloat(raw []float64) ([]uint32, error) {
	ints := make([]int64, len(raw))
	for i, f := range raw {
		if f != math.Trunc(f) || f < math.MinInt32 || f > math.MaxUint32 {
			return nil, fmt.Errorf("%w: item %d (%v) is not an integer in [-2147483648, 4294967295]", ErrRaw, i, f)
		}
		ints[i] = int64(f)
	}
	return FromRaw(ints)
}

// ParseRaw reads the text form of `fpcalc -raw`: integers separated by
// commas (white space allowed), optionally in [brackets] as in JSON, or
// after "FINGERPRINT=" as fpcalc's text output prints them.
func ParseRaw(s string) ([]uint32, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "FINGERPRINT=")
	if strings.HasPrefix(s, "[") {
		if !strings.HasSuffix(s, "]") {
			return nil, fmt.Errorf("%w: '[' without a closing ']'", ErrRaw)
		}
		s = strings.TrimSpace(s[1 : len(s)-1])
	}
	if s == "" {
		return nil, ErrEmpty
	}
	parts := strings.Split(s, ",")
	if len(parts) > MaxItems {
		return nil, fmt.Errorf("%w: %d sub-fingerprints, at most %d", ErrTooLong, len(parts), MaxItems)
	}
	raw := make([]int64, len(parts))
	for i, p := range parts {
		v, err := strconv.ParseInt(strings.TrimSpace(p), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: item %d (%q) is not an integer", ErrRaw, i, strings.TrimSpace(p))
		}
		raw[i] = v
	}
	return FromRaw(raw)
}
