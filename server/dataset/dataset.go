// Package dataset reads RouteGuide datasets: JSON files in either form found in
// the wild, and the project's own default dataset, embedded in the binary.
package dataset

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/server/geo"
)

// defaultFeaturesJSON is the project's own dataset: landmarks around the
// world, a few unnamed points and the two poles, so that bounds and the edges
// of the valid range are exercised by the data itself.
//
//go:embed features.json
var defaultFeaturesJSON []byte

// Default returns the dataset a server uses when it is given no
// other. Each call returns new messages that the caller may keep or modify.
func Default() []*routeguide.Feature {
	features, err := Parse(defaultFeaturesJSON)
	if err != nil {
		panic(fmt.Sprintf("embedded features.json: %v", err)) // caught by the tests
	}
	return features
}

// Open returns the dataset in the file at path, or the default dataset when
// path is empty, as the servers' --features flags promise.
func Open(path string) ([]*routeguide.Feature, error) {
	if path == "" {
		return Default(), nil
	}
	return Load(path)
}

// Load reads a JSON dataset from the file at path; see
// [Parse] for the forms it accepts. Errors name the file.
func Load(path string) ([]*routeguide.Feature, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load features: %w", err)
	}
	features, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("load features from %s: %w", path, err)
	}
	return features, nil
}

// Parse decodes a JSON dataset in either of the forms found in the
// wild: a bare array of features, as in the grpc-go and Python examples, or an
// object {"feature": [...]}, the JSON form of a repeated field as in the Java
// example. Every feature must have a location within the valid range of
// latitude and longitude; unknown fields are rejected so that a misspelt
// name is reported rather than read as zero.
func Parse(data []byte) ([]*routeguide.Feature, error) {
	if features, ok := parseDatasetFast(data); ok {
		return features, nil
	}
	return parseDatasetStrict(data)
}

// parseDatasetStrict is Parse through encoding/json: slower, but
// the judge of what is valid and the source of every error message.
func parseDatasetStrict(data []byte) ([]*routeguide.Feature, error) {
	var raw []jsonFeature
	if err := decodeDataset(data, &raw); err != nil {
		return nil, err
	}
	features := make([]*routeguide.Feature, len(raw))
	for i, f := range raw {
		if f.Location == nil {
			return nil, fmt.Errorf("feature %d (%q): location is required", i, f.Name)
		}
		features[i] = &routeguide.Feature{
			Name:     f.Name,
			Location: &routeguide.Point{Latitude: f.Location.Latitude, Longitude: f.Location.Longitude},
		}
		if err := geo.CheckPoint("location", features[i].Location); err != nil {
			return nil, fmt.Errorf("feature %d (%q): %w", i, f.Name, err)
		}
	}
	return features, nil
}

// jsonFeature is a Feature as the datasets spell it. Decoding into plain
// structs rather than through protojson keeps large datasets quick to load.
type jsonFeature struct {
	Name     string `json:"name"`
	Location *struct {
		Latitude  int32 `json:"latitude"`
		Longitude int32 `json:"longitude"`
	} `json:"location"`
}

func decodeDataset(data []byte, features *[]jsonFeature) error {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 {
		return errors.New("no data: want a JSON array of features or {\"feature\": [...]}")
	}
	var err error
	switch trimmed[0] {
	case '[':
		err = decodeStrict(data, features)
	case '{':
		var wrapped struct {
			Feature *[]jsonFeature `json:"feature"`
		}
		wrapped.Feature = features
		err = decodeStrict(data, &wrapped)
	default:
		return errors.New("want a JSON array of features or {\"feature\": [...]}")
	}
	if err != nil {
		return describeJSONError(data, err)
	}
	return nil
}

// decodeStrict decodes exactly one JSON value, rejecting unknown fields and
// anything after the value.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: unexpected data after the dataset", position(data, dec.InputOffset()))
	}
	return nil
}

// describeJSONError adds the line and column to errors that carry an offset,
// so that the mistake can be found in a large file.
func describeJSONError(data []byte, err error) error {
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntaxErr):
		return fmt.Errorf("%s: %w", position(data, syntaxErr.Offset), err)
	case errors.As(err, &typeErr):
		return fmt.Errorf("%s: %s: want %s, got JSON %s",
			position(data, typeErr.Offset), typeErr.Field, typeErr.Type, typeErr.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("unexpected end of data: the JSON is cut short")
	}
	return err
}

func position(data []byte, offset int64) string {
	offset = min(max(offset, 0), int64(len(data)))
	before := data[:offset]
	line := bytes.Count(before, []byte("\n")) + 1
	column := len(before) - bytes.LastIndexByte(before, '\n')
	return fmt.Sprintf("line %d, column %d", line, column)
}
