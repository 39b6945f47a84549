package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"os"
	"strconv"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/routeguide/routeguide/client"
	"github.com/routeguide/routeguide/gen/routeguide"
)

// command holds what every command needs.
type command struct {
	client *client.Client
	stdin  io.Reader
	out    io.Writer
	errOut io.Writer // for what is said to the user, not printed as a reply
}

func (c *command) getFeature(ctx context.Context, args []string) error {
	coords, err := parseCoordinates(args, 2, "get-feature LAT LON")
	if err != nil {
		return err
	}
	feature, err := c.client.GetFeature(ctx, &routeguide.Point{Latitude: coords[0], Longitude: coords[1]})
	if err != nil {
		return err
	}
	return c.print(feature)
}

func (c *command) listFeatures(ctx context.Context, args []string) error {
	coords, err := parseCoordinates(args, 4, "list-features LAT1 LON1 LAT2 LON2")
	if err != nil {
		return err
	}
	rect := &routeguide.Rectangle{
		Lo: &routeguide.Point{Latitude: coords[0], Longitude: coords[1]},
		Hi: &routeguide.Point{Latitude: coords[2], Longitude: coords[3]},
	}
	for feature, err := range c.client.ListFeatures(ctx, rect) {
		if err != nil {
			return err
		}
		if err := c.print(feature); err != nil {
			return err
		}
	}
	return nil
}

func (c *command) recordRoute(ctx context.Context, args []string) error {
	var route iter.Seq[*routeguide.Point]
	var inputErr error
	if len(args) > 0 {
		if len(args)%2 != 0 {
			return errors.New("record-route takes pairs of coordinates: LAT LON [LAT LON]...")
		}
		coords, err := parseCoordinates(args, len(args), "record-route [LAT LON]...")
		if err != nil {
			return err
		}
		route = func(yield func(*routeguide.Point) bool) {
			for i := 0; i < len(coords); i += 2 {
				if !yield(&routeguide.Point{Latitude: coords[i], Longitude: coords[i+1]}) {
					return
				}
			}
		}
	} else {
		c.promptTerminal(`points, one a line, such as {"latitude": 488583700, "longitude": 22944810}`)
		route = func(yield func(*routeguide.Point) bool) {
			inputErr = readJSONLines(c.stdin, func() *routeguide.Point { return new(routeguide.Point) }, yield)
		}
	}
	summary, err := c.client.RecordRoute(ctx, route)
	if inputErr != nil {
		// The route was cut short, so the summary would mislead.
		return inputErr
	}
	if err != nil {
		return err
	}
	return c.print(summary)
}

func (c *command) routeChat(ctx context.Context, args []string) error {
	if len(args) > 0 {
		return errors.New("route-chat takes no arguments: it reads notes from stdin")
	}
	c.promptTerminal(`notes, one a line, such as {"location": {"latitude": 1, "longitude": 2}, "message": "hi"}`)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chat := c.client.RouteChat(ctx)
	sent := make(chan error, 1)
	go func() {
		err := readJSONLines(c.stdin, func() *routeguide.RouteNote { return new(routeguide.RouteNote) },
			func(note *routeguide.RouteNote) bool { return chat.Send(note) == nil })
		if err != nil {
			cancel() // bad input: end the call rather than wait for replies
		}
		chat.CloseSend()
		sent <- err
	}()
	for note, err := range chat.Replies() {
		if err == nil {
			err = c.print(note)
		}
		if err != nil {
			select {
			case inputErr := <-sent:
				if inputErr != nil {
					return inputErr // the call ended because the input was bad
				}
			default:
				// Do not wait for the sender: it may be blocked reading
				// a terminal that has nothing more to say.
			}
			return err
		}
	}
	return <-sent
}

// promptTerminal says what to type when stdin is a terminal, where a command
// waiting for input would otherwise look hung.
func (c *command) promptTerminal(what string) {
	f, ok := c.stdin.(*os.File)
	if !ok {
		return
	}
	if info, err := f.Stat(); err == nil && info.Mode()&os.ModeCharDevice != 0 {
		fmt.Fprintf(c.errOut, "reading %s as JSON from stdin; end with Ctrl-D\n", what)
	}
}

// print writes msg as one line of JSON. protojson varies its spacing on
// purpose, so the line is compacted to keep the output stable for scripts.
func (c *command) print(msg proto.Message) error {
	data, err := protojson.MarshalOptions{EmitUnpopulated: true}.Marshal(msg)
	if err != nil {
		return err
	}
	var line bytes.Buffer
	if err := json.Compact(&line, data); err != nil {
		return err
	}
	line.WriteByte('\n')
	_, err = c.out.Write(line.Bytes())
	return err
}

// readJSONLines decodes each non-blank line of r as a message made by
// newMsg and yields it, stopping when yield returns false. Errors name the
// line.
func readJSONLines[M proto.Message](r io.Reader, newMsg func() M, yield func(M) bool) error {
	scanner := bufio.NewScanner(r)
	scanner.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for line := 1; scanner.Scan(); line++ {
		text := scanner.Bytes()
		if len(bytes.TrimSpace(text)) == 0 {
			continue
		}
		msg := newMsg()
		if err := protojson.Unmarshal(text, msg); err != nil {
			return fmt.Errorf("stdin line %d: %w", line, err)
		}
		if !yield(msg) {
			return nil
		}
	}
	if err := scanner.Err(); err != nil {
		return fmt.Errorf("read stdin: %w", err)
	}
	return nil
}

// parseCoordinates parses want coordinates, latitude and longitude in turn.
// Values that fit no coordinate are refused here with the valid range; ones
// that fit an int32 but not the Earth are left to the server, whose answer
// says the same.
func parseCoordinates(args []string, want int, form string) ([]int32, error) {
	if len(args) != want {
		return nil, fmt.Errorf("want %d coordinates, got %d: %s", want, len(args), form)
	}
	coords := make([]int32, len(args))
	for i, arg := range args {
		axis, limit, degrees := "latitude", int64(900_000_000), 90
		if i%2 == 1 {
			axis, limit, degrees = "longitude", 1_800_000_000, 180
		}
		v, err := strconv.ParseInt(arg, 10, 64)
		switch {
		case err == nil && v >= math.MinInt32 && v <= math.MaxInt32:
			coords[i] = int32(v)
			continue
		case err == nil || errors.Is(err, strconv.ErrRange):
			return nil, fmt.Errorf("%s %s is out of range: must be within ±%d (±%d° in E7 units, degrees × 10^7)",
				axis, arg, limit, degrees)
		}
		if f, ferr := strconv.ParseFloat(arg, 64); ferr == nil && math.Abs(f) <= float64(degrees) {
			return nil, fmt.Errorf("%s %s looks like degrees: coordinates are E7 integers, degrees × 10^7, so give %d",
				axis, arg, int64(math.Round(f*1e7)))
		}
		return nil, fmt.Errorf("%s %q: want an integer within ±%d (±%d° in E7 units, degrees × 10^7)",
			axis, arg, limit, degrees)
	}
	return coords, nil
}
