package notes

import "github.com/nats-io/nats.go"

// Conn returns the store's NATS connection, for other state the replicas
// share on the same JetStream, such as write budgets. The store keeps it
// and closes it with [JetStream.Close].
func (s *JetStream) Conn() *nats.Conn {
	return s.nc
}
