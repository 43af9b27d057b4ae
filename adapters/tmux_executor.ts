// The tmux executor: the same supervisor, as the process of a tmux pane on the home's own socket, so the job
// has a real terminal, can be attached to and detached from, and shows a done screen when it ends.

import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Effect from "effect/Effect"
import * as Config from "../core/config.ts"
import { StartFailed } from "../core/errors.ts"
import type * as Executor from "../core/executor.ts"
import type * as Home from "../core/home.ts"
import * as Ids from "../core/ids.ts"
import type * as JobState from "../core/job_state.ts"
import * as Shell from "../core/shell.ts"
import * as LocalExecutor from "./local_executor.ts"
import * as Supervisor from "./supervisor.ts"
import * as Tmux from "./tmux.ts"

/** Text for a tmux status option: no format (`#`) or strftime (`%`) sequence survives from it. */
const literal = (text: string): string => Tmux.escapeFormat(text).replaceAll("%", "%%")

/** The status bar's live part: the job's state and elapsed time, from its log (no `#` or `%` in the output). */
const statusScript = (eventsPath: string, startedAtSecs: number): string =>
  `#!/bin/sh
# the live part of the status bar of a tmux job (written by jobs)
last=$(tail -n 1 ${Shell.quote(eventsPath)} 2>/dev/null)
case $last in
  *'"type":"Exited"'*) code=$(printf '%s' "$last" | sed -n 's/.*"code":\\([0-9]*\\).*/\\1/p'); st="done [exit \${code:-signal}]" ;;
  *) st=running ;;
esac
s=$(($(date +%s) - ${startedAtSecs}))
echo "$st  $((s / 3600))h$((s / 60 - s / 3600 * 60))m$((s - s / 60 * 60))s "
`

const start = (launch: Executor.Launch): Effect.Effect<void, StartFailed> =>
  Effect.try({
    try: () => {
      const { layout, paths, spec, id } = launch
      const script = Supervisor.install(layout.bin)
      // the command and cwd go to a file the supervisor sources: they never pass through a tmux command line
      Supervisor.writeArgv(paths.dir, spec.cwd, spec.command)
      // how long the done screen stays when nobody is attached, after which the session closes by itself
      const doneSecs = Math.max(0, Math.ceil(Config.current(layout).doneScreenSecs))
      Fs.writeFileSync(Path.join(paths.dir, "done_screen"), `_jdonesecs=${doneSecs}\n`, { mode: 0o600 })
      const status = Path.join(paths.dir, "tmux-status")
      Fs.writeFileSync(status, statusScript(paths.eventsPath, Math.floor(Date.now() / 1000)), { mode: 0o700 })
      const command = spec.command.join(" ")
      const left = ` ${Ids.shortId(id)} │ ${Os.hostname()} │ ${command.length > 50 ? command.slice(0, 49) + "…" : command} │ `
      const r = Tmux.run(layout, [
        "-f",
        "/dev/null",
        "new-session",
        "-d",
        "-s",
        Tmux.sessionName(id),
        "-x",
        "200",
        "-y",
        "50",
        "--",
        "/bin/sh",
        script,
        // the submitter's umask: the home's tmux server may have been started under another
        Supervisor.umaskArg(spec),
        "--tmux",
        paths.dir,
        id,
        String(spec.timeoutSecs === null ? 0 : Math.ceil(spec.timeoutSecs)),
        String(Math.ceil(spec.graceSecs)),
        "-",
        "--"
      ])
      if (r.missing) throw new Error(Tmux.MISSING)
      if (r.code !== 0) throw new Error(`tmux new-session failed: ${r.stderr || `exit ${r.code}`}`)
      // the status bar, in one tmux call (no argument here is user text that could end in ";", tmux's separator).
      // A job that already ended took its session with it, which is fine.
      const options: Array<[string, string]> = [
        ["status-left-length", "120"],
        ["status-left", literal(left)],
        ["status-right", `#(sh ${literal(Shell.quote(status))})`],
        ["status-interval", "1"],
        // one job, one window: the window list would only repeat the program's name
        ["window-status-format", ""],
        ["window-status-current-format", ""]
      ]
      const t = Tmux.target(id)
      Tmux.run(
        layout,
        options.flatMap(([name, value], i) => [...(i === 0 ? [] : [";"]), "set-option", "-t", t, name, value])
      )
    },
    catch: (cause) => new StartFailed({ job: launch.id, why: cause instanceof Error ? cause.message : String(cause) })
  })

/**
 * In a pane the supervisor waits in `fg` and cannot run traps, so the stop is carried out here: the signal to the
 * group, then KILL to whatever is left once the grace is over.
 */
const requestStop = (state: JobState.JobState, signal: string, graceSecs: number): Effect.Effect<void> =>
  state.started === null
    ? Effect.void
    : Effect.asVoid(LocalExecutor.signalGroup(state.started, state.id, signal, graceSecs))

/** Closes the job's session (a finished job shows its done screen for a while, or while someone is attached). */
const release = (state: JobState.JobState, layout: Home.Layout): Effect.Effect<void> =>
  Effect.sync(() => {
    Tmux.run(layout, ["kill-session", "-t", Tmux.target(state.id)])
  })

/** The tmux executor. */
export const executor: Executor.Executor = {
  kind: "tmux",
  start,
  liveness: LocalExecutor.liveness,
  requestStop,
  stopOrphans: LocalExecutor.stopOrphans,
  orphans: LocalExecutor.orphans,
  check: LocalExecutor.checkCommand,
  release
}
