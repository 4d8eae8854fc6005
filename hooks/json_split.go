package hooks

import (
	"bytes"
	"encoding/json"
	"errors"

	"songcommons/internal/parallel"
)

// minSplitElements is the least number of array elements for which
// decodeSplit decodes them on all cores: below it one decode is as fast.
const minSplitElements = 64

// decodeSplit decodes body, a JSON object, into dst on all cores: the
// array that is the value of its top-level key (spelled exactly as key)
// is cut into its elements, each decoded on its own into
// (*elems)[i], and the rest of the object, with that array emptied, into
// dst; every decode as strict as readJSON's. encoding/json reads ~110 MB/s
// on one core of the machines measured, and a lookup of 1,000
// fingerprints is ~4 MB. It returns false, leaving dst and *elems to be
// overwritten, for anything it does not expect (another spelling of the
// key, an array of under minSplitElements, any error): the caller then
// decodes the whole body at once, whose result and errors are the
// reference. The caller sets the field of dst that key names from *elems.
func decodeSplit[T any](body []byte, key string, dst any, elems *[]T) bool {
	arr, parts, ok := splitArray(body, key)
	if !ok || len(parts) < minSplitElements {
		return false
	}
	rest := make([]byte, 0, len(body)-(arr[1]-arr[0])+2)
	rest = append(append(append(rest, body[:arr[0]]...), "[]"...), body[arr[1]:]...)
	if strictDecode(rest, dst) != nil {
		return false
	}
	out := make([]T, len(parts))
	failed := make([]bool, len(parts))
	parallel.For(len(parts), 0, func(i int) {
		failed[i] = strictDecode(body[parts[i][0]:parts[i][1]], &out[i]) != nil
	})
	for _, f := range failed {
		if f {
			return false
		}
	}
	*elems = out
	return true
}

var errTrailing = errors.New("trailing data")

// strictDecode is readJSON's decode: unknown fields refused, one value.
func strictDecode(b []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return err
	}
	if dec.More() {
		return errTrailing
	}
	return nil
}

// splitArray finds, in a JSON object, the value of its top-level member
// named key (the name's bytes exactly, no escapes) if it is an array, and
// the byte ranges of that array's elements. It checks the object's
// structure only as far as it walks it (the decodes check the rest), and
// says !ok for anything else: no such member, two of them, not an array,
// or a structure it cannot follow.
func splitArray(b []byte, key string) (arr [2]int, elems [][2]int, ok bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return arr, nil, false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return arr, nil, false
	}
	found := false
	for {
		if i >= len(b) || b[i] != '"' {
			return arr, nil, false
		}
		end, sok := skipString(b, i)
		if !sok {
			return arr, nil, false
		}
		name := b[i+1 : end-1]
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return arr, nil, false
		}
		i = skipSpace(b, i+1)
		if string(name) == key {
			if found || i >= len(b) || b[i] != '[' {
				return arr, nil, false
			}
			found = true
			arr[0] = i
			i = skipSpace(b, i+1)
			if i < len(b) && b[i] == ']' {
				i++
			} else {
				for {
					end, vok := skipValue(b, i)
					if !vok {
						return arr, nil, false
					}
					elems = append(elems, [2]int{i, end})
					i = skipSpace(b, end)
					if i >= len(b) {
						return arr, nil, false
					}
					if b[i] == ']' {
						i++
						break
					}
					if b[i] != ',' {
						return arr, nil, false
					}
					i = skipSpace(b, i+1)
				}
			}
			arr[1] = i
		} else {
			end, vok := skipValue(b, i)
			if !vok {
				return arr, nil, false
			}
			i = end
		}
		i = skipSpace(b, i)
		if i >= len(b) {
			return arr, nil, false
		}
		if b[i] == '}' {
			return arr, elems, found
		}
		if b[i] != ',' {
			return arr, nil, false
		}
		i = skipSpace(b, i+1)
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the end of the string starting at b[i] == '"' (just
// past its closing quote).
func skipString(b []byte, i int) (int, bool) {
	i++
	for {
		q := bytes.IndexByte(b[i:], '"')
		if q < 0 {
			return 0, false
		}
		i += q
		// escaped when an odd number of backslashes precede it
		n := 0
		for j := i - 1; j >= 0 && b[j] == '\\'; j-- {
			n++
		}
		i++
		if n%2 == 0 {
			return i, true
		}
	}
}

// skipValue returns the end of the value starting at b[i]: a string, an
// object or array (its brackets matched, strings skipped), or a literal
// (up to the next delimiter).
func skipValue(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				end, ok := skipString(b, i)
				if !ok {
					return 0, false
				}
				i = end
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1, true
				}
			}
			i++
		}
		return 0, false
	}
	start := i
	for i < len(b) {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i, i > start
		}
		i++
	}
	return 0, false
}
