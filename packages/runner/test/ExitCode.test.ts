import { describe, expect, it } from "vitest"
import { Errors } from "@relais/core"
import { Run } from "@relais/core"
import * as ExitCode from "../src/ExitCode.js"
import { ConfigError, MissingCredentials, ProviderSetupError, TargetMismatch, UsageError } from "../src/Errors.js"
import { InvalidWorkflow, WorkflowFileError } from "../src/yaml/Load.js"
import { StateFile } from "@relais/sandbox-kit"

const leftToUndo = new Run.LeftToUndo({
  path: "contrats[1]/convention",
  step: "aimaira/create-convention",
  description: "delete the convention",
  input: {},
  output: { Id: 12 },
  error: new Errors.ErrorInfo({ _tag: "Transport", message: "reset" })
})

describe("ExitCode.ofRecord", () => {
  it("maps every status", () => {
    const codes = Object.fromEntries(Run.RunStatus.literals.map((status) => [status, ExitCode.ofRecord({ status })]))
    expect(codes).toEqual({
      running: 130,
      compensating: 130,
      succeeded: 0,
      succeeded_with_failures: 5,
      failed: 1,
      compensated: 1,
      compensation_failed: 3,
      interrupted: 130,
      cancelled: 1
    })
  })

  it("a run that succeeded but left isolated items to undo is incomplete", () => {
    expect(ExitCode.ofRecord({ status: "succeeded", remaining: [leftToUndo] })).toBe(3)
    expect(ExitCode.ofRecord({ status: "compensated", remaining: [leftToUndo] })).toBe(3)
    expect(ExitCode.ofRecord({ status: "succeeded", remaining: [] })).toBe(0)
    expect(ExitCode.ofRecord({ status: "succeeded_with_failures", remaining: [leftToUndo] })).toBe(3)
  })
})

describe("ExitCode.ofError", () => {
  it("usage and workflow problems are 2, the environment 4, the rest a bug", () => {
    const cases: Array<[{ readonly _tag: string; readonly usage?: boolean }, number]> = [
      [new UsageError({ reason: "x" }), 2],
      [new InvalidWorkflow({ file: "f", diagnostics: [] }), 2],
      [new WorkflowFileError({ file: "f", reason: "missing" }), 2],
      [new Errors.WorkflowInputError({ workflow: "w", issues: [] }), 2],
      [new Errors.RunNotFound({ runId: "r" }), 2],
      [new Errors.RunEnded({ runId: "r", status: "succeeded" }), 2],
      [new Errors.UnknownStep({ name: "a/b", suggestions: [] }), 2],
      [new ConfigError({ problems: [] }), 4],
      [new MissingCredentials({ provider: "aimaira", reason: "x" }), 4],
      [new TargetMismatch({ runId: "r", started: "a", requested: "b", hint: "h" }), 4],
      [new Errors.StoreError({ operation: "lock", detail: "busy" }), 4],
      [new StateFile.StateFileError({ file: "/s/aimaira.json", operation: "write", reason: "ENOSPC", problem: "no-space" }), 4],
      [new ProviderSetupError({ provider: "AIMAIRA", source: "sandbox", reason: "port in use" }), 4],
      [new ProviderSetupError({ provider: "AIMAIRA", source: "sandbox", reason: "bad fault", usage: true }), 2],
      [{ _tag: "SomethingElse" }, 70]
    ]
    for (const [error, code] of cases) expect([error._tag, ExitCode.ofError(error)]).toEqual([error._tag, code])
  })
})
