package mesh

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Canonical JSON, defined once for the whole graph (digests, snapshots and outputs all use it):
//   - no insignificant white space;
//   - object members sorted by the bytes of their unescaped keys; of duplicate keys the last wins;
//   - strings escape only '"', '\\' and control characters (\b \f \n \r \t short forms, others \u00XX,
//     lower-case hex); everything else, '<', '>', '&' and non-ASCII included, is written as UTF-8;
//     invalid UTF-8 becomes U+FFFD;
//   - integers are written as given (any size); other numbers are parsed as float64 and written in
//     the shortest form that reads back the same ('e' notation for exponents below -6 or above 20);
//   - true, false and null as they are.
// Canonicalization also finds every {"$ref": "<id>"} object: the references of a node.

// errSyntax is the root of canonicalization errors.
var errSyntax = errors.New("invalid JSON")

// canonicalizer rewrites JSON into canonical form. It keeps scratch buffers between calls, so one
// canonicalizer must not be used by two goroutines at once.
type canonicalizer struct {
	in      []byte
	pos     int
	out     []byte
	path    [][2]int // offsets in out of the keys of the open objects
	refs    []Ref
	members [][4]int // scratch: key start/end in out, member start/end in out
	keybuf  []byte
	tmp     []byte
	order   []int
	tmpOut  []byte // reusable output buffer for callers that copy the result
	lineBuf []byte // reusable buffers of a disk-backed build's collector
	keyBuf  []byte
	depth   int
}

const maxDepth = 512

// Canonicalize returns the canonical form of a JSON value, and the references it holds.
func Canonicalize(in []byte) ([]byte, []Ref, error) {
	var c canonicalizer
	out, refs, err := c.run(in, nil)
	if err != nil {
		return nil, nil, err
	}
	return out, refs, nil
}

// run canonicalizes in, appending to dst. refs returned alias an internal slice the caller must copy.
func (c *canonicalizer) run(in, dst []byte) ([]byte, []Ref, error) {
	c.in, c.pos, c.out, c.path, c.refs, c.depth = in, 0, dst, c.path[:0], nil, 0
	c.skipSpace()
	if err := c.value(); err != nil {
		return nil, nil, err
	}
	c.skipSpace()
	if c.pos != len(c.in) {
		return nil, nil, c.errorf("unexpected data after the value")
	}
	return c.out, c.refs, nil
}

func (c *canonicalizer) errorf(format string, args ...any) error {
	return fmt.Errorf("%w at offset %d: %s", errSyntax, c.pos, fmt.Sprintf(format, args...))
}

func (c *canonicalizer) skipSpace() {
	if c.pos < len(c.in) && c.in[c.pos] > ' ' {
		return
	}
	for c.pos < len(c.in) {
		switch c.in[c.pos] {
		case ' ', '\t', '\n', '\r':
			c.pos++
		default:
			return
		}
	}
}

func (c *canonicalizer) value() error {
	if c.pos >= len(c.in) {
		return c.errorf("unexpected end of input")
	}
	switch ch := c.in[c.pos]; {
	case ch == '{':
		return c.object()
	case ch == '[':
		return c.array()
	case ch == '"':
		var err error
		c.out, err = c.string(c.out)
		return err
	case ch == 't':
		return c.literal("true")
	case ch == 'f':
		return c.literal("false")
	case ch == 'n':
		return c.literal("null")
	case ch == '-' || (ch >= '0' && ch <= '9'):
		return c.number()
	default:
		return c.errorf("unexpected character %q", ch)
	}
}

func (c *canonicalizer) literal(lit string) error {
	if !bytes.HasPrefix(c.in[c.pos:], []byte(lit)) {
		return c.errorf("invalid literal")
	}
	c.out = append(c.out, lit...)
	c.pos += len(lit)
	return nil
}

func (c *canonicalizer) number() error {
	start := c.pos
	p := c.pos
	if p < len(c.in) && c.in[p] == '-' {
		p++
	}
	digits := p
	for p < len(c.in) && c.in[p] >= '0' && c.in[p] <= '9' {
		p++
	}
	if p == digits || (c.in[digits] == '0' && p-digits > 1) {
		c.pos = start
		return c.errorf("invalid number")
	}
	integer := true
	if p < len(c.in) && c.in[p] == '.' {
		integer = false
		p++
		d := p
		for p < len(c.in) && c.in[p] >= '0' && c.in[p] <= '9' {
			p++
		}
		if p == d {
			c.pos = start
			return c.errorf("invalid number")
		}
	}
	if p < len(c.in) && (c.in[p] == 'e' || c.in[p] == 'E') {
		integer = false
		p++
		if p < len(c.in) && (c.in[p] == '+' || c.in[p] == '-') {
			p++
		}
		d := p
		for p < len(c.in) && c.in[p] >= '0' && c.in[p] <= '9' {
			p++
		}
		if p == d {
			c.pos = start
			return c.errorf("invalid number")
		}
	}
	c.pos = p
	lit := c.in[start:p]
	if integer {
		if string(lit) == "-0" {
			c.out = append(c.out, '0')
			return nil
		}
		c.out = append(c.out, lit...)
		return nil
	}
	f, err := strconv.ParseFloat(string(lit), 64)
	if err != nil {
		c.pos = start
		return c.errorf("number %s out of range", lit)
	}
	c.out = appendCanonicalFloat(c.out, f)
	return nil
}

func appendCanonicalFloat(dst []byte, f float64) []byte {
	if f == 0 {
		return append(dst, '0')
	}
	abs := f
	if abs < 0 {
		abs = -abs
	}
	if abs < 1e21 && abs >= 1e-6 {
		return strconv.AppendFloat(dst, f, 'f', -1, 64)
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, 'e', -1, 64)
	// Go writes e-07; the canonical form has no leading zeros in the exponent (e-7), as JavaScript.
	e := bytes.IndexByte(dst[start:], 'e') + start
	digits := e + 2 // after 'e' and the sign
	z := digits
	for z < len(dst)-1 && dst[z] == '0' {
		z++
	}
	return append(dst[:digits], dst[z:]...)
}

// string reads a JSON string at c.pos and appends its canonical form to dst.
func (c *canonicalizer) string(dst []byte) ([]byte, error) {
	start := c.pos + 1
	p := start
	// Fast path: plain ASCII with nothing to escape, eight bytes at a time.
	for p+8 <= len(c.in) {
		w := binary.LittleEndian.Uint64(c.in[p:])
		q := w ^ 0x2222222222222222  // zero byte where '"'
		bs := w ^ 0x5c5c5c5c5c5c5c5c // zero byte where '\\'
		// A byte is special when it is below 0x20, '"', '\\' or non-ASCII (high bit set).
		if (((w-0x2020202020202020)&^w)|((q-0x0101010101010101)&^q)|((bs-0x0101010101010101)&^bs)|w)&0x8080808080808080 != 0 {
			break
		}
		p += 8
	}
	for p < len(c.in) {
		ch := c.in[p]
		if ch == '"' {
			dst = append(dst, c.in[c.pos:p+1]...)
			c.pos = p + 1
			return dst, nil
		}
		if ch == '\\' || ch < 0x20 || ch >= 0x80 {
			break
		}
		p++
	}
	// Slow path: decode and re-encode.
	dst = append(dst, '"')
	dst = append(dst, c.in[start:p]...)
	for p < len(c.in) {
		ch := c.in[p]
		switch {
		case ch == '"':
			c.pos = p + 1
			return append(dst, '"'), nil
		case ch == '\\':
			if p+1 >= len(c.in) {
				c.pos = p
				return nil, c.errorf("unterminated string")
			}
			esc := c.in[p+1]
			p += 2
			switch esc {
			case '"', '\\', '/':
				dst = appendEscapedRune(dst, rune(esc))
			case 'b':
				dst = append(dst, '\\', 'b')
			case 'f':
				dst = append(dst, '\\', 'f')
			case 'n':
				dst = append(dst, '\\', 'n')
			case 'r':
				dst = append(dst, '\\', 'r')
			case 't':
				dst = append(dst, '\\', 't')
			case 'u':
				r, n, ok := decodeU(c.in[p-2:])
				if !ok {
					c.pos = p - 2
					return nil, c.errorf("invalid \\u escape")
				}
				p += n - 2
				dst = appendEscapedRune(dst, r)
			default:
				c.pos = p - 2
				return nil, c.errorf("invalid escape \\%c", esc)
			}
		case ch < 0x20:
			c.pos = p
			return nil, c.errorf("control character in string")
		case ch < 0x80:
			dst = append(dst, ch)
			p++
		default:
			r, size := utf8.DecodeRune(c.in[p:])
			dst = utf8.AppendRune(dst, r) // RuneError for invalid bytes: U+FFFD
			p += size
		}
	}
	c.pos = p
	return nil, c.errorf("unterminated string")
}

// decodeU decodes \uXXXX (and a following low surrogate) at the start of b, returning the rune and
// the bytes consumed.
func decodeU(b []byte) (rune, int, bool) {
	hex4 := func(b []byte) (rune, bool) {
		if len(b) < 4 {
			return 0, false
		}
		var r rune
		for _, ch := range b[:4] {
			r <<= 4
			switch {
			case ch >= '0' && ch <= '9':
				r |= rune(ch - '0')
			case ch >= 'a' && ch <= 'f':
				r |= rune(ch - 'a' + 10)
			case ch >= 'A' && ch <= 'F':
				r |= rune(ch - 'A' + 10)
			default:
				return 0, false
			}
		}
		return r, true
	}
	r, ok := hex4(b[2:])
	if !ok {
		return 0, 0, false
	}
	if r >= 0xD800 && r < 0xDC00 {
		if len(b) >= 12 && b[6] == '\\' && b[7] == 'u' {
			if lo, ok := hex4(b[8:]); ok && lo >= 0xDC00 && lo < 0xE000 {
				return 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00), 12, true
			}
		}
		return utf8.RuneError, 6, true
	}
	if r >= 0xDC00 && r < 0xE000 {
		return utf8.RuneError, 6, true
	}
	return r, 6, true
}

const hexDigits = "0123456789abcdef"

func appendEscapedRune(dst []byte, r rune) []byte {
	switch r {
	case '"':
		return append(dst, '\\', '"')
	case '\\':
		return append(dst, '\\', '\\')
	case '\b':
		return append(dst, '\\', 'b')
	case '\f':
		return append(dst, '\\', 'f')
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	}
	if r < 0x20 {
		return append(dst, '\\', 'u', '0', '0', hexDigits[r>>4], hexDigits[r&0xF])
	}
	return utf8.AppendRune(dst, r)
}

// AppendString appends s as a canonical JSON string.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		ch := s[i]
		if ch >= 0x20 && ch < 0x80 && ch != '"' && ch != '\\' {
			dst = append(dst, ch)
			i++
			continue
		}
		if ch < 0x80 {
			dst = appendEscapedRune(dst, rune(ch))
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		dst = utf8.AppendRune(dst, r)
		i += size
	}
	return append(dst, '"')
}

func (c *canonicalizer) array() error {
	c.depth++
	if c.depth > maxDepth {
		return c.errorf("nesting deeper than %d", maxDepth)
	}
	c.pos++
	c.out = append(c.out, '[')
	c.skipSpace()
	if c.pos < len(c.in) && c.in[c.pos] == ']' {
		c.pos++
		c.out = append(c.out, ']')
		c.depth--
		return nil
	}
	for {
		c.skipSpace()
		if err := c.value(); err != nil {
			return err
		}
		c.skipSpace()
		if c.pos >= len(c.in) {
			return c.errorf("unterminated array")
		}
		switch c.in[c.pos] {
		case ',':
			c.pos++
			c.out = append(c.out, ',')
		case ']':
			c.pos++
			c.out = append(c.out, ']')
			c.depth--
			return nil
		default:
			return c.errorf("expected ',' or ']' in array")
		}
	}
}

func (c *canonicalizer) object() error {
	c.depth++
	if c.depth > maxDepth {
		return c.errorf("nesting deeper than %d", maxDepth)
	}
	c.pos++
	objStart := len(c.out)
	c.out = append(c.out, '{')
	c.skipSpace()
	if c.pos < len(c.in) && c.in[c.pos] == '}' {
		c.pos++
		c.out = append(c.out, '}')
		c.depth--
		return nil
	}
	memberBase := len(c.members)
	refsBase := len(c.refs)
	for {
		c.skipSpace()
		if c.pos >= len(c.in) || c.in[c.pos] != '"' {
			return c.errorf("expected a string key in object")
		}
		mStart := len(c.out)
		if len(c.members) > memberBase {
			mStart++ // after the ','
			c.out = append(c.out, ',')
		}
		var err error
		if c.out, err = c.string(c.out); err != nil {
			return err
		}
		kEnd := len(c.out)
		c.skipSpace()
		if c.pos >= len(c.in) || c.in[c.pos] != ':' {
			return c.errorf("expected ':' after object key")
		}
		c.pos++
		c.out = append(c.out, ':')
		c.skipSpace()
		c.path = append(c.path, [2]int{mStart, kEnd})
		if err := c.value(); err != nil {
			return err
		}
		c.path = c.path[:len(c.path)-1]
		c.members = append(c.members, [4]int{mStart, kEnd, mStart, len(c.out)})
		c.skipSpace()
		if c.pos >= len(c.in) {
			return c.errorf("unterminated object")
		}
		if c.in[c.pos] == ',' {
			c.pos++
			continue
		}
		if c.in[c.pos] != '}' {
			return c.errorf("expected ',' or '}' in object")
		}
		c.pos++
		break
	}
	members := c.members[memberBase:]
	c.sortMembers(objStart, members, refsBase)
	c.members = c.members[:memberBase]
	c.out = append(c.out, '}')
	c.depth--
	// A reference is an object whose only member is "$ref" with a string value.
	if len(members) == 1 {
		body := c.out[objStart+1 : len(c.out)-1]
		if bytes.HasPrefix(body, []byte(`"$ref":"`)) {
			var sc canonicalizer
			sc.in = body[len(`"$ref":`):]
			if to, err := sc.string(nil); err == nil && sc.pos == len(sc.in) {
				c.refs = append(c.refs[:refsBase], Ref{Field: c.joinPath(), To: unquoteCanonical(to)})
			}
		}
	}
	return nil
}

// sortMembers sorts the members written at out[objStart+1:] by key, removes duplicate keys (last
// wins), and keeps refs found inside them in the new order.
func (c *canonicalizer) sortMembers(objStart int, members [][4]int, refsBase int) {
	sorted := true
	for i := 1; i < len(members); i++ {
		if compareKeys(c.out[members[i-1][0]:members[i-1][1]], c.out[members[i][0]:members[i][1]]) >= 0 {
			sorted = false
			break
		}
	}
	if sorted {
		return
	}
	// Remember which member holds each ref found inside this object.
	var refPos []int
	if len(c.refs) > refsBase {
		refPos = c.refPositions(members, refsBase)
	}
	order := c.order[:0]
	for i := range members {
		order = append(order, i)
	}
	// Insertion sort: objects are small, and it is stable (duplicate keys keep input order).
	for i := 1; i < len(order); i++ {
		m := order[i]
		key := c.out[members[m][0]:members[m][1]]
		j := i
		for j > 0 && compareKeys(c.out[members[order[j-1]][0]:members[order[j-1]][1]], key) > 0 {
			order[j] = order[j-1]
			j--
		}
		order[j] = m
	}
	c.order = order
	// Drop duplicates: keep the last of equal keys (the highest original index).
	kept := order[:0]
	for i, m := range order {
		if i+1 < len(order) && bytes.Equal(c.out[members[m][0]:members[m][1]], c.out[members[order[i+1]][0]:members[order[i+1]][1]]) {
			continue
		}
		kept = append(kept, m)
	}
	c.tmp = append(c.tmp[:0], c.out[objStart+1:]...)
	base := objStart + 1
	c.out = c.out[:base]
	newRefs := c.refs[refsBase:]
	var reordered []Ref
	if len(newRefs) > 0 {
		reordered = make([]Ref, 0, len(newRefs))
	}
	for i, m := range kept {
		if i > 0 {
			c.out = append(c.out, ',')
		}
		s, e := members[m][2]-base, members[m][3]-base
		c.out = append(c.out, c.tmp[s:e]...)
		for j, owner := range refPos {
			if owner == m {
				reordered = append(reordered, newRefs[j])
			}
		}
	}
	if len(newRefs) > 0 {
		copy(newRefs, reordered)
		c.refs = c.refs[:refsBase+len(reordered)]
	}
}

// refPositions tells, for each ref found since refsBase, which member holds it. Refs are appended in
// input order, and each member's refs are contiguous, so counting refs per member works: it is
// computed by re-scanning paths, which start with the member's key at this depth.
func (c *canonicalizer) refPositions(members [][4]int, refsBase int) []int {
	depth := len(c.path)
	owners := make([]int, 0, len(c.refs)-refsBase)
	mi := 0
	for _, r := range c.refs[refsBase:] {
		key := pathSegment(r.Field, depth)
		for mi < len(members) && pathKey(c.out[members[mi][0]:members[mi][1]]) != key {
			mi++
		}
		if mi == len(members) { // cannot happen; keep the ref with the last member
			mi = len(members) - 1
		}
		owners = append(owners, mi)
	}
	return owners
}

// compareKeys compares two canonical JSON string keys by their unescaped bytes. Canonical strings
// escape only '"', '\\' and control characters, so comparing escaped forms is right except for
// those; unescape when either key has a backslash.
func compareKeys(a, b []byte) int {
	if bytes.IndexByte(a, '\\') < 0 && bytes.IndexByte(b, '\\') < 0 {
		return bytes.Compare(a[1:len(a)-1], b[1:len(b)-1])
	}
	return bytes.Compare([]byte(unquoteCanonical(a)), []byte(unquoteCanonical(b)))
}

// unquoteCanonical decodes a canonical JSON string literal.
func unquoteCanonical(s []byte) string {
	if bytes.IndexByte(s, '\\') < 0 {
		return string(s[1 : len(s)-1])
	}
	out, err := strconv.Unquote(string(s))
	if err != nil {
		return string(s[1 : len(s)-1])
	}
	return out
}

// pathKey turns a canonical key literal into a gjson path component.
func pathKey(key []byte) string {
	return escapePathComponent(unquoteCanonical(key))
}

func escapePathComponent(s string) string {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '.', '*', '?', '|', '#', '@', '\\', '!', '=', '<', '>', '%', '(', ')', '[', ']', '{', '}', ',', ':', '"', ' ':
			return escapeSlow(s)
		}
	}
	return s
}

func escapeSlow(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '.', '*', '?', '|', '#', '@', '\\', '!', '=', '<', '>', '%', '(', ')', '[', ']', '{', '}', ',', ':', '"', ' ':
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return string(b)
}

// joinPath returns the gjson path of the open objects' keys.
func (c *canonicalizer) joinPath() string {
	var b []byte
	for i, off := range c.path {
		if i > 0 {
			b = append(b, '.')
		}
		b = append(b, pathKey(c.out[off[0]:off[1]])...)
	}
	return string(b)
}

// pathSegment returns the depth-th component of a dotted, escaped path.
func pathSegment(path string, depth int) string {
	seg := 0
	start := 0
	for i := 0; i < len(path); i++ {
		switch path[i] {
		case '\\':
			i++
		case '.':
			if seg == depth {
				return path[start:i]
			}
			seg++
			start = i + 1
		}
	}
	if seg == depth {
		return path[start:]
	}
	return ""
}

// digest computes "sha256:<hex>" of type, locale and canonical fields.
func digest(typ, locale string, canonicalFields []byte) string {
	h := sha256.New()
	h.Write([]byte(typ))
	h.Write([]byte{0})
	h.Write([]byte(locale))
	h.Write([]byte{0})
	h.Write(canonicalFields)
	var sum [sha256.Size]byte
	var out [7 + 2*sha256.Size]byte
	copy(out[:], "sha256:")
	hex.Encode(out[7:], h.Sum(sum[:0]))
	return string(out[:])
}

// Digest returns the digest the engine gives a node of this type, locale and fields, whatever the
// key order or white space of fields.
func Digest(typ, locale string, fields []byte) (string, error) {
	canon, _, err := Canonicalize(fields)
	if err != nil {
		return "", err
	}
	return digest(typ, locale, canon), nil
}
