/**
 * Build the dashboard (run by `pnpm build`, after `tsc` has checked the sources): esbuild
 * bundles `src/main.tsx` with Preact and its CSS into `dist/app.js` and `dist/app.css`, and
 * this script writes `dist/index.html`. Everything the page needs is in these three files:
 * no CDN, no web font (schools' networks and these machines have no internet).
 */
import * as esbuild from "esbuild"
import * as Fs from "node:fs"
import * as Path from "node:path"

const here = import.meta.dirname
const outdir = Path.join(here, "dist")
const staging = Path.join(here, `dist.${process.pid}.new`)

await esbuild.build({
  absWorkingDir: here,
  entryPoints: { app: "src/main.tsx" },
  outdir: staging,
  bundle: true,
  format: "esm",
  platform: "browser",
  target: ["chrome110", "firefox115", "safari16"],
  jsx: "automatic",
  jsxImportSource: "preact",
  minify: true,
  legalComments: "none",
  logLevel: "warning"
})

// The paths are absolute (`/ui/...`): the page is served at `/ui` and `/ui/` alike.
Fs.writeFileSync(Path.join(staging, "index.html"), `<!doctype html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>relais</title>
<link rel="stylesheet" href="/ui/app.css">
<script type="module" src="/ui/app.js"></script>
</head>
<body>
<div id="app"></div>
<noscript>relais: this dashboard needs JavaScript.</noscript>
</body>
</html>
`)

// Swapped whole, so that a server reading dist/ meanwhile sees the old files or the new ones.
const previous = Path.join(here, `dist.${process.pid}.old`)
if (Fs.existsSync(outdir)) Fs.renameSync(outdir, previous)
Fs.renameSync(staging, outdir)
Fs.rmSync(previous, { recursive: true, force: true })
