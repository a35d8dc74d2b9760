import * as NodeContext from "@effect/platform-node/NodeContext"
import { describe, expect, it } from "@effect/vitest"
import { Redactor } from "@relais/core"
import { ConfigProvider, Effect, Either, Layer, Option, Redacted } from "effect"
import * as Config from "../src/Config.js"
import { tmpDir, writeFile } from "./harness/Cli.js"

const parse = (text: string) => Config.parse(text, "relais.config.yaml", "/tmp")
const problems = (text: string) =>
  Either.match(parse(text), { onLeft: (e) => e.problems.map((p) => p.toString()), onRight: () => [] })

const valid = `defaultProfile: preprod
profiles:
  preprod:
    aimaira: { url: https://x-preprod.aimaira.net, username: api, password: { env: AIMAIRA_PASSWORD } }
    campusSkills: { url: https://app.campus-skills.com, token: { env: CAMPUS_SKILLS_TOKEN } }
  prod:
    production: true
    aimaira: { url: https://x.aimaira.net, apiKey: { file: aimaira.key } }
`

describe("Config.parse", () => {
  it("reads profiles, references and the production flag", () => {
    const config = Either.getOrThrow(parse(valid))
    expect(config.defaultProfile).toBe("preprod")
    expect([...config.profiles.keys()]).toEqual(["preprod", "prod"])
    expect(config.profiles.get("prod")!.production).toBe(true)
    expect(config.profiles.get("preprod")!.aimaira!.password).toMatchObject({ _tag: "Env", name: "AIMAIRA_PASSWORD" })
    expect(config.profiles.get("prod")!.aimaira!.apiKey).toMatchObject({ _tag: "File", path: "aimaira.key" })
    expect(config.warnings).toEqual([])
  })

  it("a production profile is never the default", () => {
    expect(problems(valid.replace("defaultProfile: preprod", "defaultProfile: prod"))).toEqual([
      `relais.config.yaml:1:17: defaultProfile: profile "prod" is marked production: true and cannot be the default; nothing runs against production unless it is named (--profile prod or RELAIS_PROFILE=prod)`
    ])
  })

  it("reports every problem, located, with suggestions", () => {
    expect(problems(`defaultProfile: preprd
profiles:
  preprod:
    aimaira: { url: http://x.aimaira.net, username: api, pasword: secret }
    campusSkill: {}
    production: yes
`)).toEqual([
      `relais.config.yaml:1:17: defaultProfile: no profile named "preprd" (did you mean "preprod"?); the profiles are preprod`,
      "relais.config.yaml:4:14: profiles.preprod.aimaira: missing password (or use apiKey)",
      "relais.config.yaml:4:21: profiles.preprod.aimaira.url: AIMAIRA requires HTTPS, got http://x.aimaira.net/; plain http is only allowed for loopback hosts (127.0.0.1, localhost, ::1)",
      `relais.config.yaml:4:58: profiles.preprod.aimaira.pasword: unknown key (did you mean "password"?); expected one of url, username, password, apiKey`,
      `relais.config.yaml:5:5: profiles.preprod.campusSkill: unknown key (did you mean "campusSkills"?); expected one of production, description, aimaira, campusSkills`,
      "relais.config.yaml:6:17: profiles.preprod.production: expected true or false"
    ])
  })

  it("YAML syntax errors are located", () => {
    expect(problems("profiles:\n  a: [\n")[0]).toMatch(/^relais\.config\.yaml:\d+:\d+: /)
  })

  it("a literal secret works, with a warning that does not show it", () => {
    const config = Either.getOrThrow(parse(`profiles:
  p:
    campusSkills: { url: https://app.campus-skills.com, token: tok-literal-123 }
`))
    expect(config.literalSecrets).toEqual(["tok-literal-123"])
    expect(config.warnings.map((w) => w.toString())).toEqual([
      "relais.config.yaml:3:64: profiles.p.campusSkills.token: a literal secret in the configuration file; prefer { env: NAME } or { file: path } and keep the file out of version control"
    ])
  })
})

const resolve = (options: { readonly profile?: string; readonly files?: Record<string, string>; readonly env?: Record<string, string> }) => {
  const dir = tmpDir("relais-config-")
  for (const [name, text] of Object.entries(options.files ?? {})) writeFile(dir, name, text)
  const redactor = Redactor.make()
  return Config.resolve({
    profile: Option.fromNullable(options.profile),
    configFile: options.files?.["relais.config.yaml"] !== undefined ? Option.some(`${dir}/relais.config.yaml`) : Option.none()
  }).pipe(
    Effect.map((resolved) => ({ ...resolved, redactor })),
    Effect.provide(Layer.merge(NodeContext.layer, Layer.succeed(Redactor.Redactor, redactor))),
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(options.env ?? {}))))
  )
}

describe("Config.resolve", () => {
  it.effect("without a profile, the environment variables; what is missing is named", () =>
    Effect.gen(function*() {
      const { target } = yield* resolve({ env: { AIMAIRA_URL: "https://x-preprod.aimaira.net", AIMAIRA_USERNAME: "api" } })
      expect(target.kind).toBe("environment")
      expect(target.production).toBe(false)
      expect(Either.getLeft(target.aimaira).pipe(Option.map((e) => e.message))).toEqual(
        Option.some(`AIMAIRA is not configured: set AIMAIRA_PASSWORD, or create relais.config.yaml with a profile (--sandbox needs neither)`)
      )
      expect(Either.getLeft(target.campusSkills).pipe(Option.map((e) => e.message))).toEqual(
        Option.some("Campus Skills is not configured: set CAMPUS_SKILLS_URL and CAMPUS_SKILLS_TOKEN, or create relais.config.yaml with a profile (--sandbox needs neither)")
      )
    }))

  it.effect("secrets read from the environment are registered with the redactor", () =>
    Effect.gen(function*() {
      const { redactor, target } = yield* resolve({
        env: {
          AIMAIRA_URL: "https://x-preprod.aimaira.net",
          AIMAIRA_USERNAME: "api",
          AIMAIRA_PASSWORD: "canary-password-1",
          CAMPUS_SKILLS_URL: "https://app.campus-skills.com",
          CAMPUS_SKILLS_TOKEN: "canary-token-2"
        }
      })
      const aimaira = Either.getOrThrow(target.aimaira)
      expect(aimaira.url).toBe("https://x-preprod.aimaira.net/GraphV1")
      expect(aimaira.auth._tag === "Basic" && Redacted.value(aimaira.auth.password)).toBe("canary-password-1")
      const basic = Buffer.from("api:canary-password-1").toString("base64")
      expect(redactor.redactText(`pw canary-password-1 tok canary-token-2 header Basic ${basic}`)).toBe(
        "pw [redacted] tok [redacted] header Basic [redacted]"
      )
    }))

  it.effect("the profile: --profile, else RELAIS_PROFILE, else defaultProfile", () =>
    Effect.gen(function*() {
      const files = { "relais.config.yaml": valid, "aimaira.key": "key-from-file-0001\n" }
      const env = { AIMAIRA_PASSWORD: "pw-0001", CAMPUS_SKILLS_TOKEN: "tok-0001" }
      const byDefault = yield* resolve({ files, env })
      expect([byDefault.target.profile, byDefault.target.chosenBy, byDefault.target.production]).toEqual(["preprod", "defaultProfile", false])
      const byEnv = yield* resolve({ files, env: { ...env, RELAIS_PROFILE: "prod" } })
      expect([byEnv.target.profile, byEnv.target.chosenBy, byEnv.target.production]).toEqual(["prod", "RELAIS_PROFILE", true])
      const prodKey = Either.getOrThrow(byEnv.target.aimaira).auth
      expect(prodKey._tag === "ApiKey" && Redacted.value(prodKey.apiKey)).toBe("key-from-file-0001")
      expect(byEnv.redactor.redactText("key-from-file-0001")).toBe("[redacted]")
      const byFlag = yield* resolve({ files, env: { ...env, RELAIS_PROFILE: "prod" }, profile: "preprod" })
      expect([byFlag.target.profile, byFlag.target.chosenBy]).toEqual(["preprod", "--profile"])
      // prod has no campusSkills section: only an error for a workflow that uses Campus Skills.
      expect(Either.getLeft(byEnv.target.campusSkills).pipe(Option.map((e) => e.message))).toEqual(
        Option.some(`Campus Skills is not configured in profile "prod" of ${byEnv.target.configFile}: add a campusSkills section (url and token)`)
      )
    }))

  it.effect("a reference to an unset variable names it, located", () =>
    Effect.gen(function*() {
      const { target } = yield* resolve({ files: { "relais.config.yaml": valid } })
      const message = Either.getLeft(target.aimaira).pipe(Option.map((e) => e.message), Option.getOrThrow)
      expect(message).toMatch(/relais\.config\.yaml:4:77: profiles\.preprod\.aimaira\.password: the environment variable AIMAIRA_PASSWORD is not set$/)
    }))

  it.effect("an unknown profile, or a profile without a file, is a configuration error", () =>
    Effect.gen(function*() {
      const unknown = yield* Effect.flip(resolve({ files: { "relais.config.yaml": valid }, profile: "prdo" }))
      expect(unknown.message).toMatch(/no profile named "prdo" \(did you mean "prod"\?\); the profiles are preprod, prod \(asked for by --profile\)$/)
      const noFile = yield* Effect.flip(resolve({ env: { RELAIS_PROFILE: "preprod" } }))
      expect(noFile.message).toContain(`profile "preprod" was asked for (RELAIS_PROFILE) but there is no relais.config.yaml here`)
    }))
})
