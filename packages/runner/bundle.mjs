/**
 * Bundle the `relais` binary (run by `pnpm build`, after `tsc`):
 *
 * - `dist/bin.js` (ES module): `src/bin.ts`, the command table, the parser and the help. It
 *   answers `--version`, `--help` and usage errors alone.
 * - `dist/bundle/<command>.cjs` (CommonJS), one per command (`run`, `validate`, `runs-list`...):
 *   everything that command uses and nothing else, in one file, so that a command reads two
 *   files instead of resolving ~1,500 modules, and `validate` never loads the engine, the
 *   cluster or SQL. CommonJS because Node 20 can reuse V8's compiled code for a script
 *   (`src/cli/CompileCache.ts`), not for an ES module.
 *
 * - better-sqlite3 stays external: it is a native addon (resolved from this package).
 * - Barrel imports are rewritten to the modules they name. esbuild assigns a *file* to every
 *   chunk whose entry can reach it by imports, so `import { Step } from "@relais/core"` would
 *   drag `Engine.js` (live for `run`) and with it the cluster into the chunks of `validate`.
 *   Importing `@relais/core/Step` directly instead changes nothing in meaning: the barrels of
 *   the workspace and of `effect` are nothing but `export * as X from "./X.js"` lines, and any
 *   other barrel is left alone.
 * - The workspace packages are marked free of side effects (as Effect's own packages are).
 * - Only whitespace and syntax are minified, never identifiers, so names stay as written
 *   (stack traces stay readable); where two modules of a bundle declare the same name, one gets
 *   a suffix. Nothing in relais or Effect reads a function's or class's own name for behaviour
 *   (errors and schemas carry explicit tags and identifiers; the outputs of `schema`, `steps`,
 *   `graph`, `validate` and `runs` were compared byte for byte), and `keepNames` costs 10-15%
 *   of a command's start-up, so it is off.
 *
 * `node bundle.mjs --analyze` prints what each output holds, largest inputs first;
 * `--sourcemap` writes source maps (to read a CPU profile).
 */
import * as esbuild from "esbuild"
import * as Fs from "node:fs"
import * as Path from "node:path"

const here = import.meta.dirname
const workspace = Path.resolve(here, "..")
const outdir = Path.join(here, "dist")
const inWorkspace = (file) => file.startsWith(workspace) && !file.includes(`${Path.sep}node_modules${Path.sep}`)

// -----------------------------------------------------------------------------
// One bundler at a time; a fresh bundle is left alone
// -----------------------------------------------------------------------------

// `pnpm test` starts the runner's tests without waiting for `pnpm build` (their global setup,
// test/harness/Bundle.ts, runs this script first when the bundle is stale), so the build's run
// of this script and the tests' may overlap: they take turns under a lock, and a bundle newer
// than every file it is made of is not written again (a test may be running it). Any flag
// (`--force`, `--analyze`, `--sourcemap`, `--no-check`) bundles anyway.
const lock = Path.join(outdir, ".bundle-build-lock")
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
Fs.mkdirSync(outdir, { recursive: true })
for (let waited = 0; ; waited += 250) {
  try {
    Fs.mkdirSync(lock)
    break
  } catch {
    const held = Fs.statSync(lock, { throwIfNoEntry: false })
    // A lock older than 5 minutes was left by a killed bundler.
    if (held !== undefined && Date.now() - held.mtimeMs > 300_000) Fs.rmSync(lock, { recursive: true, force: true })
    else if (waited > 600_000) throw new Error(`bundle.mjs: waited 10 minutes for another bundler (${lock})`)
    else sleep(250)
  }
}
process.on("exit", () => Fs.rmSync(lock, { recursive: true, force: true }))
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(130))

const mtimeOf = (file) => Fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs
/** The newest of the sources of every workspace package, this script, the manifest and the lockfile. */
const newestInput = () => {
  let newest = Math.max(...[Path.join(here, "bundle.mjs"), Path.join(here, "package.json"), Path.join(workspace, "..", "pnpm-lock.yaml")]
    .map((file) => mtimeOf(file) ?? Number.POSITIVE_INFINITY))
  const visit = (dir) => {
    for (const entry of Fs.readdirSync(dir, { withFileTypes: true })) {
      const path = Path.join(dir, entry.name)
      if (entry.isDirectory()) visit(path)
      else if (entry.name.endsWith(".ts")) newest = Math.max(newest, mtimeOf(path) ?? Number.POSITIVE_INFINITY)
    }
  }
  for (const pkg of Fs.readdirSync(workspace)) if (Fs.existsSync(Path.join(workspace, pkg, "src"))) visit(Path.join(workspace, pkg, "src"))
  return newest
}
const bundleDir = Path.join(outdir, "bundle")
const written = [Path.join(outdir, "bin.js"), ...(Fs.existsSync(bundleDir) ? Fs.readdirSync(bundleDir).filter((f) => f.endsWith(".cjs")).map((f) => Path.join(bundleDir, f)) : [])]
if (process.argv.length <= 2 && written.length > 1 && Math.min(...written.map((file) => mtimeOf(file) ?? 0)) >= newestInput()) {
  console.log("bundle.mjs: the bundle is newer than every file it is made of; left as it is (--force bundles anyway)")
  process.exit(0)
}

// -----------------------------------------------------------------------------
// Barrels
// -----------------------------------------------------------------------------

const stripComments = (text) => text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "")

/**
 * The names a file re-exports, if it is a pure barrel (only `export * as X from "..."` and
 * `export { a, b as c } from "..."`): name -> { file, name } (`name` undefined for a namespace).
 */
const barrels = new Map()
// A TypeScript source names its modules `./X.js`; the file is `./X.ts`.
const sourceOf = (file) => Fs.existsSync(file) || !file.endsWith(".js") ? file : file.replace(/\.js$/, ".ts")
const readBarrel = (file) => {
  if (barrels.has(file)) return barrels.get(file)
  let map = null
  try {
    const text = stripComments(Fs.readFileSync(file, "utf8"))
    const names = new Map()
    const rest = text
      .replace(/export\s*\*\s*as\s+([\w$]+)\s+from\s*["']([^"']+)["']\s*;?/g, (_, name, spec) => {
        names.set(name, { file: sourceOf(Path.resolve(Path.dirname(file), spec)), name: undefined })
        return ""
      })
      .replace(/export\s*\{([^}]*)\}\s*from\s*["']([^"']+)["']\s*;?/g, (_, list, spec) => {
        for (const item of list.split(",").map((s) => s.trim()).filter(Boolean)) {
          const [imported, local = imported] = item.split(/\s+as\s+/)
          names.set(local, { file: sourceOf(Path.resolve(Path.dirname(file), spec)), name: imported })
        }
        return ""
      })
    if (rest.trim() === "" && names.size > 0 && [...names.values()].every((e) => Fs.existsSync(e.file))) {
      map = names
    }
  } catch {
    map = null
  }
  barrels.set(file, map)
  return map
}

const importStatement = /import\s*\{([^}]*)\}\s*from\s*["']([^"'./][^"']*)["']\s*;?/g

/** Rewrite `import { A, B as C } from "barrel"` into imports of the modules themselves. */
const rewriteBarrelImports = async (build, file, text) => {
  const matches = [...text.matchAll(importStatement)]
  if (matches.length === 0) return text
  const replacements = []
  for (const match of matches) {
    const [statement, list, specifier] = match
    if (/^import\s+type\b/.test(statement)) continue
    const resolved = await build.resolve(specifier, { kind: "import-statement", resolveDir: Path.dirname(file), importer: file, pluginData: skip })
    if (resolved.errors.length > 0 || resolved.external) continue
    const barrel = readBarrel(resolved.path)
    if (barrel === null) continue
    const lines = []
    let complete = true
    for (const item of list.split(",").map((s) => s.trim()).filter(Boolean)) {
      if (/^type\s/.test(item)) continue
      const [imported, local = imported] = item.split(/\s+as\s+/).map((s) => s.trim())
      const target = barrel.get(imported)
      if (target === undefined) {
        complete = false
        break
      }
      const path = JSON.stringify(target.file)
      lines.push(target.name === undefined ? `import * as ${local} from ${path};` : `import { ${target.name} as ${local} } from ${path};`)
    }
    if (complete) replacements.push([match.index, statement.length, lines.join(" ")])
  }
  let out = text
  for (const [index, length, replacement] of replacements.reverse()) out = out.slice(0, index) + replacement + out.slice(index + length)
  return out
}

const skip = "relais-bundle"

const relaisPlugin = {
  name: "relais",
  setup(build) {
    build.onLoad({ filter: /\.(ts|js)$/, namespace: "file" }, async (args) => {
      if (!inWorkspace(args.path)) return undefined
      const text = await rewriteBarrelImports(build, args.path, Fs.readFileSync(args.path, "utf8"))
      return { contents: text, loader: args.path.endsWith(".ts") ? "ts" : "js", resolveDir: Path.dirname(args.path) }
    })
    build.onResolve({ filter: /.*/ }, async (args) => {
      if (args.pluginData === skip || args.kind === "entry-point") return undefined
      const result = await build.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: skip })
      // Unresolvable (an optional require in a try block) or external: esbuild decides as usual.
      if (result.errors.length > 0) return undefined
      if (result.external) return result
      return inWorkspace(result.path) ? { ...result, sideEffects: false } : result
    })
  }
}

// -----------------------------------------------------------------------------
// Sandboxes, for the commands that start them only
// -----------------------------------------------------------------------------

// A plugin's sandbox is `sandbox: () => import("./sandbox/index.js")`: loaded when asked for.
// A CommonJS bundle has no chunks, so esbuild inlines every module a dynamic import names into
// the bundle of each command that reaches the plugin, and `validate` would hold every simulator
// (their servers, seeds and fixtures). The commands that start no sandbox are built in a pass of
// their own where a dynamic import of a workspace module resolves to a stub that fails with a
// plain message instead; `run`, `resume` and `sandbox` hold them whole. (Plugins loaded from
// `relais.config.yaml` are imported at run time by a computed specifier, which esbuild leaves as
// it is: their own sandboxes load as usual.)
const unavailable = "relais-unavailable"

const noSandboxes = {
  name: "relais-no-sandboxes",
  setup(build) {
    build.onResolve({ filter: /.*/ }, async (args) => {
      if (args.kind !== "dynamic-import" || args.pluginData === skip) return undefined
      const result = await build.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: skip })
      if (result.errors.length > 0 || result.external || !inWorkspace(result.path)) return undefined
      return { path: Path.relative(workspace, result.path), namespace: unavailable }
    })
    build.onLoad({ filter: /.*/, namespace: unavailable }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`sandboxes are not available to this command (${args.path} is left out of its bundle; relais run --sandbox, relais resume --sandbox and relais sandbox start them)`)})`,
      loader: "js"
    }))
  }
}

// -----------------------------------------------------------------------------
// Commands
// -----------------------------------------------------------------------------

/** Each command (its path joined by "-") and the handler its module exports for it. */
const commands = {
  run: ["Run", "handler"],
  validate: ["Validate", "handler"],
  resume: ["Resume", "handler"],
  cancel: ["Cancel", "handler"],
  restart: ["Restart", "handler"],
  "runs-list": ["Runs", "listHandler"],
  "runs-show": ["Runs", "showHandler"],
  graph: ["Graph", "handler"],
  schema: ["Schema", "handler"],
  steps: ["Steps", "handler"],
  sandbox: ["Sandbox", "handler"],
  config: ["Config", "handler"],
  worker: ["Worker", "handler"],
  serve: ["Serve", "handler"],
  ui: ["Ui", "handler"],
  "token-create": ["Token", "createHandler"],
  schedules: ["Schedules", "handler"]
}

// Every command of the table has a bundle, and every bundle a command: read the table itself.
const table = await esbuild.build({
  absWorkingDir: here,
  entryPoints: ["src/cli/Commands.ts"],
  conditions: ["@relais/source"],
  bundle: true,
  format: "esm",
  platform: "node",
  write: false,
  logLevel: "warning"
})
const { root } = await import(`data:text/javascript;base64,${Buffer.from(table.outputFiles[0].text).toString("base64")}`)
const leaves = (node, path) => node._tag === "Group" ? node.commands.flatMap((c) => leaves(c, [...path, c.name])) : [path.join("-")]
const declared = root.commands.flatMap((c) => leaves(c, [c.name])).sort()
if (JSON.stringify(declared) !== JSON.stringify(Object.keys(commands).sort())) {
  throw new Error(`bundle.mjs: the commands of src/cli/Commands.ts (${declared.join(", ")}) and of this script (${Object.keys(commands).sort().join(", ")}) differ`)
}

/** The entry of a command's bundle: its handler, run on the Node edge. */
const commandEntries = {
  name: "relais-commands",
  setup(build) {
    build.onResolve({ filter: /^relais-command:/ }, (args) => ({ path: args.path.slice("relais-command:".length), namespace: "relais-command" }))
    build.onLoad({ filter: /.*/, namespace: "relais-command" }, (args) => {
      const [module, name] = commands[args.path]
      return {
        contents: [
          `import { runWith } from ${JSON.stringify(Path.join(here, "src/cli/Node.ts"))}`,
          `import { ${name} as handler } from ${JSON.stringify(Path.join(here, `src/commands/${module}.ts`))}`,
          "export const run = (parsed) => runWith(handler, parsed)"
        ].join("\n"),
        loader: "js",
        resolveDir: here
      }
    })
  }
}

// -----------------------------------------------------------------------------
// Build
// -----------------------------------------------------------------------------

const common = {
  absWorkingDir: here,
  // The workspace packages from their sources (as the tests see them), not their dist: the
  // bundle is then fresh exactly when it is newer than every source file.
  conditions: ["@relais/source"],
  bundle: true,
  write: false,
  platform: "node",
  target: "node20",
  minifyWhitespace: true,
  minifySyntax: true,
  keepNames: false,
  legalComments: "none",
  metafile: true,
  logLevel: "warning",
  // `node bundle.mjs --sourcemap` for profiling (node --cpu-prof); off by default (~10 MB a file).
  sourcemap: process.argv.includes("--sourcemap") ? "linked" : false
}

const bin = await esbuild.build({
  ...common,
  entryPoints: { bin: "src/bin.ts" },
  outdir,
  format: "esm",
  define: { RELAIS_BUNDLED: "true" },
  plugins: [relaisPlugin]
})

/** The commands that start sandboxes; the others are bundled without them (see `noSandboxes`). */
const withSandboxes = ["run", "resume", "cancel", "restart", "sandbox"]

const commandBuild = (names, plugins) =>
  esbuild.build({
    ...common,
    entryPoints: Object.fromEntries(names.map((name) => [name, `relais-command:${name}`])),
    outdir: Path.join(outdir, "bundle"),
    outExtension: { ".js": ".cjs" },
    format: "cjs",
    external: ["better-sqlite3"],
    plugins: [commandEntries, ...plugins, relaisPlugin]
  })

const passes = await Promise.all([
  commandBuild(withSandboxes, []),
  commandBuild(Object.keys(commands).filter((name) => !withSandboxes.includes(name)), [noSandboxes])
])
const bundles = {
  outputFiles: passes.flatMap((pass) => pass.outputFiles),
  metafile: { outputs: Object.assign({}, ...passes.map((pass) => pass.metafile.outputs)) }
}

// Written so that a process starting meanwhile sees the old files or the new ones, never half.
const staging = Path.join(outdir, `bundle.${process.pid}.new`)
Fs.mkdirSync(staging, { recursive: true })
for (const file of bundles.outputFiles) Fs.writeFileSync(Path.join(staging, Path.basename(file.path)), file.contents)
const previous = Path.join(outdir, `bundle.${process.pid}.old`)
if (Fs.existsSync(Path.join(outdir, "bundle"))) Fs.renameSync(Path.join(outdir, "bundle"), previous)
Fs.renameSync(staging, Path.join(outdir, "bundle"))
Fs.rmSync(previous, { recursive: true, force: true })
for (const file of bin.outputFiles) {
  Fs.writeFileSync(`${file.path}.${process.pid}.new`, file.contents, { mode: 0o755 })
  Fs.renameSync(`${file.path}.${process.pid}.new`, file.path)
}

const outputs = { ...bin.metafile.outputs, ...bundles.metafile.outputs }

// What each file is made of (for tests and --analyze): output -> input files.
const inputsOf = Object.fromEntries(Object.entries(outputs).map(([file, output]) => [
  Path.relative(outdir, Path.join(here, file)),
  Object.entries(output.inputs).filter(([, { bytesInOutput }]) => bytesInOutput > 0).map(([input]) => input)
]))
Fs.writeFileSync(Path.join(outdir, "bundle", "inputs.json"), `${JSON.stringify(inputsOf, null, 1)}\n`)

// The promises of this layout, checked on every build: the binary alone answers --version and
// --help (nothing from node_modules), the commands that run no workflow load none of the
// engine, the cluster, SQL, the sandboxes or an HTTP server, and no command but run, resume and
// sandbox holds a sandbox. (`validate` and `graph` compile the workflow as `run` would, which
// takes core's Workflow and three small modules of @effect/workflow, about 4 KiB.)
const heavy = /@effect\/(cluster|sql|sql-sqlite-node|rpc|experimental)\/|\/sandbox\/|sandbox-kit\/|NodeHttpServer|\/ws\/|Engine\.ts$/
const sandboxes = /\/sandbox\/|sandbox-kit\/|NodeHttpServer/
const sandboxesOnly = /\/sandbox\/|sandbox-kit\//
const problems = [
  ...inputsOf["bin.js"].filter((input) => input.includes("node_modules")).map((input) => `bin.js includes ${input}`),
  ...["validate", "graph", "steps", "schema", "config", "schedules"].flatMap((name) =>
    inputsOf[`bundle/${name}.cjs`].filter((input) => heavy.test(input) && !input.startsWith(`${unavailable}:`)).map((input) =>
      `bundle/${name}.cjs includes ${input}`
    )
  ),
  ...Object.keys(commands).filter((name) => !withSandboxes.includes(name)).flatMap((name) =>
    // `serve` and `ui` are HTTP servers themselves (NodeHttpServer), but start no sandbox.
    inputsOf[`bundle/${name}.cjs`].filter((input) => (name === "serve" || name === "ui" ? sandboxesOnly : sandboxes).test(input) && !input.startsWith(`${unavailable}:`)).map((input) =>
      `bundle/${name}.cjs includes ${input}`
    )
  )
]
if (problems.length > 0 && !process.argv.includes("--no-check")) throw new Error(`bundle.mjs: a command loads what it must not:\n${problems.join("\n")}`)

if (process.argv.includes("--analyze")) {
  const packageOf = (input) => {
    const match = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(input)
    return match ? match[1] : input.startsWith("src/") ? "@relais/runner" : input.replace(/^\.\.\/([^/]+)\/.*/, "@relais/$1")
  }
  for (const [file, output] of Object.entries(outputs)) {
    const byPackage = new Map()
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      byPackage.set(packageOf(input), (byPackage.get(packageOf(input)) ?? 0) + bytesInOutput)
    }
    const top = [...byPackage].filter(([, b]) => b >= 4096).sort((a, b) => b[1] - a[1]).map(([k, b]) => `${k} ${(b / 1024).toFixed(0)}`)
    console.log(`${file.padEnd(28)} ${(output.bytes / 1024).toFixed(0).padStart(5)} KiB: ${top.join(", ")}`)
  }
}
