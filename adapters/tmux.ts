// tmux on a home's own socket ($JOBS_HOME/tmux.sock): the user's tmux server and config are never touched.
// Every call is an argv (no shell); user text that reaches a tmux option is escaped for tmux's formats.
import * as ChildProcess from "node:child_process"
import * as Path from "node:path"
import type * as Home from "../core/home.ts"
import * as Ids from "../core/ids.ts"
import * as Shell from "../core/shell.ts"

/** The socket of a home's tmux server. */
export const socket = (layout: Home.Layout): string => Path.join(layout.home, "tmux.sock")

/** The session of a job: derived from its id only, so no user text ever names a session. */
export const sessionName = (id: string): string => `jobs-${Ids.shortId(id)}`

/**
 * A target that matches the session name exactly (tmux otherwise accepts prefixes). The `:` makes it a valid
 * target for commands that take a pane or window (set-option, capture-pane) as well as for session commands.
 */
export const target = (id: string): string => `=${sessionName(id)}:`

/** Text shown in a tmux option: `#` starts a format (and `#(...)` runs a command), so it is doubled. */
export const escapeFormat = (text: string): string => text.replaceAll("#", "##")

/** The environment for tmux commands: never the caller's TMUX (that would address the user's own server). */
const tmuxEnv = (): NodeJS.ProcessEnv => {
  const env = { ...process.env }
  delete env.TMUX
  delete env.TMUX_PANE
  return env
}

/** The result of one tmux command. */
export interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
  /** The tmux binary is not installed. */
  readonly missing: boolean
}

/** Runs `tmux -S SOCKET ARGS...` and waits for it. */
export const run = (layout: Home.Layout, args: ReadonlyArray<string>): Run => {
  const r = ChildProcess.spawnSync("tmux", ["-S", socket(layout), ...args], {
    encoding: "utf8",
    env: tmuxEnv(),
    stdio: ["ignore", "pipe", "pipe"]
  })
  const missing = (r.error as NodeJS.ErrnoException | undefined)?.code === "ENOENT"
  return { code: r.status ?? 1, stdout: r.stdout ?? "", stderr: (r.stderr ?? "").trim(), missing }
}

/** The one line a user sees when tmux is missing. */
export const MISSING = "tmux is not installed (Debian/Ubuntu: apt-get install tmux)"

/** Whether a job's session still exists. */
export const hasSession = (layout: Home.Layout, id: string): boolean =>
  run(layout, ["has-session", "-t", target(id)]).code === 0

/** The exact command a user can type to attach to a job's session. */
export const attachCommand = (layout: Home.Layout, id: string): string =>
  `tmux -S ${Shell.quote(socket(layout))} attach -t ${sessionName(id)}`

/**
 * Attaches the current terminal to a job's session, and returns when the user detaches or the session ends.
 * Works from inside the user's own tmux too (tmux refuses to nest while TMUX is set).
 */
export const attach = (layout: Home.Layout, id: string): number => {
  const r = ChildProcess.spawnSync("tmux", ["-S", socket(layout), "attach-session", "-t", target(id)], {
    stdio: "inherit",
    env: tmuxEnv()
  })
  return r.status ?? 1
}
