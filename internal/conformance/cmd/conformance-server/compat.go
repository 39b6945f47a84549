package main

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"google.golang.org/protobuf/proto"
)

// maxCompatMessageBytes bounds the ServerCompatRequest read from stdin,
// which carries at most a certificate and key: a bad length is an error,
// not an allocation of gigabytes.
const maxCompatMessageBytes = 1 << 20

// readMessage reads one message as the runner frames them: a big-endian
// 32-bit length, then that many bytes of binary protobuf.
func readMessage(r io.Reader, msg proto.Message) error {
	var prefix [4]byte
	if _, err := io.ReadFull(r, prefix[:]); err != nil {
		return fmt.Errorf("length prefix: %w", err)
	}
	n := binary.BigEndian.Uint32(prefix[:])
	if n > maxCompatMessageBytes {
		return fmt.Errorf("message of %d bytes, more than the %d allowed", n, maxCompatMessageBytes)
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(r, data); err != nil {
		return fmt.Errorf("message of %d bytes: %w", n, err)
	}
	return proto.Unmarshal(data, msg)
}

// writeMessage writes msg framed as readMessage reads it.
func writeMessage(w io.Writer, msg proto.Message) error {
	data, err := proto.Marshal(msg)
	if err != nil {
		return err
	}
	if len(data) > math.MaxUint32 {
		return fmt.Errorf("message of %d bytes is too large to frame", len(data))
	}
	frame := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(data)), uint32(len(data)))
	_, err = w.Write(append(frame, data...))
	return err
}
