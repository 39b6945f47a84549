// Package sched helps a goroutine that does much work in one go share a
// core with the requests that arrive meanwhile.
package sched
