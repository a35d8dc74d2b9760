/**
 * Plugins loaded from `plugins:` in relais.config.yaml, through the bundled binary as a user
 * runs it: each refusal located at its entry, naming the plugin, exit 4, no stack trace; and a
 * loaded plugin seen by `steps`, `validate`, `graph`, `schema` and `config` exactly like the
 * built-ins, whether it is a relative path or an npm package found from the configuration
 * file's directory (not the working directory).
 *
 * The plugins are ES modules under test/fixtures/plugins/, copied into a project directory;
 * the one with steps imports @relais/core and effect, found there through node_modules links to
 * the workspace's packages (as a project that installed them).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { child, packageDir, stackTrace, storeBytes, tmpDir, writeFile } from "./harness/Cli.js"

const fixtures = Path.join(packageDir, "test", "fixtures", "plugins")

/** A project directory: `package.json` (ES modules), node_modules links to @relais/core and effect, the fixtures under plugins/. */
const project = (config: string): string => {
  const dir = tmpDir("relais-plugins-")
  writeFile(dir, "package.json", `{ "name": "school-flows", "private": true, "type": "module" }\n`)
  Fs.mkdirSync(Path.join(dir, "node_modules", "@relais"), { recursive: true })
  Fs.symlinkSync(Fs.realpathSync(Path.join(packageDir, "node_modules", "@relais", "core")), Path.join(dir, "node_modules", "@relais", "core"))
  Fs.symlinkSync(Fs.realpathSync(Path.join(packageDir, "node_modules", "effect")), Path.join(dir, "node_modules", "effect"))
  Fs.cpSync(fixtures, Path.join(dir, "plugins"), { recursive: true })
  writeFile(dir, "relais.config.yaml", config)
  return dir
}

/** The esign fixture as an npm package: exports with conditions, the module in dist/. */
const installPackage = (dir: string, name: string, manifest: Record<string, unknown>, entry = "dist/index.js") => {
  const root = Path.join(dir, "node_modules", ...name.split("/"))
  writeFile(root, "package.json", JSON.stringify({ name, version: "1.0.0", type: "module", ...manifest }))
  writeFile(root, entry, Fs.readFileSync(Path.join(fixtures, "esign", "index.js"), "utf8"))
}

const env = { ESIGN_URL: "https://esign.example", ESIGN_API_KEY: "canary-esign-key-7" }

const flow = `version: 1
name: sign
inputs:
  doc: { type: integer }
steps:
  - id: send
    uses: esign/send-envelope
    with: { documentId: "\${{ inputs.doc }}", signers: [jeanne.martin@example.org] }
  - id: wait
    uses: esign/wait-signed
    with: { envelopeId: "\${{ steps.send.output.envelopeId }}" }
`

describe.concurrent("plugins: refused, located at their entry, exit 4", { timeout: 300_000 }, () => {
  it("every problem of every entry at once, naming the plugin, never a stack trace", async () => {
    const dir = project(`plugins:
  - ./plugins/esign/index.js
  - ./plugins/missing/index.js
  - ./plugins/no-export/index.js
  - ./plugins/not-a-plugin/index.js
  - ./plugins/throws/index.js
  - ./plugins/syntax-error/index.js
  - { use: ./plugins/factory-throws/index.js }
  - ./plugins/bad-namespace/index.js
  - ./plugins/no-version/index.js
  - ./plugins/old-version/index.js
  - ./plugins/taken/index.js
  - { use: ./plugins/plain/index.js, options: { a: 1 } }
  - ./plugins/esign
  - campus-skill
  - "@acme/relais-hr"
  - { use: campus-skills }
  - campus-skills
`)
    const result = await child(["steps"], { cwd: dir })
    expect(result.code).toBe(4)
    expect(result.stdout).toBe("")
    // One line per problem (whether each line or only the first says "error:").
    expect(result.stderr.trimEnd().split("\n").map((line) => line.replace(/^error: /, ""))).toEqual([
      `relais.config.yaml:3:5: plugins[1]: plugin "./plugins/missing/index.js": module not found: there is no ${dir}/plugins/missing/index.js (a path is relative to the configuration file's directory)`,
      `relais.config.yaml:4:5: plugins[2]: plugin "./plugins/no-export/index.js": no valid plugin export: the module exports helper, version, and neither a default export nor "plugin"; expected a plugin (Plugin.make({ name, description, steps }) from @relais/core) or a factory (options) => plugin`,
      `relais.config.yaml:5:5: plugins[3]: plugin "./plugins/not-a-plugin/index.js": no valid plugin export: its default export is an object with title, version (no name, no description, no steps); expected a plugin (Plugin.make({ name, description, steps }) from @relais/core) or a factory (options) => plugin`,
      `relais.config.yaml:6:5: plugins[4]: plugin "./plugins/throws/index.js": it threw while loading: cannot reach the licence server`,
      `relais.config.yaml:7:5: plugins[5]: plugin "./plugins/syntax-error/index.js": it could not be loaded: SyntaxError: Unexpected end of input`,
      `relais.config.yaml:8:5: plugins[6]: plugin "./plugins/factory-throws/index.js": its factory threw: option region is required (eu or us)`,
      `relais.config.yaml:9:5: plugins[7]: plugin "bad-namespace" (./plugins/bad-namespace/index.js): its step "aimaira/create-convention" is outside its namespace: a plugin only registers steps under "bad-namespace/"`,
      `relais.config.yaml:10:5: plugins[8]: plugin "no-version" (./plugins/no-version/index.js): it does not declare the plugin API version it was built for (apiVersion): define it with Plugin.make from @relais/core (plugin API 1)`,
      `relais.config.yaml:11:5: plugins[9]: plugin "old-version" (./plugins/old-version/index.js): it was built for version 2 of the plugin API, and this relais implements version 1; use a release of the plugin built for @relais/core with plugin API 1`,
      `relais.config.yaml:12:5: plugins[10]: plugin "campus-skills" (./plugins/taken/index.js): the name "campus-skills" is already taken by the built-in plugin "campus-skills"`,
      `relais.config.yaml:13:5: plugins[11]: plugin "plain" (./plugins/plain/index.js): options were given, but the module exports a plugin, not a factory taking options`,
      `relais.config.yaml:14:5: plugins[12]: plugin "esign" (./plugins/esign): the name "esign" is already taken by the plugin of plugins[0] (./plugins/esign/index.js)`,
      `relais.config.yaml:15:5: plugins[13]: plugin "campus-skill": module not found: no package campus-skill in node_modules of ${dir} or a directory above it (did you mean the built-in plugin "campus-skills"?)`,
      `relais.config.yaml:16:5: plugins[14]: plugin "@acme/relais-hr": module not found: no package @acme/relais-hr in node_modules of ${dir} or a directory above it; install it there (npm install @acme/relais-hr)`,
      `relais.config.yaml:18:5: plugins[16]: plugin "campus-skills": listed twice (first at plugins[15]); give its options in one entry`
    ])
    expect(result.stderr).not.toMatch(stackTrace)
    expect(result.stderr).not.toContain("stack line that must not be shown")
  })

  it("validate, config and schema refuse them the same way; --json says it on stdout", async () => {
    const dir = project("plugins:\n  - ./plugins/old-version/index.js\n")
    writeFile(dir, "flow.yaml", flow)
    const line = `relais.config.yaml:2:5: plugins[0]: plugin "old-version" (./plugins/old-version/index.js): it was built for version 2 of the plugin API`
    for (const args of [["validate", "flow.yaml"], ["config"], ["schema", "-o", "-"], ["graph", "flow.yaml"]]) {
      const result = await child(args, { cwd: dir })
      expect([args, result.code]).toEqual([args, 4])
      expect(result.stderr).toContain(line)
    }
    const json = await child(["config", "--json"], { cwd: dir })
    expect(JSON.parse(json.stdout.trim())).toMatchObject({ type: "error", exitCode: 4, error: { _tag: "PluginLoadError" } })
  })

  it("a module using top-level await loads: the binary lends the bundled commands its import()", async () => {
    const dir = project("plugins:\n  - ./plugins/top-level-await/index.js\n")
    const result = await child(["steps", "--json"], { cwd: dir })
    expect(result.stderr).toBe("")
    expect(result.code).toBe(0)
    expect(JSON.parse(result.stdout).length).toBeGreaterThan(0)
    const config = await child(["config", "--json"], { cwd: dir })
    expect(JSON.parse(config.stdout).plugins.map((p: { readonly name: string }) => p.name)).toContain("top-level-await")
  })
})

// Each test starts several relais processes one after the other: the limit only ends a hang
// (under two busy loops, a test of nine processes took over 120 s).
describe.concurrent("plugins: loaded, seen like the built-ins", { timeout: 300_000 }, () => {
  it("steps, validate, graph and schema see a plugin given by a relative path, with its options", async () => {
    const dir = project(`plugins:
  - { use: ./plugins/esign/index.js, options: { region: eu } }
  - ./plugins/plain/index.js
`)
    writeFile(dir, "flow.yaml", flow)
    const steps = await child(["steps"], { cwd: dir })
    expect(steps.code).toBe(0)
    expect(steps.stdout).toContain("esign/send-envelope  send a document for signature")
    expect(steps.stdout).toContain("campus-skills/")
    const one = await child(["steps", "esign/send-envelope", "--json"], { cwd: dir })
    expect(JSON.parse(one.stdout)).toMatchObject({ name: "esign/send-envelope", plugin: "esign", input: { required: ["documentId", "signers"] } })
    const valid = await child(["validate", "flow.yaml"], { cwd: dir })
    expect([valid.code, valid.stdout]).toEqual([0, "✓ flow.yaml: sign\n"])
    writeFile(dir, "typo.yaml", flow.replace("output.envelopeId", "output.envelopeid"))
    const typo = await child(["validate", "typo.yaml"], { cwd: dir })
    expect(typo.code).toBe(2)
    expect(typo.stderr).toContain(`typo.yaml:11:48: steps.send.output has no field "envelopeid" (did you mean "envelopeId"?)`)
    const graph = await child(["graph", "flow.yaml"], { cwd: dir })
    expect(graph.stdout).toContain(`n_send["<b>send</b><br/>esign/send-envelope"]`)
    const schema = await child(["schema", "-o", "-"], { cwd: dir })
    expect(schema.code).toBe(0)
    expect(schema.stdout).toContain("esign/send-envelope")
    // The factory received the entry's options.
    const configSchema = await child(["schema", "config", "-o", "-"], { cwd: dir })
    expect(JSON.parse(configSchema.stdout).properties.profiles.additionalProperties.properties.esign.description).toBe(
      "E-signature: Electronic signatures (fixture, region eu)"
    )
    // Without the configuration file, the plugin is not there.
    const elsewhere = await child(["validate", Path.join(dir, "flow.yaml")], { cwd: tmpDir() })
    expect(elsewhere.code).toBe(2)
    expect(elsewhere.stderr).toContain(`unknown step "esign/send-envelope"`)
  })

  it("run: the plugin's layer is built from its configuration and its steps use it; a secret never shows; not configured: exit 4", async () => {
    const dir = project("plugins:\n  - ./plugins/esign/index.js\n")
    writeFile(dir, "flow.yaml", `${flow}outputs:\n  envelope: \${{ steps.send.output.envelopeId }}\n`)
    const store = Path.join(dir, "runs.db")
    const missing = await child(["run", "flow.yaml", "--input", "doc=5", "--store", store], { cwd: dir })
    expect(missing.code).toBe(4)
    expect(missing.stderr).toContain("E-signature is not configured: set ESIGN_URL and ESIGN_API_KEY, or add a profile to relais.config.yaml")
    // From another directory, the configuration named by --config.
    const here = await child(
      ["run", Path.join(dir, "flow.yaml"), "--config", Path.join(dir, "relais.config.yaml"), "--input", "doc=5", "--store", store, "--json"],
      { cwd: tmpDir(), env }
    )
    expect(here.code).toBe(0)
    expect(JSON.parse(here.stdout.trim().split("\n").pop()!)).toMatchObject({
      type: "result",
      status: "succeeded",
      output: { envelope: "https://esign.example/envelopes/env-5" }
    })
    expect(here.stderr).toContain("target: environment variables (E-signature https://esign.example)")
    for (const text of [here.stdout, here.stderr, storeBytes(store)]) expect(text).not.toContain(env.ESIGN_API_KEY)
  })

  it("an npm package found from the configuration file's directory (exports with conditions, or main), with RELAIS_CONFIG or --config", async () => {
    const dir = project(`plugins:
  - "@acme/relais-esign"
  - { use: sub-esign/plugin }
  - main-esign
`)
    installPackage(dir, "@acme/relais-esign", { exports: { ".": { types: "./dist/index.d.ts", import: "./dist/index.js", require: "./dist/index.cjs" } } })
    // The same module again, by a subpath export and by main: found, loaded, and refused for its name.
    installPackage(dir, "sub-esign", { main: "./lib/main.js", exports: { "./plugin": { default: "./lib/esign.js" } } }, "lib/esign.js")
    installPackage(dir, "main-esign", { main: "./lib/esign.js" }, "lib/esign.js")
    const cwd = tmpDir()
    const viaEnv = await child(["steps"], { cwd, env: { RELAIS_CONFIG: Path.join(dir, "relais.config.yaml") } })
    expect(viaEnv.code).toBe(4)
    expect(viaEnv.stderr.split("\n").map((line) => line.replace(/^error: /, ""))).toEqual([
      `${dir}/relais.config.yaml:3:5: plugins[1]: plugin "esign" (sub-esign/plugin): the name "esign" is already taken by the plugin of plugins[0] (@acme/relais-esign)`,
      `${dir}/relais.config.yaml:4:5: plugins[2]: plugin "esign" (main-esign): the name "esign" is already taken by the plugin of plugins[0] (@acme/relais-esign)`,
      ""
    ])
    writeFile(dir, "relais.config.yaml", "plugins:\n  - \"@acme/relais-esign\"\n")
    const viaFlag = await child(["steps", "--config", Path.join(dir, "relais.config.yaml")], { cwd })
    expect(viaFlag.code).toBe(0)
    expect(viaFlag.stdout).toContain("esign/wait-signed")
    installPackage(dir, "@acme/relais-esign", { exports: { ".": { require: "./dist/index.cjs" } } })
    const noImport = await child(["steps"], { cwd: dir })
    expect(noImport.code).toBe(4)
    expect(noImport.stderr).toContain(
      `plugins[0]: plugin "@acme/relais-esign": the package @acme/relais-esign does not export its root for import (its package.json "exports" has no "import" or "default" entry for ".")`
    )
  })

  it("config lists a loaded plugin's fields and their sources, never a secret; schema config describes its section", async () => {
    const dir = project("plugins:\n  - ./plugins/esign/index.js\n")
    const result = await child(["config"], { cwd: dir, env })
    expect(result.stdout).toContain([
      "E-signature    https://esign.example",
      "  url             set, from env ESIGN_URL",
      "  apiKey          set, from env ESIGN_API_KEY",
      "  timeoutSeconds  not set (optional)"
    ].join("\n"))
    expect(`${result.stdout}${result.stderr}`).not.toContain(env.ESIGN_API_KEY)
    const json = await child(["config", "--json"], { cwd: dir, env })
    const esign = (JSON.parse(json.stdout) as { plugins: Array<{ name: string }> }).plugins.find((p) => p.name === "esign")
    expect(esign).toEqual({
      name: "esign",
      label: "E-signature",
      configured: true,
      endpoint: "https://esign.example",
      fields: [
        { path: "url", secret: false, optional: false, source: "env ESIGN_URL" },
        { path: "apiKey", secret: true, optional: false, source: "env ESIGN_API_KEY" },
        { path: "timeoutSeconds", secret: false, optional: true, source: null }
      ]
    })
    const missing = await child(["config"], { cwd: dir })
    expect(missing.code).toBe(4)
    expect(missing.stdout).toContain(
      "  E-signature is not configured: set ESIGN_URL and ESIGN_API_KEY, or add a profile to relais.config.yaml\n"
    )
    const schema = await child(["schema", "config", "-o", "-"], { cwd: dir })
    expect(schema.code).toBe(0)
    const section = JSON.parse(schema.stdout).properties.profiles.additionalProperties.properties.esign
    expect(section).toMatchObject({ type: "object", required: ["url", "apiKey"], description: "E-signature: Electronic signatures (fixture)" })
    const written = await child(["schema", "config"], { cwd: dir })
    expect(written.stderr).toContain("wrote relais.config.schema.json")
    expect(Fs.existsSync(Path.join(dir, "relais.config.schema.json"))).toBe(true)
    const unknown = await child(["schema", "configs"], { cwd: dir })
    expect([unknown.code, unknown.stderr]).toEqual([2, "error: relais schema configs: expected workflow (the default) or config (the schema of relais.config.yaml)\n"])
  })

  it("a profile's section of a loaded plugin is read and checked like a built-in's", async () => {
    const dir = project(`plugins:
  - ./plugins/esign/index.js
defaultProfile: preprod
profiles:
  preprod:
    esign: { url: https://esign.example, apiKey: { file: secrets/esign.key }, timeoutSecnds: 30 }
`)
    writeFile(dir, "secrets/esign.key", "canary-file-key-9\n")
    const cwd = tmpDir()
    const result = await child(["config", "--config", Path.join(dir, "relais.config.yaml")], { cwd })
    expect(result.code).toBe(4)
    expect(result.stdout).toContain(
      `${dir}/relais.config.yaml:6:79: profiles.preprod.esign.timeoutSecnds: unknown key (did you mean "timeoutSeconds"?); expected one of url, apiKey, timeoutSeconds`
    )
    Fs.writeFileSync(Path.join(dir, "relais.config.yaml"), Fs.readFileSync(Path.join(dir, "relais.config.yaml"), "utf8").replace("timeoutSecnds", "timeoutSeconds"))
    const fixed = await child(["config", "--config", Path.join(dir, "relais.config.yaml")], { cwd })
    expect(fixed.stdout).toContain("  apiKey          set, from file secrets/esign.key")
    expect(`${fixed.stdout}${fixed.stderr}`).not.toContain("canary-file-key-9")
  })
})
