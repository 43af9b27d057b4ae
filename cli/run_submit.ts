// What `jobs run` does once its flags are parsed, shared by the full CLI and the start-up fast path.

import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Cwd from "../core/cwd.ts"
import * as Duration from "../core/duration.ts"
import * as EnvFile from "../core/env_file.ts"
import { InvalidInput } from "../core/errors.ts"
import * as Home from "../core/home.ts"
import type * as Submit from "../core/submit.ts"
import * as Workers from "../core/workers.ts"
import * as RegularFile from "../events/regular_file.ts"
import { durationFlag } from "./_shared.ts"
import * as Argv from "./argv.ts"
import * as GpuRun from "./gpu_run.ts"
import { Invocation } from "./invocation.ts"
import * as Render from "./render.ts"

/** The flags of `jobs run` (the GPU ones, optional, in gpu_run.ts). */
export interface RunFlags extends GpuRun.Flags {
  readonly name: Option.Option<string>
  readonly cwd: Option.Option<string>
  readonly env: ReadonlyArray<string>
  readonly envFile: Option.Option<string>
  readonly timeout: Option.Option<string>
  readonly grace: Option.Option<string>
  readonly key: Option.Option<string>
  readonly progressPattern: Option.Option<string>
  readonly onDone: Option.Option<string>
  readonly each: Option.Option<string>
  readonly maxLogSize: Option.Option<string>
  readonly on: Option.Option<string>
  readonly noSync: boolean
  readonly group: Option.Option<string>
  readonly priority: Option.Option<string>
  readonly after: Option.Option<string>
  readonly afterAny: Option.Option<string>
  readonly tmux: boolean
  readonly attach: boolean
  readonly slurm: boolean
  readonly partition: Option.Option<string>
  readonly cpus: Option.Option<string>
  readonly mem: Option.Option<string>
  readonly gpu: Option.Option<string>
  readonly sbatchArg: ReadonlyArray<string>
}

/** What --slurm and its flags ask sbatch for; null without --slurm (and then none of its flags may be given). */
const slurmSpec = (flags: RunFlags) =>
  Effect.gen(function* () {
    const given = (
      [
        ["--partition", flags.partition],
        ["--cpus", flags.cpus],
        ["--mem", flags.mem],
        ["--gpu", flags.gpu]
      ] as const
    ).filter(([, v]) => Option.isSome(v))
    if (!flags.slurm) {
      // without --slurm, --gpu rents a GPU instance (gpu_run.ts): only the other sbatch flags are out of place
      given.splice(0, given.length, ...given.filter(([flag]) => flag !== "--gpu"))
      const first = given[0]?.[0] ?? (flags.sbatchArg.length > 0 ? "--sbatch-arg" : undefined)
      if (first !== undefined) return yield* new InvalidInput({ message: `Cannot use ${first} without --slurm` })
      return null
    }
    const refuse = (flag: string, why: string) =>
      new InvalidInput({ message: `Cannot use --slurm with ${flag}: ${why}` })
    if (flags.tmux) return yield* refuse("--tmux", "a Slurm job runs in its allocation, not in a tmux session")
    if (Option.isSome(flags.group)) return yield* refuse("--group", "Slurm queues the job itself (use --partition)")
    if (Option.isSome(flags.after) || Option.isSome(flags.afterAny)) {
      return yield* refuse("--after", "Slurm queues the job itself (--sbatch-arg=--dependency=afterok:ID)")
    }
    const cpus = Option.getOrNull(flags.cpus)
    if (cpus !== null && !/^[1-9]\d{0,5}$/.test(cpus)) {
      return yield* new InvalidInput({
        message: `Cannot parse --cpus "${cpus}": use a whole number of CPUs, such as 4`
      })
    }
    const mem = Option.getOrNull(flags.mem)
    if (mem !== null && !/^[1-9]\d*[KMGT]?B?$/i.test(mem)) {
      return yield* new InvalidInput({ message: `Cannot parse --mem "${mem}": use a size such as 512M or 8G` })
    }
    const gpus = Option.getOrNull(flags.gpu)
    if (gpus !== null && !/^([A-Za-z0-9_.-]+:)?[1-9]\d*$/.test(gpus)) {
      return yield* new InvalidInput({ message: `Cannot parse --gpu "${gpus}": use [TYPE:]N, such as 2 or a100:1` })
    }
    return {
      partition: Option.getOrNull(flags.partition),
      cpus: cpus === null ? null : Number(cpus),
      mem: mem === null ? null : mem.replace(/B$/i, "").toUpperCase(),
      gpus,
      sbatchArgs: [...flags.sbatchArg]
    }
  })

const buildEnv = Effect.fn("jobs.run.env")(function* (
  base: Readonly<Record<string, string | undefined>>,
  flags: ReadonlyArray<string>,
  envFile: Option.Option<string>,
  cwd: string,
  shell: Readonly<Record<string, string | undefined>> = base
) {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(base)) if (v !== undefined) env[k] = v
  if (Option.isSome(envFile)) {
    const path = Path.resolve(cwd, envFile.value)
    let text: string
    try {
      text = Fs.readFileSync(path, "utf8")
    } catch (e) {
      return yield* new InvalidInput({
        message: `Cannot read env file "${envFile.value}": ${RegularFile.reasonOf(e)}`
      })
    }
    const parsed = EnvFile.parseDotenv(text)
    if (typeof parsed === "string") {
      return yield* new InvalidInput({ message: `Cannot read env file "${envFile.value}": ${parsed}` })
    }
    Object.assign(env, parsed)
  }
  for (const flag of flags) {
    const eq = flag.indexOf("=")
    const name = eq < 0 ? flag : flag.slice(0, eq)
    if (!EnvFile.isValidName(name)) {
      return yield* new InvalidInput({ message: `Cannot set env "${flag}": "${name}" is not a variable name` })
    }
    if (eq >= 0) env[name] = flag.slice(eq + 1)
    else {
      const value = shell[name]
      if (value === undefined) {
        return yield* new InvalidInput({ message: `Cannot pass env "${name}": it is not set in this shell` })
      }
      env[name] = value
    }
  }
  return env
})

/** A path after its symlinks (the cwd is compared as Cwd.resolve settled it), or as it is when it cannot be read. */
const realPath = (path: string): string => {
  try {
    return Fs.realpathSync(path)
  } catch {
    return Path.resolve(path)
  }
}

/** The shell commands of a `--each` file (or `-` for stdin): one per line; blank lines and `#` comments skipped. */
const eachLines = (each: string, cwd: string) =>
  Effect.try({
    try: () => (each === "-" ? Fs.readFileSync(0, "utf8") : Fs.readFileSync(Path.resolve(cwd, each), "utf8")),
    catch: (e) => new InvalidInput({ message: `Cannot read --each "${each}": ${RegularFile.reasonOf(e)}` })
  }).pipe(Effect.map((text) => text.split(/\r?\n/).filter((l) => l.trim() !== "" && !l.trimStart().startsWith("#"))))

/**
 * The worker a job runs on, recorded by name in its spec: `--on` alone means the default worker of now (a later
 * change of the default must not move the job's mirror elsewhere).
 */
const workerName = (home: string, flag: string) =>
  Effect.gen(function* () {
    const workers = Workers.read(Home.layout(home))
    const byDefault = flag === "" || flag === Argv.DEFAULT_WORKER
    const worker = byDefault ? workers.find((w) => w.isDefault) : workers.find((w) => w.name === flag)
    if (worker === undefined) {
      return yield* new InvalidInput({
        message: byDefault
          ? "Cannot run on a worker: none is registered (jobs worker add NAME user@host)"
          : `Cannot run on worker "${flag}": no worker has this name (jobs worker ls)`
      })
    }
    return worker.name
  })

/** Submits (with `submitJob`, the Jobs service's or the fast path's) the job of an invocation of `jobs run` and prints its short id (or, with --json, the job object). */
export const submit = Effect.fn("jobs.run")(function* (
  flags: RunFlags,
  submitJob: ReturnType<typeof Submit.make>["submit"],
  submitMany: ReturnType<typeof Submit.make>["submitMany"]
) {
  const invocation = yield* Invocation
  if (flags.attach && !flags.tmux && Option.isNone(flags.on) && !GpuRun.isGpu(flags)) {
    return yield* new InvalidInput({
      message: "Cannot attach to a job without a terminal: --attach needs --tmux, --on WORKER or --gpu"
    })
  }
  if (flags.attach && process.stdin.isTTY !== true) {
    return yield* new InvalidInput({
      message: "Cannot attach to the job: this is not a terminal (run it without --attach; jobs logs -f ID follows it)"
    })
  }
  const timeoutSecs = yield* durationFlag("timeout", flags.timeout)
  const priority = Option.isNone(flags.priority) ? undefined : Number(flags.priority.value)
  if (priority !== undefined && !Number.isInteger(priority)) {
    return yield* new InvalidInput({
      message: `Cannot parse --priority "${Option.getOrThrow(flags.priority)}": use a whole number`
    })
  }
  if (priority !== undefined && Option.isNone(flags.group)) {
    return yield* new InvalidInput({
      message: "Cannot use --priority without --group: it orders the jobs waiting in a queue group"
    })
  }
  if (Option.isSome(flags.after) && Option.isSome(flags.afterAny)) {
    return yield* new InvalidInput({ message: "Cannot wait for jobs both ways: use --after or --after-any, not both" })
  }
  const afterList = Option.orElse(flags.after, () => flags.afterAny).pipe(
    Option.map((text) =>
      text
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s !== "")
    )
  )
  const graceSecs = yield* durationFlag("grace", flags.grace)
  const maxLogBytes = Option.isNone(flags.maxLogSize) ? undefined : Duration.parseBytes(flags.maxLogSize.value)
  if (Option.isSome(flags.maxLogSize) && (maxLogBytes === undefined || maxLogBytes < 1)) {
    return yield* new InvalidInput({
      message: `Cannot parse --max-log-size "${flags.maxLogSize.value}": use a size such as 512K, 100M or 2G`
    })
  }
  // settled here (core's one resolution), before the push guard below looks at it
  const cwd = yield* Cwd.resolve(
    Option.getOrElse(flags.cwd, () => "."),
    invocation.cwd
  )
  // a job on a worker gets only what --env / --env-file name, never this shell's environment (DESIGN §4a)
  yield* GpuRun.refuseStray(flags)
  const gpu = GpuRun.isGpu(flags) ? yield* GpuRun.spec(flags) : undefined
  const remote = Option.isSome(flags.on) || gpu !== undefined
  const slurm = yield* slurmSpec(flags)
  const env = yield* buildEnv(
    remote ? (gpu?.env ?? {}) : invocation.env,
    flags.env,
    flags.envFile,
    invocation.cwd,
    invocation.env
  )
  if (remote && flags.tmux) {
    return yield* new InvalidInput({
      message: `Cannot use --tmux with ${gpu === undefined ? "--on" : "--gpu"}: a remote job always runs in tmux there`
    })
  }
  if (gpu !== undefined && Option.isSome(flags.on)) {
    return yield* new InvalidInput({
      message: "Cannot run on a worker and a GPU instance: use --on or --gpu, not both"
    })
  }
  if (gpu !== undefined && Option.isSome(flags.each)) {
    return yield* new InvalidInput({
      message: "Cannot use --each with --gpu: a GPU job is one command on one instance"
    })
  }
  const input = {
    command: invocation.command,
    cwd,
    env,
    name: Option.getOrNull(flags.name),
    timeoutSecs,
    graceSecs,
    key: Option.getOrNull(flags.key),
    executor: gpu !== undefined ? "gpu" : slurm !== null ? "slurm" : remote ? "ssh" : flags.tmux ? "tmux" : "local",
    ...(slurm === null ? {} : { slurm }),
    ...(gpu !== undefined
      ? { worker: Workers.GPU, gpu: gpu.gpu }
      : remote
        ? { worker: yield* workerName(invocation.home, Option.getOrThrow(flags.on)) }
        : {}),
    ...(flags.noSync ? { sync: false } : {}),
    // a long push shows how it goes, on a terminal (one line, redrawn, cleared at the end)
    ...(remote && process.stderr.isTTY === true
      ? {
          onProgress: (text: string | null) =>
            process.stderr.write(
              text === null ? "\r\x1b[K" : `\r\x1b[K${text.slice(0, (process.stderr.columns ?? 80) - 1)}`
            )
        }
      : {}),
    progressPattern: Option.getOrNull(flags.progressPattern),
    group: Option.getOrNull(flags.group),
    onDone: Option.getOrNull(flags.onDone),
    ...(maxLogBytes === undefined ? {} : { maxLogBytes }),
    ...(priority === undefined ? {} : { priority }),
    after: Option.isSome(afterList) ? { jobs: afterList.value, any: Option.isSome(flags.afterAny) } : null
  }
  // a push copies the whole cwd: from / , the home dir or the temp dir that is almost never meant (and the temp dir
  // may hold the very folder the push lands in)
  if (remote && !flags.noSync) {
    const tooBroad = [
      ["/", "the root folder"],
      [Os.homedir(), "your home folder"],
      [Os.tmpdir(), "the temp folder"]
    ].find(([dir]) => dir !== undefined && realPath(dir) === cwd)
    if (tooBroad !== undefined) {
      return yield* new InvalidInput({
        message: `Cannot push ${cwd} (${tooBroad[1]}) to the ${gpu === undefined ? "worker" : "instance"}: cd into a project folder, or pass -n to push nothing`
      })
    }
  }
  if (Option.isSome(flags.each)) {
    if (invocation.command.length > 0) {
      return yield* new InvalidInput({ message: "Cannot run a command and --each at once: give one or the other" })
    }
    if (flags.attach) return yield* new InvalidInput({ message: "Cannot attach to a batch: --attach runs one job" })
    const lines = yield* eachLines(flags.each.value, invocation.cwd)
    const batch = yield* submitMany(
      lines.map((line, i) => ({
        ...input,
        command: ["sh", "-c", line],
        name: input.name === null ? null : `${input.name}-${i + 1}`
      }))
    )
    if (invocation.json) yield* Render.json(batch.map(({ job }) => ({ ...job, existing: false })))
    else yield* Render.out(batch.map(({ job }) => `${job.shortId}\n`).join(""))
    return undefined
  }
  // a remote start pushes the cwd and connects first: seconds, said on a terminal
  const where = input.executor === "ssh" ? "pushing the cwd to the worker and starting" : undefined
  const { job, existing } = yield* where === undefined ? submitJob(input) : Render.spinning(where, submitJob(input))
  if (existing) {
    yield* Render.note(`jobs: key "${job.key}" already names job ${job.shortId} (${job.status}); not started again`)
  }
  if (invocation.json) yield* Render.json({ ...job, existing })
  else yield* Render.line(job.shortId)
  return job
})
