// The live feed of notes: one WatchNotes stream that stays open, and opens
// again after a failure from where it stopped, so that no note is missed or
// shown twice.

import { Code, ConnectError } from "@connectrpc/connect";

import type { NotesClient } from "./client";
import type { WatchNotesResponse } from "./gen/routeguide/notes/v1/notes_pb";

// FeedState is where the feed stands, as the page shows it in data-state:
// connecting until the server has answered, live while the stream is open,
// retrying after it failed, and off when the server has no notes service.
export type FeedState = "connecting" | "live" | "retrying" | "off";

export interface FeedHandlers {
  // note is called for each note, in the order of the store.
  note(n: WatchNotesResponse): void;
  // deleted is called when a moderator has deleted the note with the
  // sequence; n.note holds its location.
  deleted(sequence: bigint, n: WatchNotesResponse): void;
  // restarted is called when the store began again since the last note:
  // what the page shows is gone from it, and its notes come again from the
  // start, with sequences that may repeat the old ones.
  restarted(): void;
  // state is called when the feed's state changes; err is why it is retrying
  // or off.
  state(state: FeedState, err?: unknown, retryInMs?: number): void;
}

// Waits between attempts, doubling from the first to the last: a server that
// is restarting is found again in a second, one that is down costs a request
// every half minute.
const firstRetryMs = 1000;
const maxRetryMs = 30_000;

export class NotesFeed {
  private abort = new AbortController();
  // last is the sequence of the last note received, from which a new stream
  // resumes; 0 replays what the server keeps from the start.
  private last = 0n;
  // epoch is the store life that last belongs to, sent back on resuming so
  // that a server whose store began again refuses the resume rather than
  // skipping notes.
  private epoch: string | undefined;

  constructor(private readonly handlers: FeedHandlers) {}

  // start stops any stream of the feed and opens one with client, replaying
  // the notes the server keeps and then following new ones.
  start(client: NotesClient): void {
    this.stop();
    this.last = 0n;
    this.epoch = undefined;
    void this.run(client, this.abort.signal);
  }

  // stop ends the stream; nothing more is reported.
  stop(): void {
    this.abort.abort();
    this.abort = new AbortController();
  }

  private async run(client: NotesClient, signal: AbortSignal): Promise<void> {
    let wait = firstRetryMs;
    while (!signal.aborted) {
      this.handlers.state("connecting");
      const opened = performance.now();
      let delivered = false;
      let err: unknown;
      try {
        const stream = client.watchNotes(
          { afterSequence: this.last, afterEpoch: this.epoch },
          {
            signal,
            onHeader: () => {
              if (!signal.aborted) this.handlers.state("live");
            },
          },
        );
        for await (const n of stream) {
          if (signal.aborted) {
            return; // a newer feed has taken over
          }
          delivered = true;
          this.last = n.sequence;
          this.epoch = n.epoch || undefined;
          if (n.deletedSequence !== 0n) {
            this.handlers.deleted(n.deletedSequence, n);
          } else {
            this.handlers.note(n);
          }
        }
        // The server ended the feed, as when it shuts down: follow on.
        err = new ConnectError("the server ended the feed", Code.Unavailable);
      } catch (e) {
        err = e;
      }
      if (signal.aborted) {
        return;
      }
      // A server without the notes service will not grow one.
      if (ConnectError.from(err).code === Code.Unimplemented) {
        this.handlers.state("off", err);
        return;
      }
      // The store began again since the last note (a restart, a stream
      // created anew): its sequences are new, so start from its beginning.
      if (ConnectError.from(err).code === Code.FailedPrecondition) {
        this.last = 0n;
        this.epoch = undefined;
        this.handlers.restarted();
        continue;
      }
      // A feed that delivered, or stayed open a good while, had recovered:
      // the waits start over. One that fails at once, as while the store is
      // down, waits longer each time.
      if (delivered || performance.now() - opened > maxRetryMs) {
        wait = firstRetryMs;
      }
      this.handlers.state("retrying", err, wait);
      await sleep(wait, signal);
      wait = Math.min(2 * wait, maxRetryMs);
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", stop);
      resolve();
    }, ms);
    signal.addEventListener("abort", stop, { once: true });
  });
}
