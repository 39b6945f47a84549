package jsoncodec

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// coordinateValue matches protojson's refusal of a number with a fraction
// for one of a point's int32 coordinates, the mistake of a caller who sends
// degrees.
var coordinateValue = regexp.MustCompile(`invalid value for int32 field (latitude|longitude)`)

// explain turns protojson's refusal of data, decoded into msg, into one
// that names the field and says what would be right. protojson's messages
// are not meant to be parsed, so the unknown field is found again by
// walking data beside msg's descriptor, and protojson's own message is
// kept whenever that walk finds nothing. Asking to ignore unknown fields
// is offered only if the data then decodes: protojson stops at the first
// fault, and another may follow the unknown field.
func (c *Codec) explain(ctx context.Context, data []byte, msg any, err error) error {
	// The walk runs only on protojson's word that a field is unknown:
	// encoding/json reads some input protojson refuses, such as invalid
	// UTF-8.
	if m, ok := msg.(proto.Message); ok && strings.Contains(err.Error(), "unknown field") && utf8.Valid(data) {
		var doc any
		if json.Unmarshal(data, &doc) == nil {
			if path, md, name, found := findUnknown(doc, m.ProtoReflect().Descriptor(), ""); found {
				where := md.FullName()
				if path != "" {
					where = protoreflect.FullName(fmt.Sprintf("%s (%s)", path, md.FullName()))
				}
				known := strings.Join(knownFields(md), ", ")
				rest := c.lenient.UnmarshalRead(ctx, bytes.NewReader(data), m.ProtoReflect().New().Interface())
				if rest != nil {
					return fmt.Errorf("%q in %s is not a field (known fields are %s), and past it: %w", name, where, known, rest)
				}
				return fmt.Errorf("%w %q in %s: known fields are %s (or %s to ignore fields this server does not know)",
					errUnknownField, name, where, known, c.howToAsk)
			}
		}
	}
	if c := coordinateValue.FindStringSubmatch(err.Error()); c != nil {
		return fmt.Errorf("%w: %s is an integer of degrees × 10⁷ (E7): 48.85837° is 488583700", err, c[1])
	}
	return err
}

// findUnknown walks doc, a decoded JSON value meant to be a message of
// descriptor md, for the first member that names no field, and returns its
// path, the message it stands in and its name.
func findUnknown(doc any, md protoreflect.MessageDescriptor, path string) (string, protoreflect.MessageDescriptor, string, bool) {
	obj, ok := doc.(map[string]any)
	if !ok || strings.HasPrefix(string(md.FullName()), "google.protobuf.") {
		// Well-known types have JSON forms of their own, which protojson
		// checks by itself.
		return "", nil, "", false
	}
	// In order, for the same answer to the same input.
	for _, name := range slices.Sorted(maps.Keys(obj)) {
		fd := md.Fields().ByJSONName(name)
		if fd == nil {
			fd = md.Fields().ByName(protoreflect.Name(name))
		}
		if fd == nil {
			return path, md, name, true
		}
		if fd.Message() == nil || fd.IsMap() {
			continue
		}
		inner := join(path, name)
		values := []any{obj[name]}
		if fd.IsList() {
			values, _ = obj[name].([]any)
		}
		for _, v := range values {
			if p, m, n, found := findUnknown(v, fd.Message(), inner); found {
				return p, m, n, true
			}
		}
	}
	return "", nil, "", false
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// knownFields lists the JSON names of md's fields, in field order.
func knownFields(md protoreflect.MessageDescriptor) []string {
	names := make([]string, md.Fields().Len())
	for i := range names {
		names[i] = md.Fields().Get(i).JSONName()
	}
	return names
}
