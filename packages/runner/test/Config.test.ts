/**
 * The configuration file and the environment, generic over the plugins of the registry: the
 * file's structure, the profile choice, each plugin's section decoded by its own schema with
 * located problems, references to variables and files, secrets registered with the redactor,
 * and the JSON Schema of the file. The plugins are written here (no provider is involved).
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { describe, expect, it } from "@effect/vitest"
import { Plugin, Redactor } from "@relais/core"
import { ConfigProvider, Effect, Either, Layer, Option, Redacted, Schema } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Config from "../src/Config.js"
import { tmpDir, writeFile } from "./harness/Cli.js"

/** An outside plugin's configuration: a URL, a secret, a number, a nested object and a map of connections. */
const esign = Plugin.make({
  name: "esign",
  label: "E-signature",
  description: "electronic signatures",
  steps: [],
  config: Schema.Struct({
    url: Schema.String.pipe(Schema.filter((s) => s.startsWith("https://") || `expected an https:// URL, got ${s}`)),
    apiKey: Schema.Redacted(Schema.String),
    timeoutSeconds: Schema.optional(Schema.Number),
    rateLimit: Schema.optional(Schema.Struct({ perSecond: Schema.Number })),
    connections: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Struct({ url: Schema.String, token: Schema.Redacted(Schema.String) }) }))
  }),
  endpoint: (config: { readonly url: string }) => config.url
})

const hr = Plugin.make({
  name: "hr-system",
  label: "HR system",
  description: "the school's HR system",
  steps: [],
  config: Schema.Struct({ url: Schema.String, username: Schema.String, password: Schema.Redacted(Schema.String) })
})

/** Needs nothing: configured with its defaults when nothing is set. */
const glue = Plugin.make({
  name: "glue",
  description: "glue steps",
  steps: [],
  config: Schema.Struct({ maxBytes: Schema.optional(Schema.Number) })
})

/** Declares no configuration at all. */
const plain = Plugin.make({ name: "plain", description: "no configuration", steps: [] })

const plugins = [esign, hr, glue, plain]

const parse = (text: string) => Config.parse(text, "relais.config.yaml", "/tmp")
const problems = (text: string) => Either.match(parse(text), { onLeft: (e) => e.problems.map((p) => p.toString()), onRight: () => [] })

describe("Config.parse: the file's structure", () => {
  it("reads plugins, profiles and their sections as written", () => {
    const config = Either.getOrThrow(parse(`plugins:
  - ./plugins/esign/index.js
  - { use: "@acme/relais-hr", options: { region: eu, retries: 3 } }
  - campus-skills
defaultProfile: preprod
profiles:
  preprod:
    description: pre-production
    esign: { url: https://esign.example, apiKey: { env: ESIGN_API_KEY } }
  prod:
    production: true
    hrSystem: {}
`))
    expect(config.plugins.map((p) => [p.index, p.use, p.options, p.at])).toEqual([
      [0, "./plugins/esign/index.js", undefined, { path: "plugins[0]", line: 2, column: 5 }],
      [1, "@acme/relais-hr", { region: "eu", retries: 3 }, { path: "plugins[1]", line: 3, column: 5 }],
      [2, "campus-skills", undefined, { path: "plugins[2]", line: 4, column: 5 }]
    ])
    expect(config.defaultProfile).toBe("preprod")
    expect(config.profiles.get("preprod")).toMatchObject({ production: false, description: "pre-production" })
    expect(config.profiles.get("preprod")!.sections.map((s) => [s.key, s.keyAt])).toEqual([["esign", { path: "profiles.preprod.esign", line: 9, column: 5 }]])
    expect(config.profiles.get("prod")!.production).toBe(true)
  })

  it("a production profile is never the default", () => {
    expect(problems("defaultProfile: prod\nprofiles:\n  prod: { production: true }\n")).toEqual([
      `relais.config.yaml:1:17: defaultProfile: profile "prod" is marked production: true and cannot be the default; nothing runs against production unless it is named (--profile prod or RELAIS_PROFILE=prod)`
    ])
  })

  it("reads serve: (paths relative to the file, sizes, token hashes and scopes) and locates its problems", () => {
    const hash = "a".repeat(64)
    const read = Config.parse(
      `serve:\n  listen: 0.0.0.0:9000\n  workflows: flows\n  bodyLimit: 2MiB\n  trustProxy: true\n  tls: { cert: c.pem, key: k.pem }\n  tokens:\n    - { name: portal, hash: "sha256:${hash}", scopes: [read, run] }\n`,
      "relais.config.yaml",
      "/etc/relais"
    )
    expect(Either.isRight(read) && read.right.serve).toMatchObject({
      listen: "0.0.0.0:9000",
      workflows: "/etc/relais/flows",
      bodyLimit: 2 * 1024 * 1024,
      trustProxy: true,
      tls: { cert: "/etc/relais/c.pem", key: "/etc/relais/k.pem" },
      tokens: [{ name: "portal", sha256: hash, scopes: ["read", "run"] }]
    })
    expect(problems(`serve:\n  bodyLimit: lots\n  tls: { cert: c.pem }\n  tokens:\n    - { name: a, hash: "relais_secret", scopes: [read, wrte] }\n    - { name: a, hash: "sha256:${hash}", scopes: [read] }\n  port: 1\n`)).toEqual([
      "relais.config.yaml:2:14: serve.bodyLimit: expected a size: bytes, or a number with KiB or MiB (e.g. 1MiB)",
      "relais.config.yaml:3:8: serve.tls: missing key: the private key file (PEM)",
      "relais.config.yaml:5:24: serve.tokens[0].hash: expected sha256:<64 lower-case hex digits>, the hash relais token create prints (never the token itself)",
      "relais.config.yaml:5:56: serve.tokens[0].scopes: expected scopes among read, run, admin",
      `relais.config.yaml:6:15: serve.tokens[1].name: another token is already named "a": each token has its own name`,
      `relais.config.yaml:7:3: serve.port: unknown key; expected one of listen, workflows, bodyLimit, trustProxy, tls, tokens, webhooks`
    ])
  })

  it("reads serve.webhooks (the client secret only as a reference) and locates its problems", () => {
    const read = Config.parse(
      `serve:\n  webhooks:\n    erp:\n      clientId: hooks\n      clientSecret: { env: HOOK_SECRET }\n      settings: { customerName: ECOLE }\n      debounce: 500ms\n`,
      "relais.config.yaml",
      "/etc/relais"
    )
    expect(Either.isRight(read) && read.right.serve?.webhooks).toMatchObject([
      { plugin: "erp", clientId: "hooks", settings: { customerName: "ECOLE" }, debounceMillis: 500, tokenLifetimeMillis: 600_000 }
    ])
    expect(problems(`serve:\n  webhooks:\n    erp:\n      clientId: hooks\n      clientSecret: s3cret-in-clear\n      debounce: soon\n    other: { clientSecret: { file: s } }\n`)).toEqual([
      "relais.config.yaml:5:21: serve.webhooks.erp.clientSecret: expected { env: NAME } or { file: path }: the secret itself is never written in this file",
      "relais.config.yaml:6:17: serve.webhooks.erp.debounce: expected a duration such as 2s (ms, s, m, h)",
      "relais.config.yaml:7:12: serve.webhooks.other: missing clientId: the OAuth client the sender authenticates as"
    ])
  })

  it("reports every structural problem, located, in file order, with suggestions", () => {
    expect(problems(`defaultProfile: preprd
plugin: []
plugins:
  - { use: ./a.js, option: {} }
  - [ nested ]
  - { options: { a: 1 } }
  - { use: ./b.js, options: 3 }
profiles:
  preprod:
    production: yes
  "bad name": {}
`)).toEqual([
      `relais.config.yaml:1:17: defaultProfile: no profile named "preprd" (did you mean "preprod"?); the profiles are preprod`,
      `relais.config.yaml:2:1: plugin: unknown key (did you mean "plugins"?); expected one of plugins, defaultProfile, profiles, store, serve`,
      `relais.config.yaml:4:20: plugins[0].option: unknown key (did you mean "options"?); expected one of use, options`,
      "relais.config.yaml:5:5: plugins[1]: expected a plugin: a package name, a ./path to an ES module, or { use: <one of those>, options: { ... } }",
      "relais.config.yaml:6:5: plugins[2]: missing use: the plugin's package name or ./path",
      "relais.config.yaml:7:29: plugins[3].options: expected a map of options (the plugin factory's argument)",
      "relais.config.yaml:10:17: profiles.preprod.production: expected true or false",
      "relais.config.yaml:11:3: profiles.bad name: profile names are letters, digits, dots, dashes and underscores"
    ])
  })

  it("YAML problems are located; an empty file says what it should hold", () => {
    expect(problems("profiles:\n  a: [\n")[0]).toMatch(/^relais\.config\.yaml:\d+:\d+: /)
    expect(problems("")).toEqual([
      "relais.config.yaml: the file is empty; expected profiles: { <name>: { <plugin section>: { ... } } } and, if any, plugins: [ ... ]"
    ])
  })
})

interface ResolveOptions {
  readonly profile?: string
  readonly files?: Record<string, string>
  readonly env?: Record<string, string>
  readonly plugins?: ReadonlyArray<Plugin.Plugin>
}

const resolve = (options: ResolveOptions) => {
  const dir = tmpDir("relais-config-")
  for (const [name, text] of Object.entries(options.files ?? {})) writeFile(dir, name, text)
  const redactor = Redactor.make()
  const file = Path.join(dir, "relais.config.yaml")
  return Config.resolve({
    profile: Option.fromNullable(options.profile),
    configFile: Fs.existsSync(file) ? Option.some(file) : Option.none()
  }).pipe(
    Effect.map((resolved) => ({ ...resolved, redactor, file, dir })),
    Effect.provide(Layer.mergeAll(NodeContext.layer, Layer.succeed(Redactor.Redactor, redactor), Layer.orDie(Plugin.layer(options.plugins ?? plugins)))),
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(options.env ?? {}))))
  )
}

const messageOf = (state: Either.Either<Config.Configured, Config.NotConfigured> | undefined) =>
  state === undefined ? "absent" : Either.match(state, { onLeft: (e) => e.message, onRight: () => "configured" })

describe("Config.resolve: from the environment (no profile chosen)", () => {
  it.effect("a plugin with none of its variables set is not configured: the message names them", () =>
    Effect.gen(function*() {
      const { target } = yield* resolve({})
      expect(target.kind).toBe("environment")
      expect(target.production).toBe(false)
      expect(messageOf(target.plugins.get("esign"))).toBe(
        "E-signature is not configured: set ESIGN_URL and ESIGN_API_KEY, or create relais.config.yaml with a profile (--sandbox needs neither)"
      )
      expect(messageOf(target.plugins.get("hr-system"))).toBe(
        "HR system is not configured: set HR_SYSTEM_URL, HR_SYSTEM_USERNAME and HR_SYSTEM_PASSWORD, or create relais.config.yaml with a profile (--sandbox needs neither)"
      )
      // A plugin that needs nothing is configured with its defaults; one without a schema too.
      expect(target.plugins.get("glue")).toEqual(Either.right({ config: {}, sources: {} }))
      expect(target.plugins.get("plain")).toEqual(Either.right({ config: undefined, sources: {} }))
      const error = yield* Effect.flip(Config.requirePlugin(target, "esign"))
      expect(error._tag).toBe("MissingCredentials")
      expect((yield* Effect.flip(Config.requirePlugin(target, "nope"))).message).toBe(`no plugin named "nope" is loaded`)
    }))

  it.effect("what is still missing is named; values are converted by field kind; secrets are registered", () =>
    Effect.gen(function*() {
      const partial = yield* resolve({ env: { HR_SYSTEM_URL: "https://hr.example", HR_SYSTEM_USERNAME: "api" } })
      expect(messageOf(partial.target.plugins.get("hr-system"))).toBe(
        "HR system is not configured: set HR_SYSTEM_PASSWORD, or create relais.config.yaml with a profile (--sandbox needs neither)"
      )
      const { redactor, target } = yield* resolve({
        env: { ESIGN_URL: "https://esign.example", ESIGN_API_KEY: "canary-key-1", ESIGN_TIMEOUT_SECONDS: "30", ESIGN_RATE_LIMIT_PER_SECOND: "5" }
      })
      const esignConfig = yield* Config.requirePlugin(target, "esign")
      expect(esignConfig.sources).toEqual({
        url: "env ESIGN_URL",
        apiKey: "env ESIGN_API_KEY",
        timeoutSeconds: "env ESIGN_TIMEOUT_SECONDS",
        "rateLimit.perSecond": "env ESIGN_RATE_LIMIT_PER_SECOND"
      })
      const config = esignConfig.config as { readonly apiKey: Redacted.Redacted<string>; readonly timeoutSeconds: number; readonly rateLimit: unknown }
      expect([Redacted.value(config.apiKey), config.timeoutSeconds, config.rateLimit]).toEqual(["canary-key-1", 30, { perSecond: 5 }])
      expect(redactor.redactText("key canary-key-1")).toBe("key [redacted]")
    }))

  it.effect("a value the schema refuses is a located problem of the environment, never quoting a secret", () =>
    Effect.gen(function*() {
      const { target } = yield* resolve({ env: { ESIGN_URL: "http://esign.example", ESIGN_API_KEY: "k", ESIGN_TIMEOUT_SECONDS: "soon" } })
      expect(messageOf(target.plugins.get("esign"))).toBe(`environment: ESIGN_TIMEOUT_SECONDS: expected a number, got "soon"`)
      const url = yield* resolve({ env: { ESIGN_URL: "http://esign.example", ESIGN_API_KEY: "k" } })
      expect(messageOf(url.target.plugins.get("esign"))).toBe("environment: ESIGN_URL: expected an https:// URL, got http://esign.example")
    }))
})

const twoProfiles = `defaultProfile: preprod
profiles:
  preprod:
    esign: { url: https://esign.example, apiKey: { env: ESIGN_KEY }, timeoutSeconds: { file: timeout.txt } }
    hrSystem: { url: https://hr.example, username: 1234, password: { file: secrets/hr-password } }
  prod:
    production: true
    esign: { url: https://esign.example, apiKey: literal-prod-key-0001 }
`

describe("Config.resolve: from a profile", () => {
  it.effect("the profile: --profile, else RELAIS_PROFILE, else defaultProfile; references read relative to the file", () =>
    Effect.gen(function*() {
      const files = { "relais.config.yaml": twoProfiles, "timeout.txt": "45\n", "secrets/hr-password": "canary-hr-pw\n" }
      const byDefault = yield* resolve({ files, env: { ESIGN_KEY: "canary-esign" } })
      expect([byDefault.target.profile, byDefault.target.chosenBy, byDefault.target.production]).toEqual(["preprod", "defaultProfile", false])
      const esignConfig = yield* Config.requirePlugin(byDefault.target, "esign")
      expect(esignConfig.sources).toEqual({ url: byDefault.file, apiKey: "env ESIGN_KEY", timeoutSeconds: "file timeout.txt" })
      expect((esignConfig.config as { readonly timeoutSeconds: number }).timeoutSeconds).toBe(45)
      const hrConfig = (yield* Config.requirePlugin(byDefault.target, "hr-system")).config as { readonly username: string; readonly password: Redacted.Redacted<string> }
      // An unquoted number where text is expected is that text.
      expect([hrConfig.username, Redacted.value(hrConfig.password)]).toEqual(["1234", "canary-hr-pw"])
      expect(byDefault.redactor.redactText("canary-esign canary-hr-pw")).toBe("[redacted] [redacted]")
      // The literal secret of another profile is registered too, but warned about only when used.
      expect(byDefault.redactor.redactText("literal-prod-key-0001")).toBe("[redacted]")
      expect(byDefault.warnings).toEqual([])

      const byEnv = yield* resolve({ files, env: { RELAIS_PROFILE: "prod" } })
      expect([byEnv.target.profile, byEnv.target.chosenBy, byEnv.target.production]).toEqual(["prod", "RELAIS_PROFILE", true])
      expect(byEnv.warnings.map((w) => w.toString())).toEqual([
        `${byEnv.file}:8:50: profiles.prod.esign.apiKey: a literal secret in the configuration file; prefer { env: NAME } or { file: path } and keep the file out of version control`
      ])
      // prod has no hrSystem section: only an error for a workflow that uses it.
      expect(messageOf(byEnv.target.plugins.get("hr-system"))).toBe(
        `HR system is not configured in profile "prod" of ${byEnv.file}: add a hrSystem section (url, username and password)`
      )
      const byFlag = yield* resolve({ files, env: { RELAIS_PROFILE: "prod" }, profile: "preprod" })
      expect([byFlag.target.profile, byFlag.target.chosenBy]).toEqual(["preprod", "--profile"])
    }))

  it.effect("every problem of a section at once, located: references, conversions, the schema's own, unknown keys", () =>
    Effect.gen(function*() {
      const { file, target } = yield* resolve({
        files: {
          "relais.config.yaml": `profiles:
  p:
    esign:
      url: http://esign.example
      apiKey: { env: ESIGN_KEY }
      timeoutSeconds: { env: ESIGN_TIMEOUT }
      rateLimit: { perSecnd: 3 }
      conections: {}
    hrSystem: { url: https://hr.example, password: { file: missing.txt } }
`
        },
        profile: "p",
        env: { ESIGN_TIMEOUT: "soon" }
      })
      expect(messageOf(target.plugins.get("esign")).split("\n")).toEqual([
        `${file}:4:12: profiles.p.esign.url: expected an https:// URL, got http://esign.example`,
        `${file}:5:15: profiles.p.esign.apiKey: the environment variable ESIGN_KEY is not set`,
        `${file}:6:23: profiles.p.esign.timeoutSeconds: expected a number, got "soon" (from env ESIGN_TIMEOUT)`,
        `${file}:7:18: profiles.p.esign.rateLimit.perSecond: is missing`,
        `${file}:7:20: profiles.p.esign.rateLimit.perSecnd: unknown key (did you mean "perSecond"?); expected one of perSecond`,
        `${file}:8:7: profiles.p.esign.conections: unknown key (did you mean "connections"?); expected one of url, apiKey, timeoutSeconds, rateLimit, connections`
      ])
      expect(messageOf(target.plugins.get("hr-system")).split("\n")).toEqual([
        `${file}:9:15: profiles.p.hrSystem.username: is missing`,
        `${file}:9:52: profiles.p.hrSystem.password: cannot read missing.txt: no such file`
      ])
    }))

  it.effect("a literal secret at any depth works, registered and warned about; a secret is never quoted in a problem", () =>
    Effect.gen(function*() {
      const { file, redactor, target, warnings } = yield* resolve({
        files: {
          "relais.config.yaml": `profiles:
  p:
    esign:
      url: https://esign.example
      apiKey: { env: ESIGN_KEY }
      connections:
        crm: { url: https://crm.example, token: canary-crm-token }
    hrSystem: { url: https://hr.example, username: api, password: 12 }
`
        },
        profile: "p",
        env: { ESIGN_KEY: "k-1" }
      })
      expect(Either.isRight(target.plugins.get("esign")!)).toBe(true)
      expect(warnings.map((w) => w.toString())).toEqual([
        `${file}:7:49: profiles.p.esign.connections.crm.token: a literal secret in the configuration file; prefer { env: NAME } or { file: path } and keep the file out of version control`,
        `${file}:8:67: profiles.p.hrSystem.password: a literal secret in the configuration file; prefer { env: NAME } or { file: path } and keep the file out of version control`
      ])
      expect(redactor.redactText("canary-crm-token")).toBe("[redacted]")
      // A number where the secret (text) is expected is taken as its text.
      expect(Either.isRight(target.plugins.get("hr-system")!)).toBe(true)
      const refused = yield* resolve({
        files: { "relais.config.yaml": "profiles:\n  p:\n    esign: { url: https://esign.example, apiKey: [canary-list-secret] }\n" },
        profile: "p"
      })
      const message = messageOf(refused.target.plugins.get("esign"))
      expect(message).toBe(`${refused.file}:3:50: profiles.p.esign.apiKey: is not a valid value (not shown: it is a secret)`)
    }))

  it.effect("an unknown section: did you mean, against the plugins' sections; a profile, or a file, that is not there", () =>
    Effect.gen(function*() {
      const typo = yield* Effect.flip(resolve({ files: { "relais.config.yaml": "profiles:\n  p:\n    esing: {}\n    crm: {}\n    plain: {}\n" } }))
      expect(typo.message.split("\n")).toEqual([
        expect.stringMatching(/relais\.config\.yaml:3:5: profiles\.p\.esing: unknown key \(did you mean "esign"\?\); expected one of production, description, esign, hrSystem, glue, plain$/),
        expect.stringMatching(
          /relais\.config\.yaml:4:5: profiles\.p\.crm: unknown key; expected one of production, description, esign, hrSystem, glue, plain \(a plugin's section is its name in camel case; is the plugin listed under plugins:\?\)$/
        ),
        expect.stringMatching(/relais\.config\.yaml:5:5: profiles\.p\.plain: the plugin plain takes no configuration: remove this section$/)
      ])
      const unknown = yield* Effect.flip(resolve({ files: { "relais.config.yaml": twoProfiles }, profile: "prdo" }))
      expect(unknown.message).toMatch(/no profile named "prdo" \(did you mean "prod"\?\); the profiles are preprod, prod \(asked for by --profile\)$/)
      const noFile = yield* Effect.flip(resolve({ env: { RELAIS_PROFILE: "preprod" } }))
      expect(noFile.message).toContain(`profile "preprod" was asked for (RELAIS_PROFILE) but there is no relais.config.yaml here`)
    }))

  it.effect("a secret file that is not UTF-8 is refused without showing its bytes", () =>
    Effect.gen(function*() {
      const dir = tmpDir("relais-config-")
      const file = writeFile(dir, "relais.config.yaml", "profiles:\n  p:\n    esign: { url: https://esign.example, apiKey: { file: key.txt } }\n")
      Fs.writeFileSync(Path.join(dir, "key.txt"), Buffer.from("cl\u00e9-secr\u00e8te\n", "latin1"))
      const { target } = yield* Config.resolve({ profile: Option.some("p"), configFile: Option.some(file) }).pipe(
        Effect.provide(Layer.mergeAll(NodeContext.layer, Redactor.layer, Layer.orDie(Plugin.layer(plugins)))),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))
      )
      const message = messageOf(target.plugins.get("esign"))
      expect(message).toMatch(/^.*relais\.config\.yaml:3:50: profiles\.p\.esign\.apiKey: key\.txt: this file is not UTF-8/)
      expect(message).not.toMatch(/secr|E9|E8/)
    }))
})

describe("Config.jsonSchema", () => {
  it("describes plugins, profiles and each plugin's section, with references allowed for text", () => {
    const schema = Config.jsonSchema(plugins) as any
    expect(schema.additionalProperties).toBe(false)
    expect(Object.keys(schema.properties)).toEqual(["plugins", "defaultProfile", "store", "serve", "profiles"])
    const profile = schema.properties.profiles.additionalProperties
    expect(Object.keys(profile.properties)).toEqual(["production", "description", "esign", "hrSystem", "glue"])
    expect(profile.properties.esign.description).toBe("E-signature: electronic signatures")
    expect(profile.properties.esign.required).toEqual(["url", "apiKey"])
    expect(JSON.stringify(profile.properties.esign.properties.apiKey)).toContain(`"required":["env"]`)
    // Every $ref points at a definition that exists.
    const text = JSON.stringify(schema)
    for (const [, name] of text.matchAll(/"\$ref":"#\/\$defs\/([^"]+)"/g)) expect(schema.$defs?.[name!]).toBeDefined()
  })
})
