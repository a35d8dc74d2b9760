/**
 * `relais config`: which configuration file and profile a run would use, where each value comes
 * from (never the secrets themselves), and what is missing. Exit 0 when both providers are
 * configured, 4 otherwise.
 *
 * @since 0.1.0
 */
import { Effect, Either } from "effect"
import * as Config from "../Config.js"
import * as ExitCode from "../ExitCode.js"
import * as Output from "../Output.js"
import * as Common from "./Common.js"

const providerJson = (
  settings: Either.Either<Config.AimairaSettings | Config.CampusSkillsSettings, Config.NotConfigured>
) =>
  Either.match(settings, {
    onLeft: (error) => ({ configured: false, error: error.message }),
    onRight: (s) => ({
      configured: true,
      url: s.url,
      ...("auth" in s ? { auth: s.auth._tag, ...(s.auth._tag === "Basic" ? { username: s.auth.username } : {}) } : {}),
      sources: s.sources
    })
  })

/**
 * The handler of `relais config`.
 *
 * @since 0.1.0
 */
export const handler = (flags: {
  readonly profile: import("effect").Option.Option<string>
  readonly config: import("effect").Option.Option<string>
  readonly json: boolean
}) =>
  Effect.gen(function*() {
    const { target, warnings } = yield* Config.resolve({ profile: flags.profile, configFile: flags.config })
    for (const warning of warnings) yield* Output.warn(warning.toString())
    const complete = Either.isRight(target.aimaira) && Either.isRight(target.campusSkills)
    if (flags.json) {
      yield* Output.out(JSON.stringify({
        type: "config",
        configFile: target.configFile ?? null,
        profile: target.profile ?? null,
        chosenBy: target.chosenBy ?? null,
        production: target.production,
        aimaira: providerJson(target.aimaira),
        campusSkills: providerJson(target.campusSkills)
      }))
    } else {
      const output = yield* Output.Output
      const style = output.styleOut
      const describe = (
        label: string,
        settings: Either.Either<Config.AimairaSettings | Config.CampusSkillsSettings, Config.NotConfigured>
      ): Array<string> =>
        Either.match(settings, {
          onLeft: (error): Array<string> => [`${label.padEnd(14)}${style.red("not configured")}`, ...error.message.split("\n").map((l) => `  ${l}`)],
          onRight: (s): Array<string> => [
            `${label.padEnd(14)}${s.url}`,
            ..."auth" in s
              ? [`  auth        ${s.auth._tag === "Basic" ? `Basic, user ${s.auth.username}` : "API key (X-ApiKey)"}`]
              : [],
            ...Object.entries(s.sources).map(([key, source]) => `  ${key.padEnd(12)}${key === "url" ? "" : "set, "}from ${source}`)
          ]
        })
      yield* Output.out(
        [
          `configuration ${target.configFile ?? `(none: no ${Config.defaultFileName} here)`}`,
          `target        ${
            target.kind === "profile" ? `profile ${target.profile} (chosen by ${target.chosenBy})` : "environment variables (no profile chosen)"
          }`,
          `production    ${target.production ? style.red("YES") : "no"}`,
          ...describe("AIMAIRA", target.aimaira),
          ...describe("Campus Skills", target.campusSkills)
        ].join("\n")
      )
    }
    yield* ExitCode.set(complete ? ExitCode.succeeded : ExitCode.environment)
  }).pipe(Common.jsonErrors(flags.json))
