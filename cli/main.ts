// The `jobs` command: assembles the subcommands, and runs one invocation to an exit code.
import * as Command from "@effect/cli/Command"
import * as Attach from "./commands/attach.ts"
import * as Clean from "./commands/clean.ts"
import * as Completions from "./commands/completions.ts"
import * as Events from "./commands/events.ts"
import * as GpuStub from "./commands/gpu_stub.ts"
import * as Group from "./commands/group.ts"
import * as List from "./commands/list.ts"
import * as Logs from "./commands/logs.ts"
import * as Mcp from "./commands/mcp.ts"
import * as Pull from "./commands/pull.ts"
import * as Retry from "./commands/retry.ts"
import * as Rm from "./commands/rm.ts"
import * as Run from "./commands/run.ts"
import * as Serve from "./commands/serve.ts"
import * as Skills from "./commands/skills.ts"
import * as Status from "./commands/status.ts"
import * as Stop from "./commands/stop.ts"
import * as Top from "./commands/top.ts"
import * as Wait from "./commands/wait.ts"
import * as WorkerStub from "./commands/worker_stub.ts"
import * as Runner from "./runner.ts"

/** The `jobs` command tree of the main bundle (worker and gpu are stubs here; the build reads it for shell
 * completion and the man page). */
export const root = Command.make("jobs").pipe(
  Command.withDescription(
    "Run any command in the background and check on it later. Global flags: --home DIR (or JOBS_HOME), " +
      "--json (one JSON document on stdout)."
  ),
  Command.withSubcommands([
    Run.command,
    List.command,
    List.alias,
    Status.command,
    Logs.command,
    Events.command,
    Stop.command,
    Wait.command,
    Retry.command,
    Rm.command,
    Clean.command,
    Attach.command,
    Top.command,
    Group.command,
    Skills.command,
    Mcp.command,
    Serve.command,
    WorkerStub.command,
    GpuStub.command,
    Pull.command,
    Completions.command
  ])
)

/** `--completions SHELL` (@effect/cli's flag, which knew neither `job` nor the worker and gpu commands) as `completions SHELL`. */
const completionsAlias = (args: ReadonlyArray<string>): ReadonlyArray<string> => {
  const end = args.indexOf("--")
  const at = args.findIndex((a, i) => (end < 0 || i < end) && (a === "--completions" || a.startsWith("--completions=")))
  if (at < 0) return args
  const shell = args[at].startsWith("--completions=") ? args[at].slice("--completions=".length) : args[at + 1]
  return ["completions", ...(shell === undefined ? [] : [shell])]
}

/** Runs `jobs` with these arguments (without node and the script) and returns the exit code. */
export const main = (args: ReadonlyArray<string>, version: string): Promise<number> =>
  Runner.run(root, completionsAlias(args), version)
