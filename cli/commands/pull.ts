// jobs pull: copy files back from a remote job's work dir (rsync over the same SSH stack as the push).

import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Helper from "../../adapters/helper.ts"
import * as SafeDownload from "../../adapters/safe_download.ts"
import { InvalidInput, JobStateConflict, untrustedText } from "../../core/errors.ts"
import * as Home from "../../core/home.ts"
import { Jobs } from "../../core/jobs.ts"
import * as Shell from "../../core/shell.ts"
import * as Workers from "../../core/workers.ts"
import { Invocation } from "../invocation.ts"
import * as Render from "../render.ts"

const q = Shell.quote

/** A path inside the work dir: `./results`, `results` and `results/` are the same; nothing may leave it. */
export const normalize = Workers.normalizePath

const isDirectory = (path: string): boolean => {
  try {
    return Fs.statSync(path).isDirectory()
  } catch {
    return false
  }
}

/** `jobs pull ID [PATH] [DEST]` */
export const command = Command.make(
  "pull",
  {
    id: Args.text({ name: "ID" }).pipe(Args.withDescription("A job that ran on a worker")),
    path: Args.text({ name: "PATH" }).pipe(
      Args.withDescription("What to copy, relative to the job's work dir (default: all of it)"),
      Args.optional
    ),
    dest: Args.text({ name: "DEST" }).pipe(
      Args.withDescription("Where to put it (default: here; DEST/ or an existing folder: into it, as with cp)"),
      Args.optional
    )
  },
  Effect.fn("jobs.pull")(function* ({ id, path, dest }) {
    const invocation = yield* Invocation
    const jobs = yield* Jobs
    const job = yield* jobs.get(id)
    if ((job.executor !== "ssh" && job.executor !== "gpu") || job.worker === null) {
      return yield* new JobStateConflict({
        message: `Cannot pull from job "${job.shortId}": it ran on this machine (its files are in ${job.cwd ?? "its cwd"})`
      })
    }
    const worker = Workers.find(Home.layout(invocation.home), job.worker, job.id)
    if (worker === undefined) {
      return yield* new JobStateConflict({
        message: `Cannot pull from job "${job.shortId}": worker "${job.worker}" is not registered`
      })
    }
    const inside = normalize(Option.getOrElse(path, () => "."))
    if (inside === undefined) {
      return yield* new InvalidInput({
        message: `Cannot pull "${Option.getOrThrow(path)}": give a path inside the job's work dir`
      })
    }
    const source = `worker:${worker.remoteHome.replace(/\/+$/, "")}/workdirs/${job.id}/${inside === "" ? "" : inside}`
    const given = Option.getOrElse(dest, () => ".")
    const target = Path.resolve(invocation.cwd, given)
    // as with cp: DEST/ (or an existing folder) means "into this folder"; rsync needs the slash to know it
    const intoFolder = given.endsWith("/") || isDirectory(target)
    const why = SafeDownload.fetch({
      shell: `${q(process.execPath)} -- ${q(Helper.bin())} __ssh ${q(worker.name)}`,
      env: { ...process.env, JOBS_HOME: invocation.home },
      source,
      root: intoFolder ? target : Path.dirname(target),
      ...(intoFolder || inside === "" ? {} : { name: Path.basename(target) })
    })
    if (why !== undefined) {
      return yield* new JobStateConflict({
        message: `Cannot pull "${inside || "."}" from job "${job.shortId}": ${untrustedText(why)}`
      })
    }
    yield* Render.line(`pulled ${inside === "" ? "the work dir" : inside} into ${target}`)
  })
).pipe(Command.withDescription("Copy files back from a remote job's work dir (./results and results are the same)"))
