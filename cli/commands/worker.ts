// jobs worker add|ls|rm|default: the SSH workers jobs can run on (registry in $JOBS_HOME/workers.yaml).
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ssh from "../../adapters/ssh.ts"
import { InvalidInput, JobStateConflict, StorageError } from "../../core/errors.ts"
import * as Home from "../../core/home.ts"
import { Jobs } from "../../core/jobs.ts"
import * as Shell from "../../core/shell.ts"
import * as Workers from "../../core/workers.ts"
import { Invocation } from "../invocation.ts"
import * as Render from "../render.ts"

const layoutOf = Effect.map(Invocation, (i) => Home.layout(i.home))

const save = (layout: ReturnType<typeof Home.layout>, workers: ReadonlyArray<Workers.Worker>) =>
  Effect.try({
    try: () => Workers.write(layout, workers),
    catch: (cause) => new StorageError({ action: "write", path: `${layout.home}/workers.yaml`, cause })
  })

/** What a worker has, from one SSH round trip: the tools jobs needs there, and free disk in its home. */
const probe = (connection: string, remoteHome: string, acceptNewHostKey = false) =>
  Effect.tryPromise({
    try: async () => {
      const t0 = performance.now()
      const client = await Ssh.connect(connection, { acceptNewHostKey })
      try {
        // the one quoting of every value that enters a remote shell: the text after a quote stays text
        const home = Shell.homePath(remoteHome)
        const r = await Ssh.exec(
          client,
          `for t in sh tmux rsync; do command -v $t >/dev/null 2>&1 && echo "has $t"; done; ` +
            // the worker's home is private (0700) whatever the login's umask, as a home here is
            `(umask 077 && mkdir -p ${home}) 2>/dev/null; df -Pk ${home} 2>/dev/null | tail -n 1`
        )
        const latencyMs = Math.round(performance.now() - t0)
        const free = Number(r.stdout.trim().split("\n").pop()?.split(/\s+/)[3] ?? Number.NaN) * 1024
        return {
          reachable: true,
          latencyMs,
          sh: r.stdout.includes("has sh"),
          tmux: r.stdout.includes("has tmux"),
          rsync: r.stdout.includes("has rsync"),
          freeBytes: Number.isFinite(free) ? free : null,
          error: null as string | null
        }
      } finally {
        client.end()
      }
    },
    catch: (e) => (e instanceof Error ? e.message : String(e))
  })

const addConfig = {
  name: Args.text({ name: "NAME" }).pipe(Args.withDescription("A name for the worker")),
  connection: Args.text({ name: "CONNECTION" }).pipe(
    Args.withDescription("user@host, user@host:port, or a Host alias of ~/.ssh/config")
  ),
  acceptNewHostKey: Options.boolean("accept-new-host-key").pipe(
    Options.withDescription(
      "Record the host's key if no known_hosts file knows the host (never a changed or revoked one)"
    )
  ),
  remoteHome: Options.text("remote-home").pipe(
    Options.withDescription("The jobs home on the worker (default ~/.jobs)"),
    Options.optional
  )
}

const addHandler = Effect.fn("jobs.worker.add")(function* ({
  name,
  connection,
  acceptNewHostKey,
  remoteHome
}: {
  readonly name: string
  readonly connection: string
  readonly acceptNewHostKey: boolean
  readonly remoteHome: Option.Option<string>
}) {
  const invocation = yield* Invocation
  const layout = yield* layoutOf
  if (!Workers.isValidName(name)) {
    return yield* new InvalidInput({
      message: `Cannot add worker "${name}": a name is 1 to 64 letters, digits, ".", "_" or "-"`
    })
  }
  if (Workers.parseConnection(connection) === undefined) {
    return yield* new InvalidInput({
      message: `Cannot add worker "${name}": "${connection}" is not user@host, user@host:port or a Host alias`
    })
  }
  const workers = Workers.read(layout)
  if (workers.some((w) => w.name === name)) {
    return yield* new JobStateConflict({
      message: `Cannot add worker "${name}": there is one by that name (jobs worker rm ${name})`
    })
  }
  const home = Option.getOrElse(remoteHome, () => "~/.jobs")
  const found = yield* probe(connection, home, acceptNewHostKey).pipe(
    Effect.mapError((why) => new JobStateConflict({ message: `Cannot add worker "${name}": ${why}` }))
  )
  const missing = (["sh", "tmux", "rsync"] as const).filter((t) => !found[t])
  if (missing.length > 0) {
    return yield* new JobStateConflict({
      message: `Cannot add worker "${name}": it lacks ${missing.join(", ")} (install them there, e.g. apt-get install ${missing.join(" ")})`
    })
  }
  const worker: Workers.Worker = { name, connection, remoteHome: home, isDefault: workers.length === 0 }
  yield* save(layout, [...workers, worker])
  yield* invocation.json
    ? Render.json({ ...worker, latencyMs: found.latencyMs })
    : Render.line(`added ${name} (${connection})${worker.isDefault ? ", the default worker" : ""}`)
})

const addDescription = "Register an SSH worker (its host key is checked against ~/.ssh/known_hosts)"
const add = Command.make("add", addConfig, addHandler).pipe(Command.withDescription(addDescription))
const register = Command.make("register", addConfig, addHandler).pipe(
  Command.withDescription(`${addDescription} (= add)`)
)

const ls = Command.make(
  "ls",
  {
    check: Options.boolean("check").pipe(Options.withAlias("c"), Options.withDescription("Connect to each and report"))
  },
  Effect.fn("jobs.worker.ls")(function* ({ check }) {
    const invocation = yield* Invocation
    const workers = Workers.read(yield* layoutOf)
    const rows = []
    for (const w of workers) {
      const found = check
        ? yield* probe(w.connection, w.remoteHome).pipe(
            Effect.catchAll((error) =>
              Effect.succeed({
                reachable: false,
                latencyMs: null,
                sh: false,
                tmux: false,
                rsync: false,
                freeBytes: null,
                error
              })
            )
          )
        : undefined
      rows.push({ ...w, ...(found === undefined ? {} : { check: found }) })
    }
    if (invocation.json) return yield* Render.json(rows)
    if (rows.length === 0) return yield* Render.note("no workers (jobs worker add NAME user@host)")
    const gb = (b: number | null) => (b === null ? "-" : `${(b / 1024 ** 3).toFixed(1)}G`)
    yield* Render.out(
      Render.table(
        check
          ? ["NAME", "CONNECTION", "DEFAULT", "REACHABLE", "LATENCY", "TMUX", "RSYNC", "FREE"]
          : ["NAME", "CONNECTION", "DEFAULT", "HOME"],
        rows.map((r) =>
          r.check === undefined
            ? [r.name, r.connection, r.isDefault ? "yes" : "", r.remoteHome]
            : [
                r.name,
                r.connection,
                r.isDefault ? "yes" : "",
                r.check.reachable ? "yes" : `no: ${r.check.error}`,
                r.check.latencyMs === null ? "-" : `${r.check.latencyMs}ms`,
                r.check.tmux ? "yes" : "no",
                r.check.rsync ? "yes" : "no",
                gb(r.check.freeBytes)
              ]
        )
      )
    )
  })
).pipe(
  Command.withDescription("List workers; --check connects to each (reachability, latency, tmux, rsync, free disk)")
)

const rm = Command.make(
  "rm",
  { name: Args.text({ name: "NAME" }) },
  Effect.fn("jobs.worker.rm")(function* ({ name }) {
    const layout = yield* layoutOf
    const jobs = yield* Jobs
    const workers = Workers.read(layout)
    if (!workers.some((w) => w.name === name)) {
      return yield* new InvalidInput({ message: `Cannot remove worker "${name}": no worker has this name` })
    }
    const { jobs: running } = yield* jobs.list({ statuses: ["pending", "running", "unknown"], limit: 0 })
    const busy = running.filter((j) => j.worker === name)
    if (busy.length > 0) {
      return yield* new JobStateConflict({
        message: `Cannot remove worker "${name}": ${busy.length} of its jobs still run (${busy.map((j) => j.shortId).join(", ")})`
      })
    }
    const rest = workers.filter((w) => w.name !== name)
    const hadDefault = workers.find((w) => w.name === name)?.isDefault === true
    yield* save(
      layout,
      rest.map((w, i) => (hadDefault && i === 0 ? { ...w, isDefault: true } : w))
    )
    yield* Render.line(`removed worker ${name}`)
  })
).pipe(Command.withDescription("Unregister a worker (refused while jobs run on it)"))

const setDefault = Command.make(
  "default",
  { name: Args.text({ name: "NAME" }) },
  Effect.fn("jobs.worker.default")(function* ({ name }) {
    const layout = yield* layoutOf
    const workers = Workers.read(layout)
    if (!workers.some((w) => w.name === name)) {
      return yield* new InvalidInput({ message: `Cannot make "${name}" the default worker: no worker has this name` })
    }
    yield* save(
      layout,
      workers.map((w) => ({ ...w, isDefault: w.name === name }))
    )
    yield* Render.line(`${name} is the default worker`)
  })
).pipe(Command.withDescription("Make a worker the default one (jobs run --on without a name)"))

/** `jobs worker ...` (alias: register = add) */
export const command = Command.make("worker").pipe(
  Command.withDescription("SSH workers: machines jobs can run on"),
  Command.withSubcommands([add, register, ls, rm, setDefault])
)
