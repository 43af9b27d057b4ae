// The `jobs/gpu` entry: RemoteJob (provision → push → bootstrap → run → stream → download → release) and the
// provider clients. The emulator has its own entry, `jobs/gpu/emulator`.
export { Providers, RemoteJob } from "../adapters/gpu/mod.ts"
