package main

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/routeguide/routeguide/gen/routeguide"
)

// tour plays the script of the gRPC tutorial's RouteGuide client: two
// lookups, a rectangle, a random route and six notes.
func (c *command) tour(ctx context.Context, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("tour takes no arguments")
	}
	steps := []func(context.Context) error{c.tourGetFeature, c.tourListFeatures, c.tourRecordRoute, c.tourRouteChat}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (c *command) tourGetFeature(ctx context.Context) error {
	for _, p := range []*routeguide.Point{
		{Latitude: 409146138, Longitude: -746188906},
		{Latitude: 0, Longitude: 0},
	} {
		fmt.Fprintf(c.out, "# GetFeature %s\n", formatPoint(p))
		feature, err := c.client.GetFeature(ctx, p)
		if err != nil {
			return err
		}
		if feature.GetName() == "" {
			fmt.Fprintf(c.out, "no feature at %s\n", formatPoint(feature.GetLocation()))
		} else {
			fmt.Fprintf(c.out, "%q at %s\n", feature.GetName(), formatPoint(feature.GetLocation()))
		}
	}
	return nil
}

func (c *command) tourListFeatures(ctx context.Context) error {
	rect := &routeguide.Rectangle{
		Lo: &routeguide.Point{Latitude: 400000000, Longitude: -750000000},
		Hi: &routeguide.Point{Latitude: 420000000, Longitude: -730000000},
	}
	fmt.Fprintf(c.out, "# ListFeatures %s to %s\n", formatPoint(rect.Lo), formatPoint(rect.Hi))
	count := 0
	for feature, err := range c.client.ListFeatures(ctx, rect) {
		if err != nil {
			return err
		}
		count++
		fmt.Fprintf(c.out, "%q at %s\n", feature.GetName(), formatPoint(feature.GetLocation()))
	}
	fmt.Fprintf(c.out, "features found: %d\n", count)
	return nil
}

func (c *command) tourRecordRoute(ctx context.Context) error {
	// Like the tutorial: 2 to 101 random points with whole-degree coordinates.
	route := make([]*routeguide.Point, 2+rand.IntN(100))
	for i := range route {
		route[i] = &routeguide.Point{
			Latitude:  int32(rand.IntN(180)-90) * 1e7,
			Longitude: int32(rand.IntN(360)-180) * 1e7,
		}
	}
	fmt.Fprintf(c.out, "# RecordRoute of %d random points\n", len(route))
	summary, err := c.client.RecordRoute(ctx, func(yield func(*routeguide.Point) bool) {
		for _, p := range route {
			if !yield(p) {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(c.out, "%d points, %d features, %d metres, %d seconds\n",
		summary.GetPointCount(), summary.GetFeatureCount(), summary.GetDistance(), summary.GetElapsedTime())
	return nil
}

func (c *command) tourRouteChat(ctx context.Context) error {
	notes := []*routeguide.RouteNote{
		{Location: &routeguide.Point{Latitude: 0, Longitude: 1}, Message: "First message"},
		{Location: &routeguide.Point{Latitude: 0, Longitude: 2}, Message: "Second message"},
		{Location: &routeguide.Point{Latitude: 0, Longitude: 3}, Message: "Third message"},
		{Location: &routeguide.Point{Latitude: 0, Longitude: 1}, Message: "Fourth message"},
		{Location: &routeguide.Point{Latitude: 0, Longitude: 2}, Message: "Fifth message"},
		{Location: &routeguide.Point{Latitude: 0, Longitude: 3}, Message: "Sixth message"},
	}
	fmt.Fprintf(c.out, "# RouteChat of %d notes\n", len(notes))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chat := c.client.RouteChat(ctx)
	sent := make(chan error, 1)
	go func() {
		for _, note := range notes {
			if err := chat.Send(note); err != nil {
				break // the reason comes with the replies
			}
		}
		sent <- chat.CloseSend()
	}()
	for note, err := range chat.Replies() {
		if err != nil {
			return err
		}
		fmt.Fprintf(c.out, "%q at %s\n", note.GetMessage(), formatPoint(note.GetLocation()))
	}
	return <-sent
}

func formatPoint(p *routeguide.Point) string {
	return fmt.Sprintf("(%d, %d)", p.GetLatitude(), p.GetLongitude())
}
