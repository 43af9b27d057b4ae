// A terminal a test types into, as a person would: a shell in a session of a tmux server of its own (send-keys to
// type, capture-pane to read the screen). `jobs` inside it sees TMUX set, as in a user's own tmux.
import * as ChildProcess from "node:child_process"
import * as Path from "node:path"
import { expect } from "vitest"
import { eventually } from "./cli.ts"

/** Runs `tmux -S SOCKET ARGS...` outside any tmux. */
export const tmuxOf = (socket: string, args: ReadonlyArray<string>) =>
  ChildProcess.spawnSync("tmux", ["-S", socket, ...args], { encoding: "utf8", env: { ...process.env, TMUX: "" } })

/** Terminals for a test file, closed by `cleanup`. */
export const terminals = (tmp: { readonly dir: () => string }) => {
  const sockets: Array<string> = []
  const open = (home: string) => {
    const socket = Path.join(tmp.dir(), "outer.sock")
    sockets.push(socket)
    const env = `JOBS_HOME='${home}' NODE_EXTRA_CA_CERTS= PS1='$ '`
    const r = tmuxOf(socket, [
      "-f",
      "/dev/null",
      "new-session",
      "-d",
      "-x",
      "160",
      "-y",
      "45",
      "-s",
      "user",
      `env ${env} sh`
    ])
    expect(r.status, r.stderr).toBe(0)
    const screen = () => tmuxOf(socket, ["capture-pane", "-p", "-t", "user"]).stdout
    return {
      type: (text: string) => tmuxOf(socket, ["send-keys", "-t", "user", "-l", text]),
      key: (key: string) => tmuxOf(socket, ["send-keys", "-t", "user", key]),
      screen,
      /** The whole scrollback, with the lines the terminal wrapped joined again. */
      history: (options: { readonly escapes?: boolean } = {}) =>
        tmuxOf(socket, [
          "capture-pane",
          "-p",
          "-J",
          ...(options.escapes === true ? ["-e"] : []),
          "-S",
          "-",
          "-t",
          "user"
        ]).stdout,
      resize: (columns: number, rows: number) =>
        tmuxOf(socket, ["resize-window", "-t", "user", "-x", String(columns), "-y", String(rows)]),
      waitFor: (pattern: RegExp, what: string, timeoutMs = 15_000) =>
        eventually(() => (pattern.test(screen()) ? true : undefined), timeoutMs, what)
    }
  }
  const cleanup = () => {
    for (const socket of sockets.splice(0)) tmuxOf(socket, ["kill-server"])
  }
  return { open, cleanup }
}
