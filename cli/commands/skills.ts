// jobs skills install: teach an AI agent to use jobs, with a skill file (SKILL.md with front matter).

import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { StorageError } from "../../core/errors.ts"
import { makeDirs } from "../../core/job_store.ts"
import { Invocation } from "../invocation.ts"
import * as Render from "../render.ts"
import skill from "../skill.md?raw"

/** `jobs skills install [--dir DIR] [--print]` */
const install = Command.make(
  "install",
  {
    dir: Options.text("dir").pipe(
      Options.withDescription("Where to write SKILL.md (default ~/.claude/skills/jobs)"),
      Options.optional
    ),
    print: Options.boolean("print").pipe(Options.withDescription("Print the skill instead of writing it"))
  },
  Effect.fn("jobs.skills.install")(function* ({ dir, print }) {
    const invocation = yield* Invocation
    if (print) return yield* Render.out(skill)
    const target = Path.resolve(
      invocation.cwd,
      Option.getOrElse(dir, () => Path.join(Os.homedir(), ".claude", "skills", "jobs"))
    )
    const file = Path.join(target, "SKILL.md")
    let current: string | undefined
    try {
      current = Fs.readFileSync(file, "utf8")
    } catch {
      current = undefined
    }
    const changed = current !== skill
    if (changed) {
      yield* Effect.try({
        try: () => {
          makeDirs(target)
          Fs.writeFileSync(`${file}.tmp`, skill, { mode: 0o644 })
          Fs.renameSync(`${file}.tmp`, file)
        },
        catch: (cause) => new StorageError({ action: "write skill", path: file, cause })
      })
    }
    if (invocation.json) return yield* Render.json({ path: file, changed })
    yield* Render.line(changed ? `installed ${file}` : `${file} is up to date`)
  })
).pipe(Command.withDescription("Write the jobs skill for AI agents (idempotent)"))

/** `jobs skills` */
export const command = Command.make("skills").pipe(
  Command.withDescription("Skills that teach AI agents to use jobs"),
  Command.withSubcommands([install])
)
