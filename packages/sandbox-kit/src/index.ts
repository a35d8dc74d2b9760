/**
 * Shared pieces of the relais HTTP sandboxes.
 *
 * @since 0.1.0
 */
export * as Faults from "./Faults.js"
export * as Names from "./Names.js"
export * as Prng from "./Prng.js"
export * as RequestLog from "./RequestLog.js"
export * as SandboxServer from "./SandboxServer.js"
export * as Siret from "./Siret.js"
export * as StateFile from "./StateFile.js"
