// Package architecture holds no code: its tests keep docs/architecture.md in
// step with the imports of every package of the module, and keep the bench's
// comparison servers free of the connect-go server.
package architecture
