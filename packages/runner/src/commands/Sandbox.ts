/**
 * `relais sandbox`: serve both simulators (AIMAIRA and Campus Skills) on loopback ports until
 * Ctrl-C, and say how to reach them. Their credentials only open these local simulators.
 *
 * @since 0.1.0
 */
import { AimairaSandbox } from "@relais/aimaira/sandbox"
import { CampusSkillsSandbox } from "@relais/campus-skills/sandbox"
import { Context, Effect, Layer, Redacted } from "effect"
import { UsageError } from "../Errors.js"
import { Output } from "../Output.js"
import * as Providers from "../Providers.js"

/**
 * The flags of `relais sandbox`.
 *
 * @since 0.1.0
 */
export interface Flags {
  readonly aimairaPort: number
  readonly campusSkillsPort: number
  readonly seed: import("effect").Option.Option<number>
  readonly fault: ReadonlyArray<string>
  readonly sandboxIntegration: import("effect").Option.Option<string>
  readonly sandboxDeletes: import("effect").Option.Option<"allowed" | "refused">
  readonly json: boolean
}

/**
 * The handler of `relais sandbox`.
 *
 * @since 0.1.0
 */
export const handler = (flags: Flags) =>
  Effect.gen(function*() {
    for (const [flag, value] of [["--aimaira-port", flags.aimairaPort], ["--campus-skills-port", flags.campusSkillsPort]] as const) {
      if (value < 0 || value > 65535) return yield* new UsageError({ reason: `${flag} ${value}: a port is between 0 and 65535` })
    }
    const faults = yield* Providers.parseFaults(flags.fault)
    const settings = yield* Providers.parseSettings(flags)
    const context = yield* Layer.build(Providers.layerSandboxes({
      aimairaPort: flags.aimairaPort,
      campusSkillsPort: flags.campusSkillsPort,
      seed: flags.seed._tag === "Some" ? flags.seed.value : undefined,
      faults,
      settings
    }))
    const aimaira = Context.get(context, AimairaSandbox.AimairaSandbox)
    const campus = Context.get(context, CampusSkillsSandbox.CampusSkillsSandbox)
    const output = yield* Output
    const username = aimaira.credentials.username
    const password = Redacted.value(aimaira.credentials.password)
    const apiKey = Redacted.value(aimaira.credentials.apiKey)
    const token = Redacted.value(campus.token)
    if (flags.json) {
      yield* output.writeOut(`${JSON.stringify({
        type: "sandbox",
        aimaira: { url: aimaira.url, apiUrl: aimaira.apiUrl, port: aimaira.port, username, password, apiKey },
        campusSkills: { url: campus.url, port: campus.port, token },
        faults,
        integration: settings.integration ?? "immediate",
        deletes: settings.deletes ?? "allowed"
      })}\n`)
    } else {
      const style = output.styleOut
      yield* output.writeOut([
        `${style.bold("AIMAIRA sandbox")}        ${aimaira.apiUrl}`,
        `  Basic auth           ${username} / ${password}`,
        `  API key (X-ApiKey)   ${apiKey}`,
        `  admin                ${aimaira.url}/__sandbox/ (faults, requests, state, reset, deletes)`,
        `  DELETE               ${settings.deletes ?? "allowed"}`,
        `${style.bold("Campus Skills sandbox")}  ${campus.url}`,
        `  Bearer token         ${token}`,
        `  admin                ${campus.url}/__sandbox/ (faults, requests, state, reset)`,
        `  integration          ${settings.integration ?? "immediate"}`,
        ...(faults.aimaira.length + faults.campusSkills.length > 0
          ? [
            "faults",
            ...faults.aimaira.map((f) => `  aimaira              ${f}`),
            ...faults.campusSkills.map((f) => `  campus-skills        ${f}`)
          ]
          : []),
        "",
        style.dim("These credentials only open the local simulators: they are not secrets."),
        style.dim("To run workflows against them from another shell (no profile):"),
        `  export AIMAIRA_URL=${aimaira.apiUrl} AIMAIRA_USERNAME=${username} AIMAIRA_PASSWORD=${password}`,
        `  export CAMPUS_SKILLS_URL=${campus.url} CAMPUS_SKILLS_TOKEN=${token}`,
        "",
        "Press Ctrl-C to stop."
      ].join("\n") + "\n")
    }
    return yield* Effect.never.pipe(Effect.onInterrupt(() => output.writeErr("sandboxes stopped\n")))
  }).pipe(Effect.scoped)
