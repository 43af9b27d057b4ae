// Where a job runs (DESIGN §4a): every surface settles a job's directory here, once, to the real path of an
// existing directory, and that absolute path is what the spec records and every executor uses.
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Effect from "effect/Effect"
import { InvalidInput } from "./errors.ts"

const refuse = (path: string, why: string) => new InvalidInput({ message: `Cannot run job in "${path}": ${why}` })

/**
 * The directory a job runs in: absolute, existing, a directory its user can enter, with its symlinks resolved.
 * A relative `cwd` is taken from `relativeTo` (the CLI passes its own directory); where a surface has no such base
 * (an agent's tool call, an HTTP request, a library call without one) it is refused: the server's own directory is
 * not what the caller meant, and the supervisor would have run it from `/`.
 *
 * @example
 * const cwd = yield* Cwd.resolve("build", process.cwd()) // "/home/me/project/build"
 */
export const resolve = Effect.fn("Cwd.resolve")(function* (cwd: string, relativeTo?: string | undefined) {
  if (!Path.isAbsolute(cwd) && (relativeTo === undefined || !Path.isAbsolute(relativeTo))) {
    return yield* refuse(cwd, "the directory is relative; give an absolute path")
  }
  const absolute = Path.resolve(relativeTo ?? "/", cwd)
  const found = realDirectory(absolute)
  return found.ok ? found.path : yield* refuse(absolute, found.why)
})

/** The real path of a directory that can be entered, or why not. */
function realDirectory(path: string): { ok: true; path: string } | { ok: false; why: string } {
  try {
    const real = Fs.realpathSync(path)
    if (!Fs.statSync(real).isDirectory()) return { ok: false, why: "not a directory" }
    Fs.accessSync(real, Fs.constants.X_OK)
    return { ok: true, path: real }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    const why =
      code === "ENOENT"
        ? "no such directory"
        : code === "ENOTDIR"
          ? "not a directory"
          : code === "EACCES" || code === "EPERM"
            ? "permission denied"
            : code === "ERR_INVALID_ARG_VALUE" || code === "ERR_INVALID_ARG_TYPE"
              ? "not a valid path"
              : `${code ?? e}`
    return { ok: false, why }
  }
}
