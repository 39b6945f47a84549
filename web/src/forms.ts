// The page's forms of E7 coordinates: reading and filling them, with each
// value shown in degrees beside its field.

import { degrees, parseE7 } from "./coords";
import type { Area } from "./mapunits";

export function fill(form: HTMLFormElement, values: Record<string, number>): void {
  for (const [name, value] of Object.entries(values)) {
    const input = form.elements.namedItem(name);
    if (input instanceof HTMLInputElement) {
      input.value = String(value);
      showDegrees(input);
    }
  }
}

// read parses a field of E7 degrees, throwing an InputError named after the
// field's label if it cannot be sent.
export function read(form: HTMLFormElement, name: string): number {
  const input = form.elements.namedItem(name);
  const label = input instanceof HTMLInputElement ? (input.labels?.[0]?.textContent ?? name) : name;
  return parseE7(label.trim(), input instanceof HTMLInputElement ? input.value : "");
}

// showDegrees writes the value of an E7 field in degrees beside it.
function showDegrees(input: HTMLInputElement): void {
  const out = document.querySelector(`output[for="${input.id}"]`);
  if (!out) {
    return;
  }
  try {
    out.textContent = `= ${degrees(parseE7("", input.value))}`;
  } catch {
    out.textContent = "";
  }
}

// showDegreesAsTyped keeps the degrees beside the fields of the forms up to
// date, starting with the values they hold now.
export function showDegreesAsTyped(forms: HTMLFormElement[]): void {
  for (const form of forms) {
    form.addEventListener("input", (e) => {
      if (e.target instanceof HTMLInputElement) showDegrees(e.target);
    });
    for (const input of form.querySelectorAll("input")) showDegrees(input);
  }
}

// inRange says whether both corners are valid coordinates, and so can be
// drawn on the map.
export function inRange(r: Area): boolean {
  return [r.lo, r.hi].every((p) => Math.abs(p.latitude) <= 90e7 && Math.abs(p.longitude) <= 180e7);
}

export function ordered(r: Area): Area {
  return {
    lo: { latitude: Math.min(r.lo.latitude, r.hi.latitude), longitude: Math.min(r.lo.longitude, r.hi.longitude) },
    hi: { latitude: Math.max(r.lo.latitude, r.hi.latitude), longitude: Math.max(r.lo.longitude, r.hi.longitude) },
  };
}
