// GPU instances for Effect apps: RemoteJob (provision → push → bootstrap → run → stream → download → release), the
// provider clients (RunPod, Lambda, Vast) and the emulator. Kept apart from adapters/mod.ts so that the CLI's
// start-up never loads an HTTP client or ssh2 it does not use.

/** The local GPU cloud (RunPod, Lambda and Vast APIs on loopback, a real sshd per instance), for tests and demos. */
export * as Emulator from "./emulator.ts"
/** The keeper of a GPU job: provision, run, follow, download, release. */
export * as Keeper from "./keeper.ts"
/** The provider clients by name, and offers across providers. */
export * as Providers from "./providers.ts"
/**
 * One command on a remote node: an SSH host or worker, an instance we hold (`nodeId`), or one provisioned from a
 * GPU query. `run` is scoped (leaving the scope releases the instance); `start` is detached.
 *
 * @example
 * import { Effect, Stream, Console } from "effect"
 * import { layer } from "jobs"
 * import { RemoteJob } from "jobs/gpu"
 * const program = Effect.scoped(Effect.gen(function* () {
 *   const job = yield* RemoteJob.make({ provision: { type: "A100", count: 2, maxPrice: 3 },
 *     bootstrap: "uv sync --extra dev", command: "python train.py", env: { HF_TOKEN: token } })
 *   const handle = yield* job.run
 *   yield* Stream.runForEach(handle.logs, Console.log)
 *   yield* handle.download("results/", "./local_results/")
 * }))
 * Effect.runPromise(Effect.provide(program, layer(home)))
 */
export * as RemoteJob from "./remote_job.ts"
