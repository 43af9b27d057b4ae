// The `jobs/gpu/emulator` entry: the local GPU cloud (the RunPod, Lambda and Vast APIs on loopback, a real sshd per
// instance) for tests and demos. Apart from `jobs/gpu` so that an app's production graph never loads it.

/**
 * Starts the emulator, and the environment that points the provider clients at it.
 *
 * @example
 * import { Emulator } from "jobs/gpu/emulator"
 * const emulator = await Emulator.start()
 * Object.assign(process.env, Emulator.environment(emulator))
 * // ... RemoteJob.make({ provision: { type: "A100" }, ... }) now provisions on loopback
 * await emulator.close()
 */
export * as Emulator from "../adapters/gpu/emulator.ts"
