package client_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/routeguide/routeguide/client"
	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/server"
	"github.com/routeguide/routeguide/server/dataset"
)

// startExampleServer serves the embedded dataset over h2c on loopback. The
// caller should call Close when finished.
func startExampleServer() *httptest.Server {
	srv, err := server.New(dataset.Default())
	if err != nil {
		panic(err)
	}
	ts := httptest.NewUnstartedServer(srv)
	ts.Config.Protocols = new(http.Protocols)
	ts.Config.Protocols.SetUnencryptedHTTP2(true)
	ts.Start()
	return ts
}

func ExampleClient_GetFeature() {
	ts := startExampleServer()
	defer ts.Close()

	c, err := client.New(ts.URL, client.WithProtocol(client.ProtocolGRPC))
	if err != nil {
		panic(err)
	}
	feature, err := c.GetFeature(context.Background(), &routeguide.Point{Latitude: 488583700, Longitude: 22944810})
	if err != nil {
		panic(err)
	}
	fmt.Println(feature.GetName())
	// Output: Eiffel Tower, Champ de Mars, Paris, France
}

func ExampleClient_ListFeatures() {
	ts := startExampleServer()
	defer ts.Close()

	c, err := client.New(ts.URL)
	if err != nil {
		panic(err)
	}
	// Around London and Paris.
	rect := &routeguide.Rectangle{
		Lo: &routeguide.Point{Latitude: 480000000, Longitude: -20000000},
		Hi: &routeguide.Point{Latitude: 520000000, Longitude: 30000000},
	}
	for feature, err := range c.ListFeatures(context.Background(), rect) {
		if err != nil {
			panic(err)
		}
		fmt.Println(feature.GetName())
	}
	// Output:
	// Eiffel Tower, Champ de Mars, Paris, France
	// Elizabeth Tower (Big Ben), Westminster, London, UK
	// Stonehenge, Wiltshire, UK
	// Mont Saint-Michel, Normandy, France
}

func ExampleChat() {
	ts := startExampleServer()
	defer ts.Close()

	c, err := client.New(ts.URL)
	if err != nil {
		panic(err)
	}
	chat := c.RouteChat(context.Background())
	go func() {
		for _, text := range []string{"first", "second"} {
			if err := chat.Send(&routeguide.RouteNote{Location: &routeguide.Point{}, Message: text}); err != nil {
				return // the reason comes with the replies
			}
		}
		chat.CloseSend()
	}()
	for note, err := range chat.Replies() {
		if err != nil {
			panic(err)
		}
		fmt.Println(note.GetMessage())
	}
	// Output:
	// first
	// first
	// second
}
