// Positions on the plot: an equirectangular projection in which one map
// unit is a tenth of a degree and (0, 0) is 180° W, 90° N.

import { E7, clamp } from "./coords";

// One map unit is a tenth of a degree.
export const width = 3600;
export const height = 1800;
// The margin keeps points on the edges, such as the poles, whole.
export const margin = 30;

export interface LatLng {
  latitude: number;
  longitude: number;
}

// Area is a rectangle with its corners in order: lo is south-west, hi is
// north-east.
export interface Area {
  lo: LatLng;
  hi: LatLng;
}

export function toMapUnits(p: LatLng): { x: number; y: number } {
  return { x: (p.longitude / E7 + 180) * 10, y: (90 - p.latitude / E7) * 10 };
}

// Map positions are rounded to a hundredth of a degree: a pixel is worth far
// more, and round numbers read better in the forms.
const round = (degrees: number) => Math.round(degrees * 100) * (E7 / 100);
const lon = (x: number) => clamp(round(x / 10 - 180), 180);
const lat = (y: number) => clamp(round(90 - y / 10), 90);

export function pointAt(p: DOMPoint): LatLng {
  return { latitude: lat(p.y), longitude: lon(p.x) };
}

// areaOf returns the rectangle between two map positions.
export function areaOf(a: DOMPoint, b: DOMPoint): Area {
  return {
    lo: { latitude: lat(Math.max(a.y, b.y)), longitude: lon(Math.min(a.x, b.x)) },
    hi: { latitude: lat(Math.min(a.y, b.y)), longitude: lon(Math.max(a.x, b.x)) },
  };
}

export function locationKey(p: LatLng | undefined): string {
  return `${p?.latitude ?? 0},${p?.longitude ?? 0}`;
}
