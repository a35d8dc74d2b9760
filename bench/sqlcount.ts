/**
 * Counts the SQL statements (and statement preparations) a profile script makes: where the
 * engine's time goes in SQLite. usage: PROFILE_SCRIPT=./profile1.ts node --conditions=@relais/source --import tsx sqlcount.ts sqlite
 */
import { createRequire } from "node:module"
// better-sqlite3 as @effect/sql-sqlite-node (a dependency of @relais/core) loads it.
const fromCore = createRequire(createRequire(import.meta.url).resolve("@relais/core"))
const Sqlite = createRequire(fromCore.resolve("@effect/sql-sqlite-node/package.json"))("better-sqlite3")
const counts = new Map<string, number>()
const prepares = new Map<string, number>()
const origPrepare = (Sqlite as any).prototype.prepare
;(Sqlite as any).prototype.prepare = function(sql: string) {
  prepares.set(sql.replace(/\s+/g, " ").slice(0, 90), (prepares.get(sql.replace(/\s+/g, " ").slice(0, 90)) ?? 0) + 1)
  const stmt = origPrepare.call(this, sql)
  const key = sql.replace(/\s+/g, " ").slice(0, 110)
  for (const m of ["run", "all", "get"]) {
    const orig = stmt[m].bind(stmt)
    stmt[m] = (...args: any[]) => { counts.set(key, (counts.get(key) ?? 0) + 1); return orig(...args) }
  }
  return stmt
}
const origPragma = (Sqlite as any).prototype.pragma
process.on("exit", () => {
  const sorted = [...counts.entries()].sort((a, b) => b[1] - a[1])
  for (const [k, v] of sorted.slice(0, 12)) console.log(String(v).padStart(6), k)
  console.log("prepares:")
  for (const [k, v] of [...prepares.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8)) console.log(String(v).padStart(6), k)
})
await import(process.env.PROFILE_SCRIPT ?? "./profile.ts")
