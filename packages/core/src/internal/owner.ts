import * as Os from "node:os"

const host = Os.hostname()

/** `host:pid` of this process: who executes a run. */
export const currentOwner = (): string => `${host}:${process.pid}`

/**
 * Whether the process named by an owner string is still alive. Only processes of this host can
 * be checked; an owner on another host is assumed alive (its runner would resume the run).
 */
export const isOwnerAlive = (owner: string): boolean => {
  const at = owner.lastIndexOf(":")
  if (at < 0) return true
  const pid = Number(owner.slice(at + 1))
  if (owner.slice(0, at) !== host || !Number.isInteger(pid) || pid <= 0) return true
  if (pid === process.pid) return true
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as { code?: string }).code === "EPERM"
  }
}
