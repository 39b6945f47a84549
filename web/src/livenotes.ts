// The live notes: the list of notes from the WatchNotes feed, their marks on
// the plot, and the form that posts a note with PostNote.

import { timestampDate } from "@bufbuild/protobuf/wkt";

import type { Account } from "./auth";
import { errorView, inputErrorView, renew, via } from "./calls";
import { transportLabels } from "./client";
import { InputError, latLon } from "./coords";
import { byId, h } from "./dom";
import { inRange, read } from "./forms";
import type { Author, WatchNotesResponse } from "./gen/routeguide/notes/v1/notes_pb";
import type { RouteNote } from "./gen/routeguide/route_guide_pb";
import type { LatLng } from "./mapunits";
import { NotesFeed, type FeedState } from "./notes";
import type { Plot } from "./plot";
import { clients, transport } from "./transport";

export const noteForm = byId("note-form", HTMLFormElement);
const noteResult = byId("note-result", HTMLDivElement);
const notesStatus = byId("notes-status", HTMLParagraphElement);
const notesList = byId("notes", HTMLOListElement);

// The notes list shows the newest notes first, and no more than this many:
// the map keeps counting them all.
const notesShown = 100;

// byline says who posted a note: the name the provider gave, in isolation
// like the message, or "anonymous".
function byline(a: Author | undefined): HTMLElement {
  return h("span", { class: "by" }, "by ", h("bdi", { class: "author" }, a?.displayName || "anonymous"));
}

export class LiveNotes {
  private notesSeen = 0;
  private noteCall = new AbortController();
  // shown holds where each note on the map is, by sequence, so that a
  // deletion takes its count off the right pin.
  private readonly shown = new Map<bigint, LatLng>();
  private readonly feed = new NotesFeed({
    note: (n) => this.showNote(n),
    deleted: (sequence) => this.removeNote(sequence),
    restarted: () => this.clear(),
    state: (state, err, retryInMs) => this.showFeedState(state, err, retryInMs),
  });

  constructor(
    private readonly plot: Plot,
    private readonly account: Account,
  ) {
    notesList.addEventListener("click", (e) => {
      const button = e.target instanceof Element ? e.target.closest("button.delete") : null;
      if (button instanceof HTMLButtonElement) void this.deleteNote(button);
    });
    noteForm.addEventListener("submit", (e) => {
      e.preventDefault();
      if (this.signInNeeded()) {
        this.reset();
        return;
      }
      let location: LatLng;
      try {
        location = { latitude: read(noteForm, "latitude"), longitude: read(noteForm, "longitude") };
      } catch (err) {
        if (!(err instanceof InputError)) throw err;
        this.noteCall = renew(this.noteCall);
        noteResult.dataset.state = "invalid";
        noteResult.replaceChildren(inputErrorView(err));
        return;
      }
      const input = noteForm.elements.namedItem("message");
      const message = input instanceof HTMLInputElement ? input.value : "";
      plot.showPick(inRange({ lo: location, hi: location }) ? location : undefined);
      void this.postNote({ location, message });
    });
  }

  // start shows the notes afresh, from a new feed over the transport of the
  // moment: the server replays those it keeps, then new ones follow.
  start(): void {
    this.clear();
    this.feed.start(clients.notes);
  }

  // clear forgets every note shown.
  private clear(): void {
    this.notesSeen = 0;
    this.shown.clear();
    notesStatus.dataset.count = "0";
    notesList.replaceChildren();
    this.plot.clearNotes();
  }

  // reset abandons the post under way and empties its answer.
  reset(): void {
    this.noteCall = renew(this.noteCall);
    if (this.signInNeeded()) {
      noteResult.dataset.state = "sign-in-needed";
      noteResult.replaceChildren(h("p", {}, "Sign in to post a note: this server takes notes only from signed-in users."));
      return;
    }
    noteResult.dataset.state = "empty";
    noteResult.replaceChildren(h("p", {}, "Click the map where the note goes, write it and post it."));
  }

  private showNote(n: WatchNotesResponse): void {
    const loc = n.note?.location ?? { latitude: 0, longitude: 0 };
    const message = n.note?.message ?? "";
    this.notesSeen++;
    this.shown.set(n.sequence, loc);
    this.plot.addNote(loc, message);
    const posted = n.postedTime ? timestampDate(n.postedTime) : undefined;
    // The message and the author are isolated (<bdi>), so that a
    // right-to-left override in either cannot reorder what follows them.
    notesList.prepend(
      h(
        "li",
        { "data-sequence": String(n.sequence), "data-latitude": loc.latitude, "data-longitude": loc.longitude },
        h("bdi", { class: "message" }, message),
        " ",
        h("span", { class: "coords" }, latLon(loc.latitude, loc.longitude)),
        ...(posted
          ? [" ", h("time", { datetime: posted.toISOString(), title: posted.toString() }, posted.toLocaleTimeString())]
          : []),
        " ",
        byline(n.author),
        ...(this.account.moderator
          ? [" ", h("button", { type: "button", class: "delete", "data-sequence": String(n.sequence) }, "Delete")]
          : []),
      ),
    );
    while (notesList.children.length > notesShown) {
      notesList.lastElementChild?.remove();
    }
    notesStatus.dataset.count = String(this.notesSeen);
    if (notesStatus.dataset.state === "live") {
      this.showFeedState("live");
    }
  }

  // removeNote takes a deleted note off the list and the map.
  private removeNote(sequence: bigint): void {
    notesList.querySelector(`li[data-sequence="${sequence}"]`)?.remove();
    const loc = this.shown.get(sequence);
    if (loc) {
      this.shown.delete(sequence);
      this.plot.removeNote(loc);
    }
  }

  // deleteNote asks the server to delete the note of a list entry's delete
  // control; the feed then takes it off every page, this one included.
  private async deleteNote(button: HTMLButtonElement): Promise<void> {
    const sequence = BigInt(button.dataset.sequence ?? "0");
    button.disabled = true;
    button.dataset.state = "loading";
    try {
      await clients.notes.deleteNote({ sequence });
      button.dataset.state = "done";
    } catch (err) {
      button.disabled = false;
      button.dataset.state = "error";
      button.replaceWith(button, " ", errorView(err));
    }
  }

  // signInNeeded says the server would refuse a note from this user.
  private signInNeeded(): boolean {
    return this.account.writesNeedSignIn && this.account.name === undefined;
  }

  private showFeedState(state: FeedState, err?: unknown, retryInMs?: number): void {
    notesStatus.dataset.state = state;
    notesStatus.setAttribute("aria-busy", String(state === "connecting"));
    const over = `over ${transportLabels[transport]}`;
    const seen = `${this.notesSeen} ${this.notesSeen === 1 ? "note" : "notes"} so far`;
    switch (state) {
      case "connecting":
        notesStatus.textContent = `Opening the feed (WatchNotes ${over})…`;
        break;
      case "live":
        notesStatus.textContent = `Live: every note posted anywhere shows up here, from one WatchNotes stream ${over}; ${seen}.`;
        break;
      case "retrying":
        notesStatus.replaceChildren(
          "The feed stopped: ",
          errorView(err),
          ` Trying again in ${Math.round((retryInMs ?? 0) / 1000)} s, from the last note received.`,
        );
        break;
      case "off":
        notesStatus.replaceChildren("This server has no live notes: ", errorView(err));
        break;
    }
  }

  // postNote posts a note with PostNote and shows the notes at its location
  // that the server answers with. The feed puts it on the map.
  private async postNote(note: { location: LatLng; message: string }): Promise<void> {
    const call = (this.noteCall = renew(this.noteCall));
    noteResult.dataset.state = "loading";
    noteResult.replaceChildren(h("p", {}, `Posting at ${latLon(note.location.latitude, note.location.longitude)}…`));
    try {
      // One key per note: if the browser sends the call again (a proxy's
      // reset stream), the server stores the note once.
      const headers = { "Idempotency-Key": idempotencyKey() };
      const res = await clients.notes.postNote({ note }, { signal: call.signal, headers });
      if (call.signal.aborted) {
        return;
      }
      const n = res.notes.length;
      noteResult.dataset.state = "done";
      noteResult.dataset.count = String(n);
      noteResult.replaceChildren(
        h("p", {}, n === 1 ? "Posted, the first note at this point." : `Posted. The ${n} notes at this point, oldest first:`),
        h(
          "ol",
          { class: "replies" },
          ...res.notes.map((r: RouteNote, i) =>
            h("li", {}, h("bdi", { class: "message" }, r.message), " ", byline(res.authors[i])),
          ),
        ),
        via("PostNote"),
      );
    } catch (err) {
      if (call.signal.aborted) {
        return;
      }
      noteResult.dataset.state = "error";
      noteResult.replaceChildren(errorView(err), via("PostNote"));
    }
  }
}

// idempotencyKey returns 128 random bits in hex. crypto.getRandomValues,
// unlike crypto.randomUUID, works on a page served over plain HTTP from a
// host other than localhost.
function idempotencyKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
