package notes

import "github.com/nats-io/nats.go"

// Conn returns the store's NATS connection, for other state the replicas
// share on the same JetStream, such as write budgets. The store keeps it
// and closes it with [JetStream.Close].
func (s *JetStream) Conn() *nats.Conn {
	return s.nc
}

// Replicas returns how many NATS servers hold each note, so that other
// state the replicas share can survive the same losses.
func (s *JetStream) Replicas() int {
	return s.cfg.Replicas
}
