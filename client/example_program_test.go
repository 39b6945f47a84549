package client_test

import (
	"context"
	"fmt"
	"slices"

	"connectrpc.com/connect/v2"

	"github.com/routeguide/routeguide/client"
	"github.com/routeguide/routeguide/gen/routeguide"
)

// visit calls the RouteGuide server at baseURL, such as
// http://localhost:50051, and prints what it answers.
func visit(ctx context.Context, baseURL string) error {
	c, err := client.New(baseURL, client.WithProtocol(client.ProtocolGRPC))
	if err != nil {
		return err
	}

	eiffel := &routeguide.Point{Latitude: 488583700, Longitude: 22944810}
	feature, err := c.GetFeature(ctx, eiffel)
	if err != nil {
		return err
	}
	fmt.Println("at the point:", feature.GetName())

	// From New York to London: edges included, corners in either order.
	rect := &routeguide.Rectangle{
		Lo: &routeguide.Point{Latitude: 400000000, Longitude: -800000000},
		Hi: &routeguide.Point{Latitude: 520000000, Longitude: 20000000},
	}
	for feature, err := range c.ListFeatures(ctx, rect) {
		if err != nil {
			return err
		}
		fmt.Println("in the rectangle:", feature.GetName())
	}

	bigBen := &routeguide.Point{Latitude: 515007290, Longitude: -1246250}
	summary, err := c.RecordRoute(ctx, slices.Values([]*routeguide.Point{eiffel, bigBen}))
	if err != nil {
		return err
	}
	fmt.Printf("route: %d points, %d features, %d km\n",
		summary.GetPointCount(), summary.GetFeatureCount(), summary.GetDistance()/1000)

	// Bad input gets an error with a code, and a message naming the field.
	_, err = c.GetFeature(ctx, &routeguide.Point{Latitude: 950000000})
	if connect.CodeOf(err) != connect.CodeInvalidArgument {
		return fmt.Errorf("a latitude of 95°: got %v, want invalid_argument", err)
	}
	fmt.Println("a latitude of 95°:", connect.CodeOf(err))
	return nil
}

// Example runs the program README.md shows against a real server on a
// loopback port, with the dataset routeguide-server embeds.
func Example() {
	ts := startExampleServer()
	defer ts.Close()

	if err := visit(context.Background(), ts.URL); err != nil {
		panic(err)
	}
	// Output:
	// at the point: Eiffel Tower, Champ de Mars, Paris, France
	// in the rectangle: Statue of Liberty, Liberty Island, New York, NY, USA
	// in the rectangle: Elizabeth Tower (Big Ben), Westminster, London, UK
	// in the rectangle: Horseshoe Falls, Niagara Falls, Ontario, Canada
	// in the rectangle: CN Tower, Toronto, Ontario, Canada
	// in the rectangle: Stonehenge, Wiltshire, UK
	// in the rectangle: Mont Saint-Michel, Normandy, France
	// route: 2 points, 2 features, 340 km
	// a latitude of 95°: invalid_argument
}
