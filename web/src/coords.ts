// Coordinates in the E7 representation of the API: degrees times 10^7.

export const E7 = 1e7;

// The world rectangle, the widest that ListFeatures accepts.
export const world = {
  lo: { latitude: -90 * E7, longitude: -180 * E7 },
  hi: { latitude: 90 * E7, longitude: 180 * E7 },
};

const int32Min = -(2 ** 31);
const int32Max = 2 ** 31 - 1;

// parseE7 reads an E7 coordinate typed by the user. It accepts any int32,
// however far out of range, so that the server is the one to judge the range
// and its error is what the user sees; only what cannot be sent at all is
// refused here.
export function parseE7(field: string, text: string): number {
  const s = text.trim();
  if (!/^[+-]?\d+$/.test(s)) {
    throw new InputError(`${field}: want a whole number of E7 degrees (degrees × 10⁷), like 488583700`);
  }
  const n = Number(s);
  if (n < int32Min || n > int32Max) {
    throw new InputError(`${field}: ${s} does not fit in the int32 of the wire format`);
  }
  return n;
}

// InputError is a value the page refused to send.
export class InputError extends Error {
  override name = "InputError";
}

// degrees formats an E7 coordinate in degrees, with all seven decimals so
// that nothing is hidden from the user.
export function degrees(e7: number): string {
  return `${(e7 / E7).toFixed(7)}°`;
}

// latLon formats a point for people: 48.8583700° N, 2.2944810° E.
export function latLon(latitude: number, longitude: number): string {
  const ns = latitude < 0 ? "S" : "N";
  const ew = longitude < 0 ? "W" : "E";
  return `${degrees(Math.abs(latitude))} ${ns}, ${degrees(Math.abs(longitude))} ${ew}`;
}

// clamp keeps an E7 coordinate made from a pointer position within the
// valid range.
export function clamp(e7: number, limitDegrees: number): number {
  return Math.max(-limitDegrees * E7, Math.min(limitDegrees * E7, Math.round(e7)));
}
