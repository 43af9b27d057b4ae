// `jobs run --gpu TYPE[:N] ...`: the flags of a GPU job and the GPU part of its spec. No HTTP here (the keeper, in
// the gpu bundle, talks to the providers), and no @effect/cli (the start-up fast path loads this file; the
// options themselves are in gpu_run_options.ts).
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Duration from "../core/duration.ts"
import { InvalidInput } from "../core/errors.ts"
import * as JobState from "../core/job_state.ts"
import type { Jobs } from "../core/jobs.ts"
import * as Provider from "../core/provider.ts"
import * as Workers from "../core/workers.ts"
import type { Event } from "../events/mod.ts"
import * as Argv from "./argv.ts"
import * as GpuFlags from "./gpu_flags.ts"
import * as Render from "./render.ts"

/** What `--keep-alive` alone stands for (no duration: kept until `jobs gpu terminate` or a sweep). */
export const KEEP_FOREVER = Argv.KEEP_FOREVER

/** The image of an instance unless --image says otherwise (RunPod's; it starts sshd with PUBLIC_KEY). */
export const DEFAULT_IMAGE = "runpod/pytorch:2.4.0-py3.11-cuda12.4.1-devel-ubuntu22.04"

/** The flags, each optional (the fast path never sees them: it hands `--gpu` to the full CLI). */
export interface Flags {
  readonly gpu?: Option.Option<string>
  /** With --slurm, --gpu is sbatch's --gpus, not a rented instance. */
  readonly slurm?: boolean
  readonly maxPrice?: Option.Option<string>
  readonly minVram?: Option.Option<string>
  readonly cloud?: Option.Option<string>
  readonly minCuda?: Option.Option<string>
  readonly provider?: Option.Option<string>
  readonly volumeDisk?: Option.Option<string>
  readonly image?: Option.Option<string>
  readonly bootstrap?: ReadonlyArray<string>
  readonly download?: ReadonlyArray<string>
  readonly keepAlive?: Option.Option<string>
  readonly sshTimeout?: Option.Option<string>
}

const none = Option.none<string>()

/** Waits until a GPU job's command has started on its instance (or the job ended first), saying so on stderr. */
export const untilStarted = Effect.fn("jobs.run.gpu.untilStarted")(function* (jobs: Jobs, id: string) {
  yield* Render.note("jobs: waiting for the instance to run the job...")
  for (;;) {
    const job = yield* jobs.get(id)
    if (job.startedAt !== null || JobState.isTerminal(job.status)) return job
    yield* Effect.sleep("500 millis")
  }
})

/** Whether the flags ask for a GPU job. */
export const isGpu = (flags: Flags): boolean =>
  flags.gpu !== undefined && Option.isSome(flags.gpu) && flags.slurm !== true

/** Refuses the GPU job's flags on a job that is not one (they would be silently ignored). */
export const refuseStray = (flags: Flags) => {
  const given = (
    [
      ["--max-price", flags.maxPrice],
      ["--min-vram", flags.minVram],
      ["--cloud", flags.cloud],
      ["--min-cuda", flags.minCuda],
      ["--provider", flags.provider],
      ["--volume-disk", flags.volumeDisk],
      ["--image", flags.image],
      ["--keep-alive", flags.keepAlive],
      ["--ssh-timeout", flags.sshTimeout]
    ] as const
  )
    .filter(([, v]) => v !== undefined && Option.isSome(v))
    .map(([flag]): string => flag)
  if ((flags.bootstrap ?? []).length > 0) given.push("--bootstrap")
  if ((flags.download ?? []).length > 0) given.push("--download")
  return isGpu(flags) || given.length === 0
    ? Effect.void
    : Effect.fail(new InvalidInput({ message: `Cannot use ${given[0]} without --gpu TYPE[:N]` }))
}

/** The GPU part of the spec, and the environment a GPU job adds (HF_HOME on the volume). */
export const spec = Effect.fn("jobs.run.gpu")(function* (flags: Flags) {
  const text = Option.getOrElse(flags.gpu ?? none, () => "")
  const parsed = Provider.parseGpuFlag(text)
  if (parsed === undefined) {
    return yield* new InvalidInput({ message: `Cannot parse --gpu "${text}": use TYPE[:COUNT], such as A100:2` })
  }
  const q = yield* GpuFlags.toQuery({
    type: Option.fromNullable(parsed.type),
    count: Option.some(String(parsed.count)),
    maxPrice: flags.maxPrice ?? none,
    minVram: flags.minVram ?? none,
    cloud: flags.cloud ?? none,
    minCuda: flags.minCuda ?? none,
    provider: flags.provider ?? none,
    volumeDisk: flags.volumeDisk ?? none
  })
  for (const path of flags.download ?? []) {
    const inside = Workers.normalizePath(path)
    if (inside === undefined || inside === "") {
      return yield* new InvalidInput({ message: `Cannot download "${path}": give a path inside the job's work dir` })
    }
  }
  const keep = Option.getOrUndefined(flags.keepAlive ?? none)
  const keepAliveSecs = keep === undefined || keep === KEEP_FOREVER || keep === "" ? null : Duration.parseSeconds(keep)
  if (keepAliveSecs === undefined) {
    return yield* new InvalidInput({
      message: `Cannot parse --keep-alive "${keep}": use a duration such as 30m or 2h, or --keep-alive alone`
    })
  }
  const sshTimeout = Option.getOrUndefined(flags.sshTimeout ?? none)
  const sshTimeoutSecs = sshTimeout === undefined ? 600 : Duration.parseSeconds(sshTimeout)
  if (sshTimeoutSecs === undefined || !(sshTimeoutSecs > 0)) {
    return yield* new InvalidInput({
      message: `Cannot parse --ssh-timeout "${sshTimeout}": use a duration such as 10m`
    })
  }
  const gpu: Event.GpuSpec = {
    query: Provider.recorded(q),
    bootstrap: [...(flags.bootstrap ?? [])],
    download: [...(flags.download ?? [])],
    keepAlive: keep !== undefined,
    keepAliveSecs,
    image: Option.getOrElse(flags.image ?? none, () => DEFAULT_IMAGE),
    sshTimeoutSecs,
    providerTimeoutSecs: Number(process.env.JOBS_GPU_PROVIDER_TIMEOUT ?? 1200) || 1200
  }
  // the HF cache on the volume, where it outlives the container (a seed bug fix)
  const env: Record<string, string> = q.volumeDiskGb > 0 ? { HF_HOME: `${Provider.VOLUME_PATH}/hf` } : {}
  return { gpu, env }
})
