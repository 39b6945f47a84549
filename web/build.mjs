// Builds the page into dist/, which the Go package web embeds: app.js
// bundled and minified by esbuild, app.css minified, the rest copied. The
// output depends only on the sources and the locked package versions, so CI
// can rebuild it and compare.
import { copyFile, mkdir, rm } from "node:fs/promises";
import { build } from "esbuild";

const dist = "dist";
await rm(dist, { recursive: true, force: true });
await mkdir(dist);
const common = { bundle: true, minify: true, charset: "utf8", logLevel: "warning" };
await build({
  ...common,
  entryPoints: ["src/main.ts"],
  outfile: `${dist}/app.js`,
  format: "esm",
  target: "es2022",
  // The licences of the bundled libraries travel with the bundle.
  legalComments: "eof",
});
await build({ ...common, entryPoints: ["static/app.css"], outfile: `${dist}/app.css` });
for (const name of ["index.html", "favicon.svg"]) {
  await copyFile(`static/${name}`, `${dist}/${name}`);
}
