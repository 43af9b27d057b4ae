// The helper executable: the package's own bin (dist/jobs.cjs), which the library runs as a process of its own (a GPU
// job's keeper, rsync's remote shell, a worker's connection holder). Found from this module's location, never from
// the running program's argv: an app that embeds the library is not `jobs`, and must not be started again as one.
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

/** Set by scripts/build.mjs: "cjs" in the CLI's bundles (dist/*.cjs), "esm" in the library's (dist/lib/*.js). */
declare const JOBS_BUNDLE: "cjs" | "esm" | undefined

const bundle = typeof JOBS_BUNDLE === "undefined" ? undefined : JOBS_BUNDLE

/** Whether this process is the `jobs` program itself (its bundles), not an app that embeds the library. */
export const isProgram = bundle === "cjs"

/**
 * The path of the `jobs` bin of this package: JOBS_BIN when set (an override), else dist/jobs.cjs beside the code
 * that runs (the CLI's bundles are in dist/, the library's in dist/lib/, the sources one level above dist/).
 *
 * @example
 * ChildProcess.spawn(process.execPath, ["--", Helper.bin(), "__gpu-keeper", id])
 */
export const bin = (): string => {
  const override = process.env.JOBS_BIN
  if (override !== undefined && override !== "") return override
  if (bundle === "cjs") return Path.join(__dirname, "jobs.cjs")
  return fileURLToPath(new URL(bundle === "esm" ? "../jobs.cjs" : "../dist/jobs.cjs", import.meta.url))
}
