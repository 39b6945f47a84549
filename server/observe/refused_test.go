package observe

import (
	"encoding/binary"
	"net/http"
	"net/http/httptest"
	"testing"

	"connectrpc.com/connect"
)

func envelope(flags byte, data string) string {
	return string(append(append([]byte{flags}, binary.BigEndian.AppendUint32(nil, uint32(len(data)))...), data...))
}

// TestAnswer reads the error of each protocol's answers as connect-go and
// the transport write them, and finds none in answers that carry none.
func TestAnswer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		protocol   string
		streamType connect.StreamType
		header     http.Header
		status     int
		body       string
		want       connect.Code // 0: no error
		wantMsg    string
	}{
		{"gRPC trailers-only", connect.ProtocolGRPC, connect.StreamTypeUnary,
			http.Header{"Grpc-Status": {"3"}, "Grpc-Message": {"bad%20point"}}, 200, "", connect.CodeInvalidArgument, "bad point"},
		{"gRPC trailers", connect.ProtocolGRPC, connect.StreamTypeUnary,
			http.Header{http.TrailerPrefix + "Grpc-Status": {"4"}}, 200, "", connect.CodeDeadlineExceeded, ""},
		{"gRPC OK", connect.ProtocolGRPC, connect.StreamTypeUnary,
			http.Header{http.TrailerPrefix + "Grpc-Status": {"0"}}, 200, "", 0, ""},
		{"gRPC-Web trailers in the body", connect.ProtocolGRPCWeb, connect.StreamTypeServer, http.Header{}, 200,
			envelope(0, "xx") + envelope(0x80, "grpc-status: 8\r\ngrpc-message: too%20big\r\n"), connect.CodeResourceExhausted, "too big"},
		{"Connect unary", connect.ProtocolConnect, connect.StreamTypeUnary, http.Header{}, 400,
			`{"code":"invalid_argument","message":"bad base64"}`, connect.CodeInvalidArgument, "bad base64"},
		{"Connect unary OK", connect.ProtocolConnect, connect.StreamTypeUnary, http.Header{}, 200, `{}`, 0, ""},
		{"Connect unary, not an RPC's answer", connect.ProtocolConnect, connect.StreamTypeUnary, http.Header{}, 415, "", 0, ""},
		{"Connect stream", connect.ProtocolConnect, connect.StreamTypeBidi, http.Header{}, 200,
			envelope(2, `{"error":{"code":"unimplemented","message":"no"}}`), connect.CodeUnimplemented, "no"},
		{"Connect stream OK", connect.ProtocolConnect, connect.StreamTypeBidi, http.Header{}, 200, envelope(2, `{}`), 0, ""},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		for k, v := range tt.header {
			rec.Header()[k] = v
		}
		a := &answerRecorder{ResponseWriter: rec, call: &call{}}
		a.WriteHeader(tt.status)
		_, _ = a.Write([]byte(tt.body))
		err := a.answer(tt.protocol, tt.streamType)
		if tt.want == 0 {
			if err != nil {
				t.Errorf("%s: %v, want no error", tt.name, err)
			}
			continue
		}
		if connect.CodeOf(err) != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
			continue
		}
		var connectErr *connect.Error
		if ce, ok := err.(*connect.Error); ok {
			connectErr = ce
		}
		if connectErr == nil || connectErr.Message() != tt.wantMsg {
			t.Errorf("%s: message %q, want %q", tt.name, connectErr.Message(), tt.wantMsg)
		}
	}
}
