/**
 * `relais token create`: a fresh API token for `relais serve`, printed once with the
 * configuration line that holds its hash (the value itself is kept nowhere).
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import * as Config from "../Config.js"
import { UsageError } from "../Errors.js"
import * as Output from "../Output.js"
import * as Auth from "../serve/Auth.js"

/**
 * The flags of `relais token create`.
 *
 * @since 0.1.0
 */
export interface CreateFlags {
  readonly name: string
  readonly scopes: string
}

/**
 * Read `read,run`: known scopes, each once, at least one.
 *
 * @since 0.1.0
 */
export const parseScopes = (text: string): ReadonlyArray<Config.TokenScope> | UsageError => {
  const scopes: Array<Config.TokenScope> = []
  for (const word of text.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
    if (!(Config.tokenScopes as ReadonlyArray<string>).includes(word)) {
      return new UsageError({ reason: `--scopes: "${word}" is not a scope; the scopes are ${Config.tokenScopes.join(", ")}` })
    }
    if (!scopes.includes(word as Config.TokenScope)) scopes.push(word as Config.TokenScope)
  }
  return scopes.length > 0 ? scopes : new UsageError({ reason: `--scopes: give at least one of ${Config.tokenScopes.join(", ")}, e.g. --scopes read,run` })
}

/**
 * The handler of `relais token create`: the token on stdout (its only appearance), then the
 * line for `serve.tokens`; how to use them on stderr.
 *
 * @since 0.1.0
 */
export const createHandler = (flags: CreateFlags) =>
  Effect.gen(function*() {
    if (!Config.TOKEN_NAME.test(flags.name)) {
      return yield* new UsageError({ reason: `--name ${JSON.stringify(flags.name)}: letters, digits, ".", "_" and "-" (at most 64), e.g. admission-portal` })
    }
    const scopes = parseScopes(flags.scopes)
    if (scopes instanceof UsageError) return yield* scopes
    const token = Auth.freshToken()
    const output = yield* Output.Output
    yield* output.writeOut(
      [
        `token: ${token}`,
        "",
        "serve:",
        "  tokens:",
        `    - { name: ${flags.name}, hash: "sha256:${Auth.hashToken(token)}", scopes: [${scopes.join(", ")}] }`,
        ""
      ].join("\n")
    )
    yield* Output.note(
      `Give the token to ${flags.name} now: it is shown this once and kept nowhere (the configuration keeps its hash). It is sent as Authorization: Bearer <token>; add the line to serve.tokens of relais.config.yaml and restart relais serve.`
    )
  })
