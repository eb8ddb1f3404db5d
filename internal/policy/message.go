package policy

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
)

// A msgPart is literal text or a ${expr} of a message template.
type msgPart struct {
	text   string
	expr   string
	offset int // byte offset of expr in the message
}

// parseMessage splits a message template into text and ${expr} parts. "$$"
// stands for a literal "$". Braces and quotes inside an expression are
// balanced, so that ${ {"a": 1}["a"] } and ${ "}" } work.
func parseMessage(s string) ([]msgPart, error) {
	var parts []msgPart
	var text strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		if c != '$' {
			text.WriteByte(c)
			i++
			continue
		}
		if i+1 < len(s) && s[i+1] == '$' {
			text.WriteByte('$')
			i += 2
			continue
		}
		if i+1 >= len(s) || s[i+1] != '{' {
			text.WriteByte('$')
			i++
			continue
		}
		end, err := exprEnd(s, i+2)
		if err != nil {
			return nil, err
		}
		if text.Len() > 0 {
			parts = append(parts, msgPart{text: text.String()})
			text.Reset()
		}
		expr := s[i+2 : end]
		if strings.TrimSpace(expr) == "" {
			return nil, errors.New("empty ${}")
		}
		parts = append(parts, msgPart{expr: expr, offset: i + 2})
		i = end + 1
	}
	if text.Len() > 0 {
		parts = append(parts, msgPart{text: text.String()})
	}
	return parts, nil
}

// exprEnd returns the index of the "}" that closes an expression starting at
// i.
func exprEnd(s string, i int) (int, error) {
	depth := 0
	for i < len(s) {
		switch c := s[i]; c {
		case '"', '\'':
			j := i + 1
			for j < len(s) && s[j] != c {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(s) {
				return 0, errors.New("unterminated string in ${…}")
			}
			i = j + 1
			continue
		case '{':
			depth++
		case '}':
			if depth == 0 {
				return i, nil
			}
			depth--
		}
		i++
	}
	return 0, errors.New("unterminated ${")
}

// formatValue renders a CEL value for a message: strings as they are,
// integral numbers without a fraction, lists joined with ", ", maps as
// key=value pairs, null as nothing.
func formatValue(v ref.Val) string {
	var b strings.Builder
	writeValue(&b, v, 0)
	return b.String()
}

func writeValue(b *strings.Builder, v ref.Val, depth int) {
	if depth > 8 {
		b.WriteString("…")
		return
	}
	switch x := v.(type) {
	case types.String:
		b.WriteString(string(x))
	case types.Bool:
		b.WriteString(strconv.FormatBool(bool(x)))
	case types.Int:
		b.WriteString(strconv.FormatInt(int64(x), 10))
	case types.Uint:
		b.WriteString(strconv.FormatUint(uint64(x), 10))
	case types.Double:
		b.WriteString(formatFloat(float64(x)))
	case types.Null:
	case traits.Mapper:
		var keys []ref.Val
		for it := x.Iterator(); it.HasNext() == types.True; {
			keys = append(keys, it.Next())
		}
		sort.Slice(keys, func(i, j int) bool { return formatValue(keys[i]) < formatValue(keys[j]) })
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			writeValue(b, k, depth+1)
			b.WriteByte('=')
			writeValue(b, x.Get(k), depth+1)
		}
	case traits.Lister:
		i := 0
		for it := x.Iterator(); it.HasNext() == types.True; i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			writeValue(b, it.Next(), depth+1)
		}
	default:
		if o, ok := v.(interface{ HasValue() bool }); ok && !o.HasValue() {
			return // optional.none()
		}
		if o, ok := v.(interface{ GetValue() ref.Val }); ok {
			writeValue(b, o.GetValue(), depth+1)
			return
		}
		b.WriteString(strings.TrimSpace(formatNative(v.Value())))
	}
}

func formatFloat(f float64) string {
	if f == float64(int64(f)) && f < 1e15 && f > -1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', 4, 64)
}

func formatNative(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return formatFloat(x)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}
