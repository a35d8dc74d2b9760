import * as Os from "node:os"

/** `host:pid` of this process: who executes a run. */
export const currentOwner = (): string => `${Os.hostname()}:${process.pid}`

/**
 * Whether the process named by an owner string is still alive. Only processes of this host can
 * be checked; an owner on another host is assumed alive (its runner would resume the run).
 */
export const isOwnerAlive = (owner: string): boolean => {
  const at = owner.lastIndexOf(":")
  if (at < 0) return true
  const host = owner.slice(0, at)
  const pid = Number(owner.slice(at + 1))
  if (host !== Os.hostname() || !Number.isInteger(pid) || pid <= 0) return true
  if (pid === process.pid) return true
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as { code?: string }).code === "EPERM"
  }
}
