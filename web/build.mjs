// Builds the page into dist/, which the Go package web embeds: app.js
// bundled and minified by esbuild, app.css minified, the rest copied. Also
// builds the grpc-web test client into e2e/testdata/, for the browser tests. The
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
// The browser tests' client of Google's grpc-web, which the product page
// does not use: it goes beside the tests, not into dist/.
await build({
  ...common,
  entryPoints: ["e2e/grpcweb/main.ts"],
  outfile: "e2e/testdata/grpcweb.js",
  format: "esm",
  target: "es2022",
  legalComments: "eof",
});
