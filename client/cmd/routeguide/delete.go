package main

import (
	"context"
	"errors"
	"strconv"
)

// deleteNote deletes the note whose sequence args names, with a moderator's
// --token, and prints it as it was.
func (c *command) deleteNote(ctx context.Context, args []string) error {
	if len(args) != 1 {
		return errors.New("delete takes one argument: the SEQUENCE of the note, as watching the notes shows it")
	}
	seq, err := strconv.ParseUint(args[0], 10, 64)
	if err != nil || seq == 0 {
		return errors.New("delete SEQUENCE: the sequence is a positive whole number, as watching the notes shows it")
	}
	res, err := c.client.DeleteNote(ctx, seq)
	if err != nil {
		return err
	}
	return c.print(res)
}
