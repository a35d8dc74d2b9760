/**
 * The proof of issue 10, with the processes a user runs: one PostgreSQL, the AIMAIRA and Campus
 * Skills sandboxes in their own process (`relais sandbox`, every call slowed down, and the
 * answers of the first creates of a convention lost after their commit), three `relais worker`
 * processes, and apprenticeship runs of `examples/convention-apprentissage.yaml` (one new learner
 * each) submitted with `relais run --detach`. Once runs are in flight, the worker that executes
 * the most of them is SIGKILLed: every run must still end `succeeded`, its runs continued on
 * another worker, and the sandboxes must hold each entity the workflow creates exactly once per
 * learner (the steps in flight on the dead worker ran again elsewhere, and their reconcile hooks
 * found what the first attempt had created).
 *
 * Also: `relais run` on a store with no worker says so (exit 4) and starts nothing; the store's
 * password (PGPASSWORD, a canary) never shows in any output nor in the store.
 *
 * Waits are on events (a worker's line, a process's exit, rows in the store polled); `LIMIT` and
 * `WAIT` only end a hang. The file takes 45 to 65 s on a shared 2-core machine under load.
 */
import { Run } from "@relais/core"
import { Postgres } from "@relais/testing"
import { type ChildProcess } from "node:child_process"
import { EventEmitter } from "node:events"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { collect, packageDir, type Result, spawnChild, stackTrace, waitForStdout } from "./harness/Cli.js"

/** Ends a hung test; the failover test normally takes well under half of it. */
const LIMIT = 400_000
/** Ends a hung wait (each wait normally takes seconds). */
const WAIT = 240_000

const example = Path.resolve(packageDir, "../../examples/convention-apprentissage.yaml")
/** Runs in flight: one new learner each. */
const RUNS = 25
/** `relais run --detach` processes started at once. */
const SUBMITTERS = 6

/** The database user of the workers and the CLI, and its password: never to be seen. */
const role = "relais_failover"
const canary = "Canary-pg-5d1e0a-never-shown"

let server: Postgres.Server
/** Every child started, killed in afterAll whatever happened. */
const children: Array<ChildProcess> = []
/** Everything every child printed, to look for the canary. */
const outputs: Array<() => string> = []
/** Wakes the waits: a line from a child, an exit. */
const changes = new EventEmitter()
changes.setMaxListeners(200)

const alive = (proc: ChildProcess) => proc.exitCode === null && proc.signalCode === null

/** Start `relais <args>`, keeping its output and waking the waits on each chunk. */
const start = (args: ReadonlyArray<string>, env: Record<string, string>) => {
  const proc = spawnChild(args, { env })
  children.push(proc)
  let stdout = ""
  let stderr = ""
  proc.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8")
    changes.emit("change")
  })
  proc.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8")
    changes.emit("change")
  })
  proc.on("close", () => changes.emit("change"))
  outputs.push(() => `${stdout}\n${stderr}`)
  return { proc, stdout: () => stdout, stderr: () => stderr }
}

/** `relais <args>` to its end. */
const relais = (args: ReadonlyArray<string>, env: Record<string, string>): Promise<Result> => {
  const child = start(args, env)
  return collect(child.proc, WAIT).then((result) => ({ ...result, stdout: child.stdout(), stderr: child.stderr() }))
}

/**
 * Resolves with the first defined value of `check`, tried at every change and every `every` ms
 * (the store changes without telling). Rejects after `WAIT`, saying what it waited for, or as
 * soon as `failIf` says why.
 */
const until = <A>(
  what: string,
  check: () => A | undefined | Promise<A | undefined>,
  options: { readonly every?: number; readonly failIf?: () => string | undefined } = {}
): Promise<A> =>
  new Promise((resolve, reject) => {
    let done = false
    let busy = false
    const finish = (f: () => void) => {
      done = true
      clearTimeout(limit)
      clearInterval(timer)
      changes.off("change", attempt)
      f()
    }
    const attempt = () => {
      if (done || busy) return
      const failure = options.failIf?.()
      if (failure !== undefined) return finish(() => reject(new Error(`while waiting for ${what}: ${failure}`)))
      busy = true
      Promise.resolve()
        .then(check)
        .then(
          (value) => {
            busy = false
            if (!done && value !== undefined) finish(() => resolve(value))
          },
          (error) => finish(() => reject(error))
        )
    }
    const limit = setTimeout(() => finish(() => reject(new Error(`gave up waiting for ${what} after ${WAIT} ms`))), WAIT)
    const timer = setInterval(attempt, options.every ?? 250)
    changes.on("change", attempt)
    attempt()
  })

/** A fresh database owned by the canary role, and the store URL without its password. */
const database = async () => {
  const url = await server.database()
  const name = new URL(url).pathname.slice(1)
  await server.query(`ALTER DATABASE "${name}" OWNER TO ${role}`)
  return { name, store: `postgres://${role}@127.0.0.1:${server.port}/${name}` }
}

/** The environment of every relais child: the password only through PGPASSWORD. */
const pgEnv = { PGPASSWORD: canary }

beforeAll(async () => {
  server = await Postgres.start()
  await server.query(`CREATE ROLE ${role} LOGIN PASSWORD '${canary}'`)
}, LIMIT)

afterAll(async () => {
  for (const proc of children) if (alive(proc)) proc.kill("SIGKILL")
  await server?.stop()
}, LIMIT)

interface RunRow {
  readonly id: string
  readonly status: string
  readonly owner: string | null
  readonly executions: number
  readonly output: Record<string, unknown> | null
  readonly failure: unknown
}

const runsOf = (db: string): Promise<ReadonlyArray<RunRow>> =>
  server.query<{ id: string; status: string; record: string }>("SELECT id, status, record FROM relais_runs ORDER BY id", [], db)
    .then((rows) =>
      rows.map((row) => {
        const record = JSON.parse(row.record) as { owner?: string; executions: number; output?: Record<string, unknown>; failure?: unknown }
        return {
          id: row.id,
          status: row.status,
          owner: record.owner ?? null,
          executions: record.executions,
          output: record.output ?? null,
          failure: record.failure
        }
      })
    )

const isFinal = (status: string) => Run.isFinal(status as Run.RunStatus)

/** Every row of every table of the store's schema, as text. */
const storeText = async (db: string) => {
  const tables = await server.query<{ name: string }>(
    "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'",
    [],
    db
  )
  const parts = await Promise.all(
    tables.map(({ name }) => server.query<{ text: string | null }>(`SELECT string_agg(t::text, E'\\n') AS text FROM "${name}" t`, [], db))
  )
  return { tables: tables.map((t) => t.name), text: parts.map((rows) => rows[0]?.text ?? "").join("\n") }
}

describe("relais run on a PostgreSQL store with no worker", () => {
  it("exits 4 naming relais worker, and starts nothing", async () => {
    const { name, store } = await database()
    const result = await relais(["run", example, "--store", store, "--input", "email=nobody@etudiant-exemple.fr"], pgEnv)
    expect(result.code).toBe(4)
    expect(result.stderr).toContain("relais worker")
    expect(result.stderr).not.toMatch(stackTrace)
    expect(`${result.stdout}${result.stderr}`).not.toContain(canary)
    const [table] = await server.query<{ t: string | null }>("SELECT to_regclass('public.relais_runs')::text AS t", [], name)
    // The client may have created the store's tables; no run in them.
    expect(table?.t == null ? [] : await runsOf(name)).toEqual([])
    expect((await storeText(name)).text).not.toContain(canary)
  })
})

// -----------------------------------------------------------------------------
// The sandboxes' state
// -----------------------------------------------------------------------------

/** A run's learner, and its master (Campus Skills holds one account per e-mail). */
interface Learner {
  readonly email: string
  readonly maitreEmail: string
  /** What the run reported (its outputs), once it has ended. */
  readonly output?: { readonly conventionId: number; readonly entrepriseId: number; readonly contrat: string } | undefined
}

type Row = Record<string, unknown> & { readonly Id: number }
interface AimairaState {
  readonly collections: Record<string, ReadonlyArray<Row>>
}
interface CampusState {
  readonly transmitted: ReadonlyArray<{ codeContrat: string; status: string; integration: string }>
}

/**
 * What is wrong with the sandboxes once the runs are done, as one line per problem: every
 * entity the workflow creates must exist exactly once per learner, and nothing else
 * may have been created (`before` is the seeded state). The workflow's creations, step by step:
 * find-or-create-learner (Mail, Apprenant), create-inscription (Inscription), enrol-parcours
 * (InscriptionPeriode, one per period, then AIMAIRA's InscriptionSequence), create-convention,
 * create-entreprise, create-professionnel twice (the master, the signatory), attach-organisme-
 * financeur (ConventionOrganismeFinanceur), create-remuneration, synchronisation-affaire (the
 * billing Clients: the company's and one per funding body), send-changes (the Campus Skills
 * contract, coded by the convention's Code).
 */
const problems = (
  learners: ReadonlyArray<Learner>,
  before: AimairaState,
  after: AimairaState,
  campus: CampusState
): ReadonlyArray<string> => {
  const found: Array<string> = []
  const seeded = (name: string) => new Set((before.collections[name] ?? []).map((row) => row.Id))
  /** The rows the runs created. */
  const created = (name: string) => (after.collections[name] ?? []).filter((row) => !seeded(name).has(row.Id))
  const exactlyOne = <A>(rows: ReadonlyArray<A>, what: string): A | undefined => {
    if (rows.length !== 1) found.push(`${rows.length} ${what}, expected 1`)
    return rows[0]
  }
  const used = new Map<string, Set<number>>()
  const use = (name: string, id: unknown) => {
    if (typeof id !== "number") return
    const ids = used.get(name) ?? new Set<number>()
    ids.add(id)
    used.set(name, ids)
  }
  const clients = created("Client")
  const natures = new Map((after.collections.NatureClient ?? []).map((n) => [n.Id, String(n.Code)]))
  for (const { email, maitreEmail, output } of learners) {
    const mail = exactlyOne(created("Mail").filter((m) => m.Adresse === email), `Mail ${email}`)
    if (mail === undefined) continue
    use("Mail", mail.Id)
    const learner = exactlyOne(created("Apprenant").filter((a) => a.MailId === mail.Id), `Apprenant of ${email}`)
    if (learner === undefined) continue
    use("Apprenant", learner.Id)
    const inscription = exactlyOne(created("Inscription").filter((i) => i.ApprenantId === learner.Id), `Inscription of ${email}`)
    if (inscription !== undefined) {
      use("Inscription", inscription.Id)
      const links = created("InscriptionPeriode").filter((l) => l.InscriptionId === inscription.Id)
      if (links.length === 0) found.push(`no InscriptionPeriode of ${email}`)
      for (const periode of new Set(links.map((l) => l.PeriodeId))) {
        exactlyOne(links.filter((l) => l.PeriodeId === periode), `InscriptionPeriode of ${email} on period ${periode}`)
      }
      for (const link of links) use("InscriptionPeriode", link.Id)
    }
    const convention = exactlyOne(created("Convention").filter((c) => c.ApprenantId === learner.Id), `Convention of ${email}`)
    if (convention === undefined) continue
    use("Convention", convention.Id)
    const reportedOwn = output === undefined ||
      (output.conventionId === convention.Id && output.entrepriseId === convention.EntrepriseId && output.contrat === convention.Code)
    if (!reportedOwn) {
      found.push(
        `the run of ${email} reported ${JSON.stringify(output)}, not its convention ${convention.Id} ` +
          `(${String(convention.Code)}, entreprise ${String(convention.EntrepriseId)})`
      )
    }
    const entreprise = exactlyOne(created("Entreprise").filter((e) => e.Id === convention.EntrepriseId), `Entreprise of ${email}'s convention`)
    if (entreprise !== undefined) {
      use("Entreprise", entreprise.Id)
      const people = created("Professionnel").filter((p) => p.EntrepriseId === entreprise.Id)
      const maitre = exactlyOne(people.filter((p) => p.Id === convention.MaitreId), `maître d'apprentissage of ${email}`)
      const maitreMail = exactlyOne(created("Mail").filter((m) => m.Adresse === maitreEmail), `Mail ${maitreEmail}`)
      if (maitre !== undefined && maitre.MailId !== maitreMail?.Id) found.push(`the master of ${email} has not the Mail ${maitreEmail}`)
      use("Mail", maitreMail?.Id)
      exactlyOne(people.filter((p) => p.Id === convention.SignataireId), `signataire of ${email}`)
      if (people.length !== 2) found.push(`${people.length} Professionnel of ${email}'s entreprise, expected 2 (the master, the signatory)`)
      for (const person of people) use("Professionnel", person.Id)
    }
    const funding = exactlyOne(
      created("ConventionOrganismeFinanceur").filter((l) => l.ConventionId === convention.Id),
      `ConventionOrganismeFinanceur of ${email}`
    )
    use("ConventionOrganismeFinanceur", funding?.Id)
    use("Remuneration", exactlyOne(created("Remuneration").filter((r) => r.ConventionId === convention.Id), `Remuneration of ${email}`)?.Id)
    const billing = clients.filter((c) => c.ReferenceId === convention.Id)
    for (const nature of ["ENTREPRISE", "OPCO"]) {
      use("Client", exactlyOne(billing.filter((c) => natures.get(c.NatureClientId as number) === nature), `${nature} billing Client of ${email}`)?.Id)
    }
    if (billing.length !== 2) found.push(`${billing.length} billing Clients of ${email}'s convention, expected 2`)
    const contracts = campus.transmitted.filter((c) => c.codeContrat === convention.Code)
    const contract = exactlyOne(contracts, `Campus Skills contract of ${email}'s convention ${String(convention.Code)}`)
    if (contract !== undefined && (contract.status !== "active" || contract.integration !== "integrated")) {
      found.push(`the contract of ${email} is ${contract.status}, ${contract.integration}`)
    }
  }
  // Nothing else: a duplicate no convention points to (an entreprise created twice) shows here.
  for (const name of [...used.keys(), "Entreprise", "Professionnel", "Remuneration", "ConventionOrganismeFinanceur", "Convention"]) {
    const extra = created(name).filter((row) => !(used.get(name)?.has(row.Id) ?? false))
    if (extra.length > 0) found.push(`${extra.length} ${name} created that no learner's run accounts for: ids ${extra.map((r) => r.Id).join(", ")}`)
  }
  if (campus.transmitted.length !== learners.length) {
    found.push(`${campus.transmitted.length} Campus Skills contracts, expected ${learners.length}`)
  }
  return [...new Set(found)]
}

// -----------------------------------------------------------------------------
// Failover
// -----------------------------------------------------------------------------

interface SandboxInfo {
  readonly plugin: string
  readonly url: string
  readonly env: Record<string, string>
}

const getJson = async <A>(url: string): Promise<A> => {
  const response = await fetch(url)
  if (!response.ok) throw new Error(`GET ${url}: ${response.status}`)
  return (await response.json()) as A
}

describe("failover", () => {
  it("a worker SIGKILLed with runs in flight: every run succeeds elsewhere, each entity exists once per learner", async () => {
    const began = Date.now()
    // The sandboxes: the answers of the first two convention creates lost after their commit
    // (first matching rule wins), and every Campus Skills call slowed down. AIMAIRA's calls are
    // held back (`gate` below) while the runs are submitted, so that they are all in flight when
    // a worker is killed however long the submissions take on a busy machine.
    const sandbox = start([
      "sandbox", "--json",
      "--fault", "aimaira:POST /GraphV1/Convention drop-after-commit x2",
      "--fault", "campus-skills:* latency:250"
    ], {})
    const [line] = await waitForStdout(sandbox.proc, /\{"type":"sandbox".*\}\n/, WAIT)
    const sandboxes = (JSON.parse(line) as { sandboxes: ReadonlyArray<SandboxInfo> }).sandboxes
    const aimaira = sandboxes.find((s) => s.plugin === "aimaira")!
    const campus = sandboxes.find((s) => s.plugin === "campus-skills")!
    const providerEnv = Object.assign({}, ...sandboxes.map((s) => s.env)) as Record<string, string>
    const before = await getJson<AimairaState>(`${aimaira.url}/__sandbox/state`)
    /** Slow every AIMAIRA call down (or no more): runs stay in flight while it is on. */
    const gate = async (on: boolean) => {
      const response = on
        ? await fetch(`${aimaira.url}/__sandbox/faults`, { method: "POST", body: "* latency:3000 #gate" })
        : await fetch(`${aimaira.url}/__sandbox/faults/gate`, { method: "DELETE" })
      if (!response.ok) throw new Error(`${on ? "adding" : "removing"} the gate: ${response.status} ${await response.text()}`)
      // Below the gate, every call still takes a little time.
      if (!on) await fetch(`${aimaira.url}/__sandbox/faults`, { method: "POST", body: "* latency:150" })
    }
    await gate(true)

    // Three workers on one database. The first one alone until it has joined: workers started
    // at once on a fresh database race to create the store's tables, and the losers exit with
    // `duplicate key value violates unique constraint "pg_type_typname_nsp_index"` (concurrent
    // CREATE TABLE IF NOT EXISTS in RunStore's migration, not serialized: a bug of core, reported).
    const { name: db, store } = await database()
    const worker = async () => {
      const address = `127.0.0.1:${await Postgres.freePort()}`
      return { address, ...start(["worker", "--store", store, "--listen", address, "--grace", "2s"], { ...providerEnv, ...pgEnv }) }
    }
    const first = await worker()
    await until("the first worker to join", () => (/ joined /.test(first.stderr()) ? true : undefined), {
      failIf: () => (alive(first.proc) ? undefined : `it exited:\n${first.stderr()}`)
    })
    const workers = [first, ...(await Promise.all([worker(), worker()]))]
    const deadWorker = () => {
      const dead = workers.find((w) => !alive(w.proc) && w.proc.signalCode !== "SIGKILL")
      return dead && `worker ${dead.address} exited:\n${dead.stderr()}`
    }
    /** The shards a worker said it holds last. */
    const held = (stderr: string) => {
      const all = [...stderr.matchAll(/shards held: (none|(\d+) of 48)/g)]
      const last = all.at(-1)
      return last === undefined ? undefined : Number(last[2] ?? 0)
    }
    // Every worker holds shards: the runs spread over the three.
    await until("the three workers to share the shards", () => {
      const counts = workers.map((w) => held(w.stderr()))
      return counts.every((n) => n !== undefined && n > 0) && counts.reduce((a, b) => a! + b!, 0) === 48 ? counts : undefined
    }, { failIf: deadWorker })
    const ready = Date.now()

    // The runs, a few submissions at a time; each prints its run id.
    const learners: ReadonlyArray<Learner> = Array.from({ length: RUNS }, (_, i) => ({
      email: `failover.${i + 1}@etudiant-exemple.fr`,
      maitreEmail: `maitre.${i + 1}@boulangerie-martin.fr`
    }))
    const submitted: Array<{ email: string; runId: string }> = []
    const queue = [...learners]
    await Promise.all(Array.from({ length: SUBMITTERS }, async () => {
      for (let learner = queue.shift(); learner !== undefined; learner = queue.shift()) {
        const { email, maitreEmail } = learner
        const n = email.split(/[.@]/)[1]
        const result = await relais([
          "run", example, "--store", store, "--detach",
          "--input", `email=${email}`, "--input", "nom=BASCULE", "--input", `prenoms=Apprenti${n}`, "--input", "civilite=MME",
          // Campus Skills holds one account per e-mail: each contract has its own master.
          "--input", `maitreEmail=${maitreEmail}`, "--input", `maitrePrenoms=Claire${n}`
        ], pgEnv)
        expect(result.stderr).not.toMatch(stackTrace)
        expect(result.code, result.stderr).toBe(0)
        submitted.push({ email, runId: result.stdout.trim() })
      }
    }))
    const allSubmitted = Date.now()
    expect(new Set(submitted.map((s) => s.runId)).size).toBe(RUNS)

    // The victim: the worker with the most runs in flight, once one has some. The runs take
    // longer than their submission (every call is slowed down), so most are still in flight.
    const victimAtKill = await until("runs in flight on a worker", async () => {
      const rows = await runsOf(db)
      const inFlight = rows.filter((r) => !isFinal(r.status)).length
      if (inFlight === 0) throw new Error(`every run finished before a worker could be killed (submitting took ${allSubmitted - ready} ms)`)
      const byOwner = new Map<string, Array<string>>()
      for (const run of rows) {
        if (run.status === "running" && run.owner !== null) byOwner.set(run.owner, [...(byOwner.get(run.owner) ?? []), run.id])
      }
      const [owner, runs] = [...byOwner.entries()].sort((a, b) => b[1].length - a[1].length)[0] ?? []
      return owner === undefined ? undefined : { owner, runs: runs!, inFlight }
    }, { failIf: deadWorker })
    expect(
      victimAtKill.inFlight,
      `at least 20 runs in flight when the worker is killed (submitting took ${allSubmitted - ready} ms for runs that take seconds)`
    ).toBeGreaterThanOrEqual(20)
    const victim = workers.find((w) => w.address === victimAtKill.owner)
    expect(victim, `the owner ${victimAtKill.owner} is one of the workers ${workers.map((w) => w.address).join(", ")}`).toBeDefined()
    const killedAt = Date.now()
    victim!.proc.kill("SIGKILL")
    await gate(false)
    const survivors = workers.filter((w) => w !== victim)

    // The first of its runs picked up again by another worker.
    const moved = new RegExp(`run (${victimAtKill.runs.join("|")}) \\([^)]*\\) picked up, execution \\d+`)
    const takenOverAt = until("a run of the killed worker picked up by another one", () => {
      const survivor = survivors.find((w) => moved.test(w.stderr()))
      return survivor && { at: Date.now(), by: survivor.address }
    }, { every: 100, failIf: deadWorker })
    takenOverAt.catch(() => undefined) // awaited below, after the runs end

    // Every run final.
    const finished = await until("every run to finish", async () => {
      const rows = await runsOf(db)
      return rows.length === RUNS && rows.every((r) => isFinal(r.status)) ? rows : undefined
    }, { every: 500, failIf: deadWorker })
    const takeover = await takenOverAt
    const done = Date.now()
    const started = await server.query<{ run_id: string; at: string; data: string }>(
      "SELECT run_id, at, data FROM relais_events WHERE type = 'RunStarted' ORDER BY seq",
      [],
      db
    )
    const restarts = started.filter((e) => (JSON.parse(e.data) as { execution: number }).execution > 1)
    const firstRestart = restarts.length === 0 ? undefined : Math.min(...restarts.map((e) => Number(e.at)))
    console.log(
      `failover: ${RUNS} runs, ${victimAtKill.inFlight} in flight at the kill (${victimAtKill.runs.length} running on ${victimAtKill.owner}); ` +
        `takeover after the SIGKILL: ${takeover.at - killedAt} ms to the first "picked up" on ${takeover.by}` +
        (firstRestart === undefined ? "" : `, ${firstRestart - killedAt} ms to its RunStarted (execution 2) in the store`) +
        `; ${restarts.length} runs restarted; workers ready ${ready - began} ms, submitted ${allSubmitted - ready} ms, ` +
        `all final ${done - killedAt} ms after the kill`
    )

    // Every run succeeded; those of the dead worker on another one.
    expect(finished.filter((r) => r.status !== "succeeded").map((r) => `${r.id}: ${r.status} ${JSON.stringify(r.failure)}`)).toEqual([])
    expect(finished.map((r) => r.id).sort()).toEqual(submitted.map((s) => s.runId).sort())
    const continued = finished.filter((r) => victimAtKill.runs.includes(r.id) && r.owner !== victim!.address)
    expect(continued.length).toBeGreaterThan(0)
    expect(continued.every((r) => r.executions >= 2)).toBe(true)

    // The reconcile hooks ran: the lost convention answers were found, not created again.
    const faults = await getJson<ReadonlyArray<{ rule: { kind: string }; applied: number }>>(`${aimaira.url}/__sandbox/faults`)
    expect(faults.find((f) => f.rule.kind === "drop-after-commit")?.applied).toBe(2)
    const reconciled = await server.query<{ data: string }>(
      "SELECT data FROM relais_events WHERE type = 'StepReconciled'",
      [],
      db
    )
    const reconciles = reconciled.map((e) => JSON.parse(e.data) as { step: string; found: boolean })
    const found = reconciles.filter((e) => e.found)
    console.log(
      `failover: reconciled (found/looked up): ${
        [...new Set(reconciles.map((e) => e.step))].map((step) =>
          `${step} ${found.filter((e) => e.step === step).length}/${reconciles.filter((e) => e.step === step).length}`
        ).join(", ")
      }`
    )
    expect(found.filter((e) => e.step === "aimaira/create-convention").length).toBeGreaterThanOrEqual(2)

    // Exactly one of each entity per learner, and nothing more.
    const after = await getJson<AimairaState>(`${aimaira.url}/__sandbox/state`)
    const campusState = await getJson<CampusState>(`${campus.url}/__sandbox/state`)
    const reported = learners.map((learner) => {
      const runId = submitted.find((s) => s.email === learner.email)!.runId
      return { ...learner, output: finished.find((r) => r.id === runId)!.output as Learner["output"] }
    })
    expect(problems(reported, before, after, campusState)).toEqual([])
    // The check fails on a duplicate: a second pay row for one convention, an orphan entreprise.
    const someConvention = after.collections.Convention!.find((c) => !before.collections.Convention!.some((b) => b.Id === c.Id))!
    const extraPay = { ...after.collections.Remuneration![0]!, Id: 1e9, ConventionId: someConvention.Id }
    const extraEntreprise = { ...after.collections.Entreprise!.at(-1)!, Id: 1e9 + 1 }
    const duplicated: AimairaState = {
      collections: {
        ...after.collections,
        Remuneration: [...after.collections.Remuneration!, extraPay],
        Entreprise: [...after.collections.Entreprise!, extraEntreprise]
      }
    }
    const caught = problems(reported, before, duplicated, campusState)
    expect(caught.some((p) => /^2 Remuneration of /.test(p))).toBe(true)
    expect(caught.some((p) => p.includes(`Entreprise created that no learner's run accounts for: ids ${1e9 + 1}`))).toBe(true)

    // The CLI reads the store, and the password never shows anywhere.
    const list = await relais(["runs", "list", "--json", "--limit", "100", "--store", store], pgEnv)
    expect(list.code, list.stderr).toBe(0)
    const listed = JSON.parse(list.stdout) as ReadonlyArray<{ id: string; status: string }>
    expect(listed.map((r) => `${r.id} ${r.status}`).sort()).toEqual(submitted.map((s) => `${s.runId} succeeded`).sort())
    const shown = await Promise.all(
      [...continued.slice(0, 2).map((r) => r.id), submitted[0]!.runId].map((id) => relais(["runs", "show", id, "--json", "--store", store], pgEnv))
    )
    for (const show of shown) {
      expect(show.code, show.stderr).toBe(0)
      expect(show.stdout).toContain("succeeded")
    }
    const everything = outputs.map((o) => o()).join("\n")
    expect(everything).toContain("picked up")
    expect(everything).not.toContain(canary)
    const { tables, text } = await storeText(db)
    expect(tables).toEqual(expect.arrayContaining(["relais_runs", "relais_events"]))
    expect(text).toContain("convention-apprentissage")
    expect(text).not.toContain(canary)

    // The survivors stop cleanly on SIGTERM.
    for (const w of survivors) w.proc.kill("SIGTERM")
    await until("the surviving workers to stop", () => (survivors.every((w) => !alive(w.proc)) ? true : undefined))
    for (const w of survivors) {
      expect(w.stderr()).toContain("stopped")
      expect(w.stderr()).not.toMatch(stackTrace)
    }
    // With every worker gone (two left the cluster, one died), a new run is refused, not queued.
    const orphan = await relais(["run", example, "--store", store, "--detach", "--input", "email=late@etudiant-exemple.fr"], pgEnv)
    expect(orphan.code, orphan.stderr).toBe(4)
    expect(orphan.stderr).toContain("relais worker")
    expect(orphan.stdout).toBe("")
    expect((await runsOf(db)).length).toBe(RUNS)
    expect(orphan.stderr + orphan.stdout).not.toContain(canary)
    sandbox.proc.kill("SIGTERM")
  }, LIMIT)
})
