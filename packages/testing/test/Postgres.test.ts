import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Postgres from "../src/Postgres.js"

describe("Postgres", () => {
  let server: Postgres.Server
  beforeAll(async () => {
    server = await Postgres.start()
  })
  afterAll(() => server?.stop())

  it("serves PostgreSQL 18 on 127.0.0.1, with fresh databases on demand", async () => {
    const [row] = await server.query<{ version: string; addr: string }>(
      "SELECT version() AS version, host(inet_server_addr()) AS addr"
    )
    expect(row!.version).toMatch(/^PostgreSQL 18/)
    expect(row!.addr).toBe("127.0.0.1")
    const a = await server.database()
    const b = await server.database()
    expect(a).not.toBe(b)
    const db = new URL(a).pathname.slice(1)
    await server.query("CREATE TABLE t (x int)", [], db)
    await server.query("INSERT INTO t VALUES (1)", [], db)
    expect(await server.query("SELECT x FROM t", [], db)).toEqual([{ x: 1 }])
  })
})
