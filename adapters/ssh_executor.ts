// The ssh executor: the same supervisor on a registered worker, in tmux there (no Node needed on it). The job's
// folder exists on both sides; the worker's event log and output are mirrored into the local ones, events
// de-duplicated by id, so every reader treats a remote job like a local one.

import * as ChildProcess from "node:child_process"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Effect from "effect/Effect"
import { StartFailed, untrustedText } from "../core/errors.ts"
import type * as Executor from "../core/executor.ts"
import type * as Home from "../core/home.ts"
import * as Ids from "../core/ids.ts"
import type * as JobState from "../core/job_state.ts"
import * as JobStore from "../core/job_store.ts"
import * as Process from "../core/process.ts"
import * as Shell from "../core/shell.ts"
import * as Workers from "../core/workers.ts"
import { type Event, EventLog, RegularFile, WorkerEvents } from "../events/mod.ts"
import * as Helper from "./helper.ts"
import * as Proc from "./proc.ts"
import * as RemoteEvents from "./remote_events.ts"
import * as RemotePieces from "./remote_pieces.ts"
import * as Ssh from "./ssh.ts"
import * as Mux from "./ssh_mux.ts"
import * as Supervisor from "./supervisor.ts"

const q = Shell.quote

/** A path under the worker's home as a shell word on the worker (`~/x` becomes "$HOME"/'x'). */
export const remotePath = Shell.homePath

/** A registered worker (null: the default), or with the job's id a GPU job's instance (an ad-hoc worker). */
export const workerOf = (layout: Home.Layout, name: string | null, jobId?: string) => Workers.find(layout, name, jobId)

/** Runs a shell command on a connection, with optional stdin; fails on a non-zero exit. */
export const run = async (client: Mux.Connection, command: string, stdin?: string | Buffer) =>
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

/** Runs a command and returns its raw stdout bytes (failing once they pass `max`, when given). */
const bytes = async (client: Mux.Connection, command: string, max = Number.POSITIVE_INFINITY) =>
  new Promise<Buffer>((resolve, reject) => {
    client.exec(command, (err, stream) => {
      if (err !== undefined && err !== null) return reject(err)
      const chunks: Array<Buffer> = []
      let size = 0
      stream.on("data", (d: Buffer) => {
        size += d.length
        if (size <= max) chunks.push(d)
        else {
          reject(new Error(`the worker answered more than ${max} bytes`))
          stream.destroy()
        }
      })
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
    JobStore.makeDirs(Path.dirname(file))
    Fs.writeFileSync(file, id, { mode: 0o600 })
  } catch {
    // only a cache
  }
}

/**
 * A here-document feeding `text` to `command`, under a delimiter that cannot occur in it (the text is taken
 * literally: nothing in it is expanded).
 */
const hereDoc = (command: string, text: string): string => {
  let tag = `JOBS_${Crypto.randomBytes(8).toString("hex")}`
  while (text.includes(tag)) tag = `JOBS_${Crypto.randomBytes(8).toString("hex")}`
  return `${command} <<'${tag}'\n${text}${text.endsWith("\n") || text === "" ? "" : "\n"}${tag}\n`
}

/** A push shows its progress only once it has taken this long: small pushes stay silent (tests set it to 0). */
const PROGRESS_AFTER_MS = Number(process.env.JOBS_PUSH_PROGRESS_AFTER_MS ?? 500)

/**
 * Runs rsync, collecting its output; its progress lines (`--info=progress2`, redrawn with \r) go to `onProgress`
 * once the push has lasted a moment, and a null clears them at the end.
 */
const rsync = (
  args: ReadonlyArray<string>,
  options: { readonly cwd: string; readonly env: NodeJS.ProcessEnv },
  onProgress?: (text: string | null) => void
): Promise<{ status: number | null; stdout: string; stderr: string; error?: Error }> =>
  new Promise((resolve) => {
    const child = ChildProcess.spawn("rsync", args, { ...options, stdio: ["ignore", "pipe", "pipe"] })
    const began = performance.now()
    let stdout = ""
    let stderr = ""
    let shown = false
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d
      if (onProgress === undefined || performance.now() - began < PROGRESS_AFTER_MS) return
      const last = d
        .split(/[\r\n]/)
        .filter((l) => /\d+%/.test(l))
        .pop()
      const m = last === undefined ? null : /^\s*([\d,]+)\s+(\d+)%\s+(\S+)/.exec(last)
      if (m !== null) {
        shown = true
        onProgress(
          `pushing: ${m[2]}% of the files' bytes, ${formatBytes(Number(m[1]!.replaceAll(",", "")))} at ${m[3]}`
        )
      }
    })
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d))
    child.once("error", (error) => resolve({ status: null, stdout, stderr, error }))
    child.once("close", (status) => {
      if (shown) onProgress?.(null)
      resolve({ status, stdout, stderr })
    })
  })

const formatBytes = (n: number): string =>
  n >= 1 << 30
    ? `${(n / (1 << 30)).toFixed(1)} GiB`
    : n >= 1 << 20
      ? `${(n / (1 << 20)).toFixed(1)} MiB`
      : `${Math.round(n / 1024)} KiB`

/** The local bin (this package's, see helper.ts), as rsync's remote shell (`jobs __ssh WORKER`). */
export const selfCommand = (): string => `${q(process.execPath)} -- ${q(Helper.bin())} __ssh`

/** What a caller may do on the worker between the push and the launch of the job (a GPU job's bootstrap). */
export interface StartHooks {
  readonly beforeRun?: (
    client: Mux.Connection,
    where: { readonly jobDir: string; readonly workdir: string; readonly remoteHome: string }
  ) => Promise<void>
}

/** Where a job's files are on the worker, as shell words there, for the command that launches its supervisor. */
export interface RemoteJob {
  readonly script: string
  readonly jobDir: string
  readonly workdir: string
}

/** The supervisor in a session of the worker's own tmux server. */
const inTmux = (launch: Executor.Launch, where: RemoteJob, remoteHome: string): string =>
  // a stale session of the same name (a job id's short form repeats only by chance) goes first
  `tmux -S ${sessionOf(remoteHome, launch.id).socket} kill-session -t ${q(`=${sessionOf(remoteHome, launch.id).session}`)} 2>/dev/null || :; ` +
  `tmux -S ${sessionOf(remoteHome, launch.id).socket} -f /dev/null new-session -d -s ${sessionOf(remoteHome, launch.id).session} -- ` +
  // the worker login's umask (this shell's: the files above were written under 077, then it was restored)
  `/bin/sh ${where.script} "--umask=$(umask)" --tmux ${where.jobDir} ${launch.id} ` +
  `${launch.spec.timeoutSecs === null ? 0 : Math.ceil(launch.spec.timeoutSecs)} ${Math.ceil(launch.spec.graceSecs)} - --`

/**
 * Prepares the job on its worker (folders, supervisor, env, argv, the pushed cwd) and launches its supervisor with
 * the command `launcher` gives (tmux by default; sbatch for a Slurm job). Returns what that command printed.
 */
export const start = (
  launch: Executor.Launch,
  launcher: (launch: Executor.Launch, where: RemoteJob, remoteHome: string) => string = inTmux,
  hooks: StartHooks = {},
  given?: Workers.Worker
): Effect.Effect<string, StartFailed> =>
  Effect.tryPromise({
    try: async () => {
      const { layout, spec, id, paths } = launch
      const worker = given ?? workerOf(layout, spec.worker, id)
      if (worker === undefined)
        throw new Error(`no worker "${spec.worker ?? "(default)"}" (jobs worker add NAME user@host)`)
      const client = await Mux.open(layout, worker)
      try {
        const rh = worker.remoteHome
        const jobDir = remotePath(rh, "jobs", id)
        const workdir = remotePath(rh, "workdirs", id)
        const script = remotePath(rh, "bin", Supervisor.fileName)
        // one round trip prepares the worker: folders, the supervisor (when this version is not there yet), and
        // the job's env and argv files. The script goes on stdin (never the command line, which `ps` shows there):
        // the env file holds secrets. The job's environment on a worker is only what --env / --env-file named.
        const argv = `_jcwd=${workdir}\nset -- ${spec.command.map(q).join(" ")}\n`
        const startSession = launcher(launch, { script, jobDir, workdir }, rh)
        const sync = launch.sync !== false
        // with a hook to run first, the launch is a round trip of its own
        const later = sync || hooks.beforeRun !== undefined
        const prepared = await run(
          client,
          "exec /bin/sh -s",
          [
            "set -e",
            // private files; the job itself gets the worker login's umask (the launch passes it to the supervisor)
            "_jumask=$(umask)",
            "umask 077",
            `mkdir -p ${remotePath(rh, "bin")} ${jobDir} ${workdir}`,
            `[ -f ${script} ] || { ${hereDoc(`cat > ${script}.tmp.$$`, Supervisor.script)} mv ${script}.tmp.$$ ${script}; }`,
            hereDoc(`cat > ${jobDir}/env`, RegularFile.readTextOr(paths.envPath, "")),
            hereDoc(`cat > ${jobDir}/argv`, argv),
            // the output limit, which the supervisor there enforces as here (the latest output in output.tail.N)
            spec.maxLogBytes === null || spec.maxLogBytes === undefined
              ? ""
              : hereDoc(`cat > ${jobDir}/limits`, JobStore.limitsFile(spec.maxLogBytes)[1]),
            'umask "$_jumask"',
            // without a push the job starts in this same round trip
            later ? "" : startSession,
            ""
          ].join("\n")
        )
        if (sync) {
          // the local cwd, .gitignore honoured and .git included, over this same SSH stack
          // rsync's remote shell runs the path through the worker's shell, which expands a leading ~
          const target = rh.replace(/\/+$/, "")
          // files unchanged since the last push of this directory are copied there from that job's work dir
          // (copies, not hard links: a job that writes a file in place must not change the earlier job's)
          const last = lastPush(layout, worker.name, spec.cwd)
          const pushStarted = performance.now()
          const r = await rsync(
            [
              "-a",
              "--stats",
              "--info=progress2",
              "--no-inc-recursive",
              "--filter=:- .gitignore",
              ...(last === undefined ? [] : [`--copy-dest=../${last}/`]),
              "-e",
              `${selfCommand()} ${q(worker.name)}`,
              "./",
              `worker:${target}/workdirs/${id}/`
            ],
            { cwd: spec.cwd, env: { ...process.env, JOBS_HOME: layout.home } },
            launch.onProgress
          )
          if (r.error !== undefined) throw new Error(`rsync could not run: ${r.error.message} (apt-get install rsync)`)
          if (r.status !== 0)
            throw new Error(
              Workers.pipeFailureIn(r.stderr) ??
                `rsync failed: ${untrustedText(r.stderr.trim().split("\n").pop() ?? "")}`
            )
          rememberPush(layout, worker.name, spec.cwd, id)
          const stat = (label: string) =>
            Number(new RegExp(`${label}: ([\\d,]+)`).exec(r.stdout)?.[1]?.replaceAll(",", "") ?? 0)
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
        // what the launch command printed (sbatch: the Slurm job id)
        await hooks.beforeRun?.(client, { jobDir, workdir, remoteHome: rh })
        if (later) Process.testPause("pushed")
        return later ? await run(client, startSession) : prepared
      } finally {
        client.end()
      }
    },
    catch: (e) => new StartFailed({ job: launch.id, why: e instanceof Error ? e.message : String(e) })
  })

/** The events of one pass or one chunk that are read at most, so that a flood of lines is taken in steps. */
const EVENTS_PER_PASS = 8 * 1024 * 1024

/** Whose log is mirrored: its id, and the executor that decides which types its worker may write. */
const jobOf = (state: JobState.JobState) => ({
  id: state.id,
  executor: state.spec?.executor ?? "ssh",
  limit: RemotePieces.limitOf(state)
})

/** The job's Started as mirrored home (vetted, bounded), or undefined. */
const localStarted = (state: JobState.JobState | undefined, paths: Home.JobPaths) => {
  const started =
    state?.started ??
    EventLog.replaySync(paths.eventsPath).events.find(
      (e): e is Extract<Event.Event, { type: "Started" }> => e.type === "Started"
    )
  if (started === undefined || started === null) return undefined
  const numbers = [started.pid, started.startTime, started.supervisorPid, started.supervisorStartTime]
  return numbers.every((n) => Number.isSafeInteger(n) && n >= 0) ? started : undefined
}

/**
 * Shell on the worker: `_al PID START` is true while that very process (pid and start time, not a zombie) runs, and
 * `_b` is the worker's boot id. The numbers and the boot id come from the vetted local Started, never from the
 * remote log as it is.
 */
const PROBE =
  `_al() { _w=$2; _s=$(cat /proc/$1/stat 2>/dev/null) || return 1; _s=\${_s##*) }; set -- $_s; ` +
  '[ "$1" != Z ] && [ "$1" != X ] || return 1; shift 19; [ "$1" = "$_w" ]; }; ' +
  "_b=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null) || _b=unknown; "

/** Sets `$1` to alive or dead for a process of the Started on the worker (after PROBE). */
const judged = (variable: string, boot: string, pid: number, start: number) =>
  `${variable}=dead; [ "$_b" = ${q(boot)} ] && _al ${pid} ${start} && ${variable}=alive; `

/** The size of the local copy of the output: where mirroring resumes. */
const outputSize = (paths: Home.JobPaths): number => {
  try {
    return RegularFile.sizeSync(paths.logPath) ?? 0
  } catch {
    return 0
  }
}

/**
 * Writes remote output bytes at the offset they have in the remote file. Positional, not appended: two mirrors
 * that fetch the same range write the same bytes at the same place, so nothing is ever doubled or lost.
 */
const writeOutputAt = (paths: Home.JobPaths, offset: number, data: Buffer) => {
  if (data.length === 0) return
  // never through a link planted in place of the log, never into a FIFO
  const { O_WRONLY, O_CREAT, O_NOFOLLOW, O_NONBLOCK } = Fs.constants
  const fd = Fs.openSync(paths.logPath, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK, 0o600)
  try {
    if (!Fs.fstatSync(fd).isFile()) throw new Error(`"${paths.logPath}" is not a regular file`)
    let done = 0
    while (done < data.length) done += Fs.writeSync(fd, data, done, data.length - done, offset + done)
  } finally {
    Fs.closeSync(fd)
  }
}

/**
 * Brings a capped job's latest output (the worker's output.tail.N pieces) home, when the job has a limit. An answer
 * that does not add up changes nothing; the next pass asks again.
 */
const pullPieces = (
  client: Mux.Connection,
  jobDir: string,
  paths: Home.JobPaths,
  limit: number | undefined
): Promise<void> => {
  if (limit === undefined) return Promise.resolve()
  // one pull at a time per job in this process (a follow's and a mirror's): an answer is applied only where home
  // still has what the question said, so a pull overlapping another would skip pieces the other had just grown
  const next = (piecePulls.get(paths.logPath) ?? Promise.resolve()).then(async () => {
    try {
      const reply = await bytes(client, RemotePieces.command(jobDir, paths, limit), RemotePieces.maxReply(limit))
      RemotePieces.apply(paths, limit, reply)
    } catch {
      // the next pass asks again
    }
  })
  piecePulls.set(paths.logPath, next)
  void next.then(() => {
    if (piecePulls.get(paths.logPath) === next) piecePulls.delete(paths.logPath)
  })
  return next
}
const piecePulls = new Map<string, Promise<void>>()

/** How often a follower asks for a capped job's latest pieces (output.log alone stops growing past the head). */
const PIECES_EVERY_MS = 500

const workerFor = (layout: Home.Layout, state: JobState.JobState) => {
  const worker = workerOf(layout, state.spec?.worker ?? null, state.id)
  if (worker === undefined) throw new Error(`worker "${state.spec?.worker ?? "(default)"}" is not registered`)
  return worker
}

/**
 * Brings the worker's events and output home: events vetted and appended by id (each once), output from the byte
 * offset already mirrored. Says "unknown" when the worker cannot be reached, else whether the remote supervisor lives.
 */
export const mirror = (state: JobState.JobState, layout: Home.Layout, paths: Home.JobPaths) =>
  Effect.tryPromise({
    try: async (): Promise<Executor.Liveness> => {
      const worker = workerFor(layout, state)
      const client = await Mux.open(layout, worker, { timeoutMs: 5000 })
      try {
        // a second pass when the first brought the command's Started home with an end it could not judge without it
        for (let pass = 0; ; pass++) {
          const liveness = await mirrorPass(client, worker, state, paths, pass === 0 ? state : undefined)
          if (liveness !== "again" || pass > 0) return liveness === "again" ? "alive" : liveness
        }
      } finally {
        client.end()
      }
    },
    catch: () => "unknown" as const
  }).pipe(Effect.orElseSucceed(() => "unknown" as const))

/** One round trip of the mirror; "again" when an end was left for a pass that knows the command's Started. */
const mirrorPass = async (
  client: Mux.Connection,
  worker: Workers.Worker,
  state: JobState.JobState,
  paths: Home.JobPaths,
  known: JobState.JobState | undefined
): Promise<Executor.Liveness | "again"> => {
  const jobDir = remotePath(worker.remoteHome, "jobs", state.id)
  const from = RemoteEvents.offsets(paths)
  const e0 = from.at
  const o0 = outputSize(paths)
  const started = localStarted(known, paths)
  // one round trip: whether the supervisor lives (judged first, so that what it wrote before dying is in the
  // bytes read after), the sizes, whether the command lives (judged after the sizes, so that an end among the
  // bytes below them, read while it lived, is known forged), then exactly the new bytes of each file. Without
  // a Started at home nothing is judged yet.
  const reply = await bytes(
    client,
    `cd ${jobDir} 2>/dev/null || { echo gone 0 0 -; exit 0; }; ${PROBE}live=alive; cmd=-; ` +
      (started === undefined
        ? ""
        : judged("live", started.bootId, started.supervisorPid, started.supervisorStartTime)) +
      `e=$(($(wc -c < events.jsonl 2>/dev/null || echo 0))); o=$(($(wc -c < output.log 2>/dev/null || echo 0))); ` +
      (started === undefined ? "" : judged("cmd", started.bootId, started.pid, started.startTime)) +
      `[ $e -ge ${e0} ] || e=${e0}; [ $o -ge ${o0} ] || o=${o0}; n=$((e - ${e0})); ` +
      `[ $n -le ${EVENTS_PER_PASS} ] || n=${EVENTS_PER_PASS}; echo "$live $n $((o - ${o0})) $cmd"; ` +
      `tail -c +${e0 + 1} events.jsonl 2>/dev/null | head -c $n; ` +
      `tail -c +${o0 + 1} output.log 2>/dev/null | head -c $((o - ${o0}))`
  )
  const headerEnd = reply.indexOf(10)
  const header = /^(alive|dead|gone) (\d{1,15}) (\d{1,15}) (alive|dead|-)$/.exec(
    reply.subarray(0, Math.max(0, headerEnd)).toString("utf8")
  )
  // no answer, or not the bytes it announced (a connection cut mid-way): nothing is told or judged from it
  if (header === null) return "unknown"
  const [, live, eventBytes, outputBytes, command] = header
  if (live === "gone") return "dead"
  const n = Number(eventBytes)
  if (n > EVENTS_PER_PASS || headerEnd + 1 + n + Number(outputBytes) !== reply.length) return "unknown"
  const events = reply.subarray(headerEnd + 1, headerEnd + 1 + n)
  const output = reply.subarray(headerEnd + 1 + n)
  // output first: once an end is mirrored, readers take the output as complete
  writeOutputAt(paths, o0, output)
  await pullPieces(client, jobDir, paths, RemotePieces.limitOf(state))
  const appended = RemoteEvents.append(
    paths,
    jobOf(state),
    RemoteEvents.splitter(from)(events),
    { commandAlive: command === "-" ? undefined : command === "alive" },
    true
  )
  if (appended.deferredAt !== undefined) return "again"
  return live === "alive" ? "alive" : "dead"
}

/** How long a follow waits for quiet before it records what it refused (one warning for a burst of lines). */
const REFUSALS_SETTLE_MS = 1000

/**
 * One connection's worth of following: the remote output and events streamed (`tail -f`) into the local files
 * until an end is mirrored (true), or the connection drops (rejects).
 */
const followOnce = (
  client: Mux.Connection,
  jobDir: string,
  paths: Home.JobPaths,
  job: { readonly id: string; readonly executor: string; readonly limit: number | undefined }
): Promise<void> =>
  new Promise((resolve, reject) => {
    let finished = false
    const refused: RemoteEvents.Tally = {}
    let settle: ReturnType<typeof setTimeout> | undefined
    // a capped job's latest output, asked for now and then (one request at a time) until the end
    let pulling = false
    // the pull in flight: the last pull (before the end is mirrored) waits for it, so that an older answer is never
    // applied after the newest one
    let inflight: Promise<void> = Promise.resolve()
    const pieces =
      job.limit === undefined
        ? undefined
        : setInterval(() => {
            if (pulling || finished) return
            pulling = true
            inflight = pullPieces(client, jobDir, paths, job.limit)
              .catch(() => undefined)
              .finally(() => (pulling = false))
          }, PIECES_EVERY_MS)
    const flush = () => {
      clearTimeout(settle)
      RemoteEvents.record(paths, job.id, refused)
      for (const k of Object.keys(refused)) delete refused[k as keyof RemoteEvents.Tally]
    }
    const fail = (e: unknown) => {
      if (!finished) {
        finished = true
        clearInterval(pieces)
        flush()
        reject(e instanceof Error ? e : new Error(String(e)))
      }
    }
    client.once("close", () => fail(new Error("connection closed")))
    client.once("error", fail)
    let outAt = outputSize(paths)
    client.exec(`cd ${jobDir} && : >> output.log && exec tail -c +${outAt + 1} -f output.log`, (err, stream) => {
      if (err !== undefined && err !== null) return fail(err)
      stream.on("data", (d: Buffer) => {
        if (finished) return
        writeOutputAt(paths, outAt, d)
        outAt += d.length
      })
      stream.stderr.resume()
      // a follower that stops before the job's end is a lost connection, whatever closed it
      stream.on("close", () => fail(new Error("the output follower stopped")))
    })
    const from = RemoteEvents.offsets(paths)
    const split = RemoteEvents.splitter(from)
    client.exec(`cd ${jobDir} && : >> events.jsonl && exec tail -c +${from.at + 1} -f events.jsonl`, (err, stream) => {
      if (err !== undefined && err !== null) return fail(err)
      stream.stderr.resume()
      let busy = Promise.resolve()
      stream.on("close", () => void busy.then(() => fail(new Error("the events follower stopped"))))
      stream.on("data", (d: Buffer) => {
        busy = busy.then(async () => {
          if (finished) return
          const batch = split(d)
          const firstEnd = batch.lines.findIndex((l) => {
            const vetted = WorkerEvents.vetLine(l.text, job)
            return vetted._tag === "Accepted" && vetted.event.type === "Exited"
          })
          let ended = false
          if (firstEnd < 0) {
            RemoteEvents.merge(
              refused,
              RemoteEvents.append(paths, job, batch, { commandAlive: undefined }, false).tally
            )
          } else {
            // what came before the end goes home first (its Started among it), then the command is judged: it was
            // read already, so an end it finds the command alive after is forged
            const before = { lines: batch.lines.slice(0, firstEnd), consumedTo: batch.lines[firstEnd]!.start }
            RemoteEvents.merge(
              refused,
              RemoteEvents.append(paths, job, { ...before, skipping: false }, { commandAlive: undefined }, false).tally
            )
            const started = localStarted(undefined, paths)
            // the end is mirrored last: everything the job wrote comes home before readers see it ended
            const from = outAt
            const reply = await bytes(
              client,
              `${PROBE}cmd=-; ` +
                (started === undefined ? "" : judged("cmd", started.bootId, started.pid, started.startTime)) +
                `echo "$cmd"; tail -c +${from + 1} ${jobDir}/output.log`
            )
            const nl = reply.indexOf(10)
            const command = reply.subarray(0, Math.max(0, nl)).toString("utf8")
            if (command !== "alive" && command !== "dead" && command !== "-")
              throw new Error("the worker's answer could not be read")
            writeOutputAt(paths, from, reply.subarray(nl + 1))
            clearInterval(pieces)
            await inflight
            // twice: a pull of another process may have grown a piece under the first, which then skips it
            await pullPieces(client, jobDir, paths, job.limit)
            await pullPieces(client, jobDir, paths, job.limit)
            const r = RemoteEvents.append(
              paths,
              job,
              { lines: batch.lines.slice(firstEnd), consumedTo: batch.consumedTo, skipping: batch.skipping },
              { commandAlive: command === "-" ? undefined : command === "alive" },
              false
            )
            RemoteEvents.merge(refused, r.tally)
            // an end left for later: start again from where the log was handled
            if (r.deferredAt !== undefined) throw new Error("an end could not be judged yet")
            ended = r.ended
          }
          if (ended && !finished) {
            finished = true
            clearInterval(pieces)
            flush()
            resolve()
          } else if (Object.keys(refused).length > 0) {
            clearTimeout(settle)
            settle = setTimeout(flush, REFUSALS_SETTLE_MS)
          }
        }, fail)
      })
    })
  })

/**
 * Keeps the local output and events in step with the worker's until the job has ended. A dropped connection is
 * opened again and following resumes from the byte offsets the local files hold: no line lost or repeated.
 */
export const follow = (state: JobState.JobState, layout: Home.Layout, paths: Home.JobPaths): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    let cancelled = false
    let client: Mux.Connection | undefined
    const loop = async () => {
      for (let attempt = 0; !cancelled; attempt++) {
        try {
          const worker = workerFor(layout, state)
          client = await Mux.open(layout, worker, { timeoutMs: 10_000 })
          if (cancelled) break
          attempt = 0
          await followOnce(client, remotePath(worker.remoteHome, "jobs", state.id), paths, jobOf(state))
          break
        } catch {
          if (cancelled) break
          await new Promise((r) => setTimeout(r, Math.min(5000, 200 * 2 ** attempt)))
        } finally {
          client?.end()
        }
      }
    }
    loop().then(
      () => resume(Effect.void),
      () => resume(Effect.void)
    )
    return Effect.sync(() => {
      cancelled = true
      client?.end()
    })
  })

/**
 * A shell command (for the worker's sh) that succeeds while the job's process group holds a process of the job: its
 * leader (pid and start time), or a member whose environment names the job (JOBS_ID), as the supervisor checks.
 */
const groupHoldsJob = (
  started: { readonly pid: number; readonly pgid: number; readonly startTime: number },
  id: string
): string =>
  `{ o=; if s=$(cat /proc/${started.pid}/stat 2>/dev/null) && s=\${s##*) } && set -- $s && [ "$1" != Z ] && ` +
  `shift 19 && [ "$1" = ${started.startTime} ]; then o=1; else for p in /proc/[0-9]*; do ` +
  `read -r s 2>/dev/null <"$p/stat" || continue; s=\${s##*) }; set -- $s; [ "$3" = ${started.pgid} ] && ` +
  `[ "$1" != Z ] || continue; if tr '\\0' '\\n' <"$p/environ" 2>/dev/null | grep -qx ${q(`JOBS_ID=${id}`)}; ` +
  `then o=1; break; fi; done; fi; [ -n "$o" ]; }`

export const requestStop = (state: JobState.JobState, signal: string, graceSecs: number, layout?: Home.Layout) =>
  Effect.tryPromise(async () => {
    const started = state.started
    // the process group is signalled on the worker: only a real group id (never 1, which is every process)
    if (started === null || layout === undefined || !Number.isSafeInteger(started.pgid) || started.pgid < 2) return
    const worker = workerOf(layout, state.spec?.worker ?? null, state.id)
    if (worker === undefined) return
    const client = await Mux.open(layout, worker, { timeoutMs: 5000 })
    try {
      const sig = signal.replace(/^SIG/, "").replace(/[^A-Z0-9]/g, "")
      const jobDir = remotePath(worker.remoteHome, "jobs", state.id)
      // the supervisor waits in fg inside tmux: the group is signalled here, and KILLed after the grace, each time
      // only while it holds a process of this job (see groupHoldsJob): never a group number handed on since
      const ours = groupHoldsJob(started, state.id)
      await run(
        client,
        `printf '%s %s\\n' ${sig} ${Math.ceil(graceSecs)} > ${jobDir}/stop; ${ours} && kill -s ${sig} -- -${started.pgid} 2>/dev/null; ` +
          `( sleep ${Math.ceil(graceSecs)}; ${ours} && kill -s KILL -- -${started.pgid} 2>/dev/null ) >/dev/null 2>&1 </dev/null &`
      )
    } finally {
      client.end()
    }
  }).pipe(Effect.ignore)

/**
 * Shell on the worker (after PROBE) that succeeds while the job's command group holds a process of the job on the boot
 * it started on. The numbers come from the vetted local Started; undefined when there is no such Started.
 */
const orphansHeld = (state: JobState.JobState): string | undefined => {
  const started = state.started
  if (started === null) return undefined
  const numbers = [started.pid, started.pgid, started.startTime]
  // only a real group id (never 1, which is every process) is ever signalled on the worker
  if (!numbers.every((n) => Number.isSafeInteger(n) && n >= 0) || started.pgid < 2) return undefined
  return `{ [ "$_b" = ${q(started.bootId)} ] && ${groupHoldsJob(started, state.id)}; }`
}

/**
 * For a job whose remote supervisor is gone (interrupted): sends `signal` to what is left of its command on the
 * worker (its process group, while it holds a process of the job: see groupHoldsJob), then KILL once the grace is
 * over, and says whether there was anything to stop. A worker that cannot be reached has nothing stopped: false.
 */
export const stopOrphans = (
  state: JobState.JobState,
  signal: string,
  graceSecs: number,
  layout: Home.Layout
): Effect.Effect<boolean> =>
  remoteAsk(state, layout, (ours, pgid) => {
    const sig = signal.replace(/^SIG/, "").replace(/[^A-Z0-9]/g, "")
    const steps = Math.max(1, Math.ceil(graceSecs * 5))
    return (
      `if ${ours}; then kill -s ${sig} -- -${pgid} 2>/dev/null; i=0; ` +
      `while [ $i -lt ${steps} ] && ${ours}; do sleep 0.2; i=$((i + 1)); done; ` +
      `${ours} && kill -s KILL -- -${pgid} 2>/dev/null; echo yes; else echo no; fi`
    )
  }).pipe(Effect.map((answer) => answer === "yes"))

/** Whether what is left of an interrupted job's command still runs on its worker ("unknown": it cannot be reached). */
export const orphans = (state: JobState.JobState, layout: Home.Layout): Effect.Effect<Executor.Liveness> =>
  remoteAsk(state, layout, (ours) => `if ${ours}; then echo yes; else echo no; fi`).pipe(
    Effect.map((answer) => (answer === "yes" ? "alive" : answer === "no" ? "dead" : "unknown"))
  )

/** One round trip to the job's worker with a check of its command's group; "" when there is none or no answer. */
const remoteAsk = (
  state: JobState.JobState,
  layout: Home.Layout,
  script: (ours: string, pgid: number) => string
): Effect.Effect<string> => {
  const ours = orphansHeld(state)
  if (ours === undefined || state.started === null) return Effect.succeed("no")
  const pgid = state.started.pgid
  return Effect.tryPromise(async () => {
    const client = await Mux.open(layout, workerFor(layout, state), { timeoutMs: 5000 })
    try {
      return (await run(client, `${PROBE}${script(ours, pgid)}`)).trim()
    } finally {
      client.end()
    }
  }).pipe(Effect.orElseSucceed(() => ""))
}

/**
 * Whether anything may still start a job that no supervisor on the worker has taken up (no Started or Queued
 * mirrored): "dead" once its submitter can no longer start it (Proc.abandoned), no push of it runs here, and on the
 * worker its log is empty and no process was started for it (a supervisor's argv names the job's folder and id; the
 * tmux server, which keeps the argv of the session that started it, is not one). "unknown" when the worker cannot
 * be reached.
 */
export const mayStart = (state: JobState.JobState, layout: Home.Layout): Effect.Effect<Executor.Liveness> => {
  if (state.started !== null || state.queued !== null) return Effect.succeed("unknown")
  if (!Proc.abandoned(state) || Proc.mentions(`/workdirs/${state.id}/`)) return Effect.succeed("alive")
  return Effect.tryPromise(async (): Promise<Executor.Liveness> => {
    const worker = workerFor(layout, state)
    const client = await Mux.open(layout, worker, { timeoutMs: 5000 })
    try {
      const jobDir = remotePath(worker.remoteHome, "jobs", state.id)
      // the id in two halves: this very shell's argv must not match what it looks for
      const half = Math.floor(state.id.length / 2)
      const answer = await run(
        client,
        `i=${q(state.id.slice(0, half))}${q(state.id.slice(half))}; ` +
          `[ -s ${jobDir}/events.jsonl ] && { echo alive; exit 0; }; ` +
          `for p in /proc/[0-9]*; do read -r c <"$p/comm" 2>/dev/null || continue; case $c in tmux*) continue ;; esac; ` +
          `a=$(tr '\\0' ' ' <"$p/cmdline" 2>/dev/null) || continue; ` +
          `case "$a " in *"/jobs/$i $i "*) echo alive; exit 0 ;; esac; done; echo dead`
      )
      return answer.trim() === "dead" ? "dead" : "alive"
    } finally {
      client.end()
    }
  }).pipe(Effect.orElseSucceed(() => "unknown" as const))
}

/** The tmux socket and session of a job on its worker, as shell words there. */
const sessionOf = (remoteHome: string, id: string) => ({
  socket: remotePath(remoteHome, "tmux.sock"),
  session: `jobs-${Ids.shortId(id)}`
})

/**
 * Attaches this terminal to the job's tmux session on its worker, over SSH with a PTY: keys go there raw (C-b d
 * detaches), window size changes follow. Returns when the user detaches or the session ends.
 */
export const attach = (state: JobState.JobState, layout: Home.Layout): Effect.Effect<void, string> =>
  Effect.tryPromise({
    try: async () => {
      const worker = workerFor(layout, state)
      const client = await Mux.open(layout, worker)
      try {
        const { socket, session } = sessionOf(worker.remoteHome, state.id)
        const has = await Ssh.exec(client, `tmux -S ${socket} has-session -t ${q(`=${session}`)}`)
        if (has.code !== 0)
          throw new Error(`its tmux session on worker "${worker.name}" is gone (jobs logs ${Ids.shortId(state.id)})`)
        const stdin = process.stdin
        const stdout = process.stdout
        await new Promise<void>((resolve, reject) => {
          client.exec(
            `exec tmux -S ${socket} attach-session -t ${q(`=${session}`)}`,
            {
              pty: {
                term: process.env.TERM ?? "xterm-256color",
                rows: stdout.rows ?? 24,
                cols: stdout.columns ?? 80,
                width: 0,
                height: 0
              }
            },
            (err, stream) => {
              if (err !== undefined && err !== null) return reject(err)
              const raw = stdin.isTTY === true
              if (raw) stdin.setRawMode(true)
              const onResize = () => stream.setWindow(stdout.rows ?? 24, stdout.columns ?? 80, 0, 0)
              stdout.on("resize", onResize)
              stdin.pipe(stream)
              stream.on("data", (d: Buffer) => stdout.write(d))
              stream.stderr.on("data", (d: Buffer) => process.stderr.write(d))
              stream.on("close", () => {
                stdout.off("resize", onResize)
                stdin.unpipe(stream)
                if (raw) stdin.setRawMode(false)
                stdin.pause()
                resolve()
              })
            }
          )
        })
      } finally {
        client.end()
      }
    },
    catch: (e) => (e instanceof Error ? e.message : String(e))
  })

/** Deletes the job's folder and work dir on its worker, and its tmux session there. */
export const removeRemote = (state: JobState.JobState, layout: Home.Layout): Effect.Effect<void, string> =>
  Effect.tryPromise({
    try: async () => {
      const worker = workerFor(layout, state)
      const client = await Mux.open(layout, worker, { timeoutMs: 10_000 })
      try {
        const { socket, session } = sessionOf(worker.remoteHome, state.id)
        const rh = worker.remoteHome
        await run(
          client,
          `tmux -S ${socket} kill-session -t ${q(`=${session}`)} 2>/dev/null; ` +
            `rm -rf ${remotePath(rh, "jobs", state.id)} ${remotePath(rh, "workdirs", state.id)}`
        )
      } finally {
        client.end()
      }
      // a later push must not look for unchanged files in a work dir that is gone
      const cwd = state.spec?.cwd
      if (cwd !== undefined && lastPush(layout, workerFor(layout, state).name, cwd) === state.id)
        Fs.rmSync(pushFile(layout, workerFor(layout, state).name, cwd), { force: true })
    },
    catch: (e) => `worker "${state.spec?.worker ?? "(default)"}": ${e instanceof Error ? e.message : String(e)}`
  })

/** The ssh executor. Liveness and stops need the home's layout, so it is made per home. */
export const make = (layout: Home.Layout): Executor.Executor => ({
  kind: "ssh",
  start: (launch) => Effect.asVoid(start(launch)),
  liveness: (state) => mayStart(state, layout),
  requestStop: (state, signal, graceSecs) => requestStop(state, signal, graceSecs, layout),
  stopOrphans: (state, signal, graceSecs) => stopOrphans(state, signal, graceSecs, layout),
  orphans: (state) => orphans(state, layout),
  release: () => Effect.void,
  mirror: (state, paths) => mirror(state, layout, paths),
  follow: (state, paths) => follow(state, layout, paths),
  attach: (state) => attach(state, layout),
  removeRemote: (state) => removeRemote(state, layout)
})
