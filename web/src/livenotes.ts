// The live notes: the list of notes from the WatchNotes feed, their marks on
// the plot, and the form that posts a note with PostNote.

import { timestampDate } from "@bufbuild/protobuf/wkt";

import { errorView, inputErrorView, renew, via } from "./calls";
import { transportLabels } from "./client";
import { InputError, latLon } from "./coords";
import { byId, h } from "./dom";
import { inRange, read } from "./forms";
import type { WatchNotesResponse } from "./gen/routeguide/notes/v1/notes_pb";
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

export class LiveNotes {
  private notesSeen = 0;
  private noteCall = new AbortController();
  private readonly feed = new NotesFeed({
    note: (n) => this.showNote(n),
    state: (state, err, retryInMs) => this.showFeedState(state, err, retryInMs),
  });

  constructor(private readonly plot: Plot) {
    noteForm.addEventListener("submit", (e) => {
      e.preventDefault();
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
    this.notesSeen = 0;
    notesStatus.dataset.count = "0";
    notesList.replaceChildren();
    this.plot.clearNotes();
    this.feed.start(clients.notes);
  }

  // reset abandons the post under way and empties its answer.
  reset(): void {
    this.noteCall = renew(this.noteCall);
    noteResult.dataset.state = "empty";
    noteResult.replaceChildren(h("p", {}, "Click the map where the note goes, write it and post it."));
  }

  private showNote(n: WatchNotesResponse): void {
    const loc = n.note?.location ?? { latitude: 0, longitude: 0 };
    const message = n.note?.message ?? "";
    this.notesSeen++;
    this.plot.addNote(loc, message);
    const posted = n.postedTime ? timestampDate(n.postedTime) : undefined;
    notesList.prepend(
      h(
        "li",
        { "data-sequence": String(n.sequence), "data-latitude": loc.latitude, "data-longitude": loc.longitude },
        h("span", { class: "message" }, message),
        " ",
        h("span", { class: "coords" }, latLon(loc.latitude, loc.longitude)),
        ...(posted
          ? [" ", h("time", { datetime: posted.toISOString(), title: posted.toString() }, posted.toLocaleTimeString())]
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
      const res = await clients.notes.postNote({ note }, { signal: call.signal });
      if (call.signal.aborted) {
        return;
      }
      const n = res.notes.length;
      noteResult.dataset.state = "done";
      noteResult.dataset.count = String(n);
      noteResult.replaceChildren(
        h("p", {}, n === 1 ? "Posted, the first note at this point." : `Posted. The ${n} notes at this point, oldest first:`),
        h("ol", { class: "replies" }, ...res.notes.map((r: RouteNote) => h("li", {}, r.message))),
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
