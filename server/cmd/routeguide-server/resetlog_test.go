package main

import (
	"encoding/binary"
	"strings"
	"testing"

	"golang.org/x/net/http2"
	"google.golang.org/protobuf/proto"

	"github.com/routeguide/routeguide/gen/routeguide"
)

// TestRapidResetsAreLoggedInAggregate opens RouteChat streams on a raw
// HTTP/2 connection, each with a note whose reply comes back, so that
// every handler has read and sent a message, and resets them in bursts: the
// access log records a few of them, with counts of the others, rather
// than a line a stream.
func TestRapidResetsAreLoggedInAggregate(t *testing.T) {
	t.Parallel()
	// The attack's notes are far past one client's write budget, which is
	// not what is tested here.
	s := startRun(t, []string{"--addr=127.0.0.1:0", "--log-format=json", "--write-burst=100000"}, nil)
	attacker := dialRaw(t, strings.TrimPrefix(s.addr, "http://"))
	block := attacker.headerBlock(attacker.grpcRequest("RouteChat")...)
	const batches, perBatch = 10, 100
	id := uint32(1)
	for b := range batches {
		first := id
		for i := range perBatch {
			n := int32(b*perBatch + i)
			msg, err := proto.Marshal(&routeguide.RouteNote{Location: &routeguide.Point{Latitude: n, Longitude: n}, Message: "x"})
			if err != nil {
				t.Fatal(err)
			}
			frame := binary.BigEndian.AppendUint32([]byte{0}, uint32(len(msg)))
			if err := attacker.framer.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block, EndHeaders: true}); err != nil {
				t.Fatal(err)
			}
			if err := attacker.framer.WriteData(id, false, append(frame, msg...)); err != nil {
				t.Fatal(err)
			}
			id += 2
		}
		if err := attacker.flush(); err != nil {
			t.Fatal(err)
		}
		// Each stream's reply proves its handler read the note.
		if !eventually(patience, func() bool {
			for sid := first; sid < id; sid += 2 {
				if _, body, _ := attacker.answer(sid); len(body) == 0 {
					return false
				}
			}
			return true
		}) {
			t.Fatalf("batch %d: not every RouteChat answered its note", b)
		}
		for sid := first; sid < id; sid += 2 {
			if err := attacker.framer.WriteRSTStream(sid, http2.ErrCodeCancel); err != nil {
				t.Fatal(err)
			}
		}
		if err := attacker.flush(); err != nil {
			t.Fatal(err)
		}
	}
	// Every reset call is accounted for, in a record of its own or in a
	// count; the count of the last ones comes in a record of its own.
	var records, accounted int
	if !eventually(patience, func() bool {
		records, accounted = 0, 0
		for _, r := range s.logs.records() {
			switch {
			case r["msg"] == "rpc" && r["procedure"] == "/routeguide.RouteGuide/RouteChat" && r["code"] == "canceled":
				records++
				accounted++
				if n, ok := r["cancelled_unrecorded"].(float64); ok {
					accounted += int(n)
				}
			case r["msg"] == "rpcs cancelled by their clients, not recorded one by one":
				accounted += int(r["count"].(float64))
			}
		}
		return accounted == batches*perBatch
	}) {
		t.Fatalf("%d records account for %d reset calls, want %d", records, accounted, batches*perBatch)
	}
	t.Logf("%d reset calls logged in %d records", accounted, records)
	// One a second at most: the bursts take a few seconds at worst.
	if records > 10 {
		t.Errorf("%d records for %d reset calls, want a few", records, accounted)
	}
}
