package server

// compressMinBytes is the smallest response message the server compresses
// when the client accepts compression. connect-go compresses every message
// by default, and its clients offer gzip by default, but a RouteGuide
// message is tens of bytes: gzip makes it no smaller and, by resetting a
// compressor per message, made each RouteChat reply cost ten times the CPU
// of the grpc-go reference's uncompressed one.
const compressMinBytes = 1024
