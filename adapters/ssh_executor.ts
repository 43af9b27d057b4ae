// The ssh executor: the same supervisor on a registered worker, in tmux there (no Node needed on it). The job's
// folder exists on both sides; the worker's event log and output are mirrored into the local ones, events
// de-duplicated by id, so every reader treats a remote job like a local one.

import * as ChildProcess from "node:child_process"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Effect from "effect/Effect"
import type { Client } from "ssh2"
import * as EnvFile from "../core/env_file.ts"
import { StartFailed } from "../core/errors.ts"
import type * as Executor from "../core/executor.ts"
import type * as Home from "../core/home.ts"
import * as Ids from "../core/ids.ts"
import type * as JobState from "../core/job_state.ts"
import { makeDirs } from "../core/job_store.ts"
import * as Workers from "../core/workers.ts"
import { EventLog } from "../events/mod.ts"
import * as Ssh from "./ssh.ts"
import * as Supervisor from "./supervisor.ts"

const q = EnvFile.shQuote

/** A path under the worker's home as a shell word on the worker (`~/x` becomes "$HOME"/'x'). */
export const remotePath = (remoteHome: string, ...parts: ReadonlyArray<string>): string => {
  const rest = parts.join("/")
  const full = rest === "" ? remoteHome : `${remoteHome.replace(/\/+$/, "")}/${rest}`
  return full === "~" ? '"$HOME"' : full.startsWith("~/") ? `"$HOME"/${q(full.slice(2))}` : q(full)
}

// a registered worker, or a GPU job's instance (an ad-hoc worker found through the job's log)
const workerOf = (layout: Home.Layout, name: string | null, jobId: string) => Workers.find(layout, name, jobId)

/** Connects to a worker; an ad-hoc one (a GPU instance) checks and records its host key in the job's known_hosts. */
const connectTo = (worker: Workers.Worker, timeoutMs?: number) =>
  Ssh.connect(worker.connection, {
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    ...(worker.knownHostsFile === undefined ? {} : { knownHostsFile: worker.knownHostsFile, acceptNewHostKey: true })
  })

/** Runs a shell command on a connection, with optional stdin; fails on a non-zero exit. */
const run = async (client: Client, command: string, stdin?: string | Buffer) =>
  new Promise<string>((resolve, reject) => {
    client.exec(command, (err, stream) => {
      if (err !== undefined && err !== null) return reject(err)
      let out = ""
      let errText = ""
      stream.on("data", (d: Buffer) => (out += d.toString("utf8")))
      stream.stderr.on("data", (d: Buffer) => (errText += d.toString("utf8")))
      stream.on("close", (code: number | null) =>
        code === 0 ? resolve(out) : reject(new Error(errText.trim() || `exit ${code}`))
      )
      if (stdin !== undefined) stream.end(stdin)
      else stream.end()
    })
  })

/** Runs a command and returns its raw stdout bytes. */
const bytes = async (client: Client, command: string) =>
  new Promise<Buffer>((resolve, reject) => {
    client.exec(command, (err, stream) => {
      if (err !== undefined && err !== null) return reject(err)
      const chunks: Array<Buffer> = []
      stream.on("data", (d: Buffer) => chunks.push(d))
      stream.stderr.resume()
      stream.on("close", () => resolve(Buffer.concat(chunks)))
      stream.end()
    })
  })

const pushFile = (layout: Home.Layout, worker: string, cwd: string) =>
  Path.join(layout.cache, "pushes", Crypto.createHash("sha256").update(`${worker}\0${cwd}`).digest("hex").slice(0, 24))

/** The job whose work dir last received a push of this directory to this worker (a cache: may be gone). */
const lastPush = (layout: Home.Layout, worker: string, cwd: string): string | undefined => {
  try {
    const id = Fs.readFileSync(pushFile(layout, worker, cwd), "utf8").trim()
    return Ids.isId(id) ? id : undefined
  } catch {
    return undefined
  }
}

const rememberPush = (layout: Home.Layout, worker: string, cwd: string, id: string) => {
  try {
    const file = pushFile(layout, worker, cwd)
    makeDirs(Path.dirname(file))
    Fs.writeFileSync(file, id, { mode: 0o600 })
  } catch {
    // only a cache
  }
}

/** Where the local bin is, for rsync's remote shell (`jobs __ssh WORKER`); JOBS_BIN for a library's process. */
export const selfCommand = (): string =>
  `${q(process.execPath)} -- ${q(process.env.JOBS_BIN ?? process.argv[1] ?? "jobs")} __ssh`

/** What a caller may do on the worker between the push and the start of the job (a GPU job's bootstrap). */
export interface StartHooks {
  readonly beforeRun?: (
    client: Client,
    where: { readonly jobDir: string; readonly workdir: string; readonly remoteHome: string }
  ) => Promise<void>
}

const start = (launch: Executor.Launch): Effect.Effect<void, StartFailed> => startOn(launch)

/** Starts a job on its worker (or on `given`), with hooks. */
export const startOn = (
  launch: Executor.Launch,
  given?: Workers.Worker,
  hooks: StartHooks = {}
): Effect.Effect<void, StartFailed> =>
  Effect.tryPromise({
    try: async () => {
      const { layout, spec, id, paths } = launch
      const worker = given ?? workerOf(layout, spec.worker, id)
      if (worker === undefined)
        throw new Error(`no worker "${spec.worker ?? "(default)"}" (jobs worker add NAME user@host)`)
      const client = await connectTo(worker)
      try {
        const rh = worker.remoteHome
        const jobDir = remotePath(rh, "jobs", id)
        const workdir = remotePath(rh, "workdirs", id)
        const script = remotePath(rh, "bin", Supervisor.fileName)
        await run(client, `umask 077 && mkdir -p ${remotePath(rh, "bin")} ${jobDir} ${workdir}`)
        await run(
          client,
          `[ -f ${script} ] || { cat > ${script}.tmp.$$ && mv ${script}.tmp.$$ ${script}; }`,
          Supervisor.script
        )
        // the job's environment on a worker is only what --env / --env-file named (never the local shell's)
        await run(client, `umask 077 && cat > ${jobDir}/env`, Fs.readFileSync(paths.envPath, "utf8"))
        const argv = `_jcwd=${workdir}\nset -- ${spec.command.map(q).join(" ")}\n`
        await run(client, `umask 077 && cat > ${jobDir}/argv`, argv)
        if (launch.sync !== false) {
          // the local cwd, .gitignore honoured and .git included, over this same SSH stack
          // rsync's remote shell runs the path through the worker's shell, which expands a leading ~
          const target = rh.replace(/\/+$/, "")
          // files unchanged since the last push of this directory are copied there from that job's work dir
          // (copies, not hard links: a job that writes a file in place must not change the earlier job's)
          const last = lastPush(layout, worker.name, spec.cwd)
          const pushStarted = performance.now()
          const r = ChildProcess.spawnSync(
            "rsync",
            [
              "-a",
              "--stats",
              "--filter=:- .gitignore",
              ...(last === undefined ? [] : [`--copy-dest=../${last}/`]),
              "-e",
              `${selfCommand()} ${q(worker.name)}`,
              "./",
              `worker:${target}/workdirs/${id}/`
            ],
            { cwd: spec.cwd, encoding: "utf8", env: { ...process.env, JOBS_HOME: layout.home } }
          )
          if (r.error !== undefined) throw new Error(`rsync could not run: ${r.error.message} (apt-get install rsync)`)
          if (r.status !== 0) throw new Error(`rsync failed: ${(r.stderr ?? "").trim().split("\n").pop()}`)
          rememberPush(layout, worker.name, spec.cwd, id)
          const stat = (label: string) =>
            Number(new RegExp(`${label}: ([\\d,]+)`).exec(r.stdout ?? "")?.[1]?.replaceAll(",", "") ?? 0)
          EventLog.appendSync(paths.eventsPath, [
            {
              type: "Synced",
              v: 1,
              id: `${id}.synced`,
              job: id,
              at: new Date().toISOString(),
              worker: worker.name,
              bytesSent: stat("Total bytes sent"),
              files: stat("Number of files"),
              durationMs: Math.round(performance.now() - pushStarted)
            }
          ])
        }
        await hooks.beforeRun?.(client, { jobDir, workdir, remoteHome: rh })
        await run(
          client,
          // a stale session of the same name (a job id's short form repeats only by chance) goes first
          `tmux -S ${remotePath(rh, "tmux.sock")} kill-session -t jobs-${Ids.shortId(id)} 2>/dev/null; ` +
            `tmux -S ${remotePath(rh, "tmux.sock")} -f /dev/null new-session -d -s jobs-${Ids.shortId(id)} -- ` +
            `/bin/sh ${script} --tmux ${jobDir} ${id} ${spec.timeoutSecs === null ? 0 : Math.ceil(spec.timeoutSecs)} ` +
            `${Math.ceil(spec.graceSecs)} - --`
        )
      } finally {
        client.end()
      }
    },
    catch: (e) => new StartFailed({ job: launch.id, why: e instanceof Error ? e.message : String(e) })
  })

/**
 * Brings the worker's events and output home: events appended by id (each once), output from the byte offset
 * already mirrored. Says "unknown" when the worker cannot be reached, else whether the remote supervisor lives.
 */
export const mirror = (state: JobState.JobState, layout: Home.Layout, paths: Home.JobPaths) =>
  Effect.tryPromise({
    try: async (): Promise<Executor.Liveness> => {
      const worker = workerOf(layout, state.spec?.worker ?? null, state.id)
      if (worker === undefined) return "unknown"
      const client = await connectTo(worker, 5000)
      try {
        const offsetsFile = Path.join(paths.dir, "remote-offsets")
        const [e0, o0] = (() => {
          try {
            return Fs.readFileSync(offsetsFile, "utf8").trim().split(" ").map(Number)
          } catch {
            return [0, 0]
          }
        })()
        const jobDir = remotePath(worker.remoteHome, "jobs", state.id)
        const events = await bytes(client, `tail -c +${(e0 ?? 0) + 1} ${jobDir}/events.jsonl 2>/dev/null`)
        const end = events.lastIndexOf(10)
        const seen = new Set(
          Fs.readFileSync(paths.eventsPath, "utf8")
            .split("\n")
            .map((l) => /"id":"([^"]+)"/.exec(l)?.[1])
        )
        const fresh =
          end < 0
            ? []
            : events
                .subarray(0, end)
                .toString("utf8")
                .split("\n")
                .filter((l) => {
                  const eventId = /"id":"([^"]+)"/.exec(l)?.[1]
                  return l !== "" && eventId !== undefined && !seen.has(eventId)
                })
        const output = await bytes(client, `tail -c +${(o0 ?? 0) + 1} ${jobDir}/output.log 2>/dev/null`)
        if (output.length > 0) Fs.appendFileSync(paths.logPath, output, { mode: 0o600 })
        if (fresh.length > 0) Fs.appendFileSync(paths.eventsPath, fresh.map((l) => l + "\n").join(""), { mode: 0o600 })
        Fs.writeFileSync(offsetsFile, `${(e0 ?? 0) + (end < 0 ? 0 : end + 1)} ${(o0 ?? 0) + output.length}\n`, {
          mode: 0o600
        })
        const supervisor = (() => {
          const text = Fs.readFileSync(paths.eventsPath, "utf8")
          const m = /"type":"Started".*"supervisorPid":(\d+),"supervisorStartTime":(\d+)/.exec(text)
          return m === null ? undefined : { pid: m[1]!, start: m[2]! }
        })()
        if (supervisor === undefined) return "alive"
        // the very process (pid and start time) on the worker, not a zombie
        const alive = await bytes(
          client,
          `s=$(cat /proc/${supervisor.pid}/stat 2>/dev/null) && s=\${s##*) } && set -- $s && [ "$1" != Z ] && shift 19 && [ "$1" = ${supervisor.start} ] && echo alive`
        )
        return alive.toString().includes("alive") ? "alive" : "dead"
      } finally {
        client.end()
      }
    },
    catch: () => "unknown" as const
  }).pipe(Effect.orElseSucceed(() => "unknown" as const))

export const requestStop = (state: JobState.JobState, signal: string, graceSecs: number, layout?: Home.Layout) =>
  Effect.tryPromise(async () => {
    const started = state.started
    if (started === null || layout === undefined) return
    const worker = workerOf(layout, state.spec?.worker ?? null, state.id)
    if (worker === undefined) return
    const client = await connectTo(worker, 5000)
    try {
      const sig = signal.replace(/^SIG/, "")
      const jobDir = remotePath(worker.remoteHome, "jobs", state.id)
      // the supervisor waits in fg inside tmux: the group is signalled here, and KILLed after the grace
      await run(
        client,
        `printf '%s %s\\n' ${sig} ${Math.ceil(graceSecs)} > ${jobDir}/stop; kill -s ${sig} -- -${started.pgid} 2>/dev/null; ` +
          `( sleep ${Math.ceil(graceSecs)}; kill -s KILL -- -${started.pgid} 2>/dev/null ) >/dev/null 2>&1 </dev/null &`
      )
    } finally {
      client.end()
    }
  }).pipe(Effect.ignore)

/** The ssh executor. Liveness and stops need the home's layout, so it is made per home. */
export const make = (layout: Home.Layout): Executor.Executor => ({
  kind: "ssh",
  start,
  liveness: () => Effect.succeed("unknown" as const),
  requestStop: (state, signal, graceSecs) => requestStop(state, signal, graceSecs, layout),
  stopOrphans: () => Effect.succeed(false),
  release: () => Effect.void,
  mirror: (state, paths) => mirror(state, layout, paths)
})
