// The options of `jobs run` for GPU jobs (kept apart from gpu_run.ts: the start-up fast path never loads
// @effect/cli).
import * as Options from "@effect/cli/Options"

/** The options of `jobs run` for GPU jobs (`--gpu` itself is shared with --slurm: it is in run.ts). */
export const options = {
  maxPrice: Options.text("max-price").pipe(
    Options.withDescription("With --gpu: at most this many dollars per GPU per hour"),
    Options.optional
  ),
  minVram: Options.text("min-vram").pipe(
    Options.withDescription("With --gpu: GB of VRAM per GPU, at least"),
    Options.optional
  ),
  cloud: Options.text("cloud").pipe(
    Options.withDescription("With --gpu: secure (default) or community"),
    Options.optional
  ),
  minCuda: Options.text("min-cuda").pipe(
    Options.withDescription("With --gpu: lowest CUDA version (12.0)"),
    Options.optional
  ),
  provider: Options.text("provider").pipe(
    Options.withDescription("With --gpu: providers to ask, in order of preference (runpod,lambda,vast)"),
    Options.optional
  ),
  volumeDisk: Options.text("volume-disk").pipe(
    Options.withDescription("With --gpu: a volume of this many GB at /workspace (HF_HOME goes there)"),
    Options.optional
  ),
  image: Options.text("image").pipe(Options.withDescription("With --gpu: the container image"), Options.optional),
  bootstrap: Options.text("bootstrap").pipe(
    Options.withDescription("With --gpu: a shell command run in the work dir before the job (repeatable, in order)"),
    Options.repeated
  ),
  download: Options.text("download").pipe(
    Options.withDescription("With --gpu: a path of the work dir copied back into the cwd at the end (repeatable)"),
    Options.repeated
  ),
  keepAlive: Options.text("keep-alive").pipe(
    Options.withDescription("With --gpu: do not terminate the instance at the end (--keep-alive=2h: not before 2h)"),
    Options.optional
  ),
  sshTimeout: Options.text("ssh-timeout").pipe(
    Options.withDescription("With --gpu: how long to wait for SSH once the instance runs (default 600s)"),
    Options.optional
  )
}
