// The land of the map: Natural Earth's 1:110m land polygons, as the
// world-atlas package ships them in TopoJSON, bundled into the script so
// that the page loads nothing from anywhere but its own server.

import { geoEquirectangular, geoPath } from "d3-geo";
import { feature } from "topojson-client";
import type { GeometryCollection, Topology } from "topojson-specification";
import land110m from "world-atlas/land-110m.json";

// landPath returns the land as SVG path data in the plot's units, where a
// unit is a tenth of a degree and (0, 0) is 180° W, 90° N.
export function landPath(): string {
  // The JSON's inferred type is too loose for topojson-client; it is a
  // topology with one object, "land", by world-atlas's documentation.
  const topology = land110m as unknown as Topology<{ land: GeometryCollection }>;
  const land = feature(topology, topology.objects.land);
  // An equirectangular projection scaled so that 180° of longitude is 1800
  // units; d3 cuts the polygons that cross the antimeridian (Russia, Fiji,
  // Antarctica) at the map's edges rather than drawing them across it.
  const projection = geoEquirectangular()
    .scale(1800 / Math.PI)
    .translate([1800, 900]);
  // A tenth of a unit is a hundredth of a degree, finer than the data.
  return geoPath(projection).digits(1)(land) ?? "";
}
