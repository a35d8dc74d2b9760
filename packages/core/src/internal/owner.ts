import { globalValue } from "effect/GlobalValue"
import * as Crypto from "node:crypto"
import * as Os from "node:os"

/**
 * Who executes a run: `host:pid:nonce`. The nonce tells apart two processes with the same host
 * name and pid (containers sharing a volume, a pid reused after a crash); liveness never comes
 * from this string, only from the store lock (see `processLock.ts`).
 */
const owner = globalValue(
  Symbol.for("@relais/core/internal/owner"),
  () => `${Os.hostname()}:${process.pid}:${Crypto.randomBytes(4).toString("hex")}`
)

/** The owner string of this process. */
export const currentOwner = (): string => owner

/** An owner string for a person: `process 1234 on host`. */
export const describeOwner = (owner: string): string => {
  const parts = owner.split(":")
  // host:pid:nonce (hosts have no colon; older stores wrote host:pid).
  if (parts.length >= 2 && /^\d+$/.test(parts[1]!)) return `process ${parts[1]} on ${parts[0]}`
  return owner
}
