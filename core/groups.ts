// Queue groups (DESIGN §3 groups/<name>.yaml): a parallel limit and a paused flag, read by the supervisors that
// wait for a slot. `parallel` absent means no limit; `paused: true` starts nothing new.
import * as Fs from "node:fs"
import * as Path from "node:path"
import { makeDirs } from "./dirs.ts"
import type * as Home from "./home.ts"

/** A group's settings. */
export interface Settings {
  readonly parallel: number | null
  readonly paused: boolean
}

const file = (layout: Home.Layout, name: string) => Path.join(layout.home, "groups", `${name}.yaml`)

/** A group's settings (defaults when it has no file). */
export const read = (layout: Home.Layout, name: string): Settings => {
  let text = ""
  try {
    text = Fs.readFileSync(file(layout, name), "utf8")
  } catch {
    // a group without settings: no limit, not paused
  }
  const parallel = /^parallel: *(\d+)/m.exec(text)?.[1]
  return { parallel: parallel === undefined ? null : Number(parallel), paused: /^paused: *true/m.test(text) }
}

/** Writes a group's settings whole (aside, then renamed: a waiter never reads half a file). */
export const write = (layout: Home.Layout, name: string, settings: Settings): void => {
  const path = file(layout, name)
  makeDirs(Path.dirname(path))
  const text =
    "# jobs queue group: parallel = how many of its jobs run at once (absent: no limit)\n" +
    (settings.parallel === null ? "" : `parallel: ${settings.parallel}\n`) +
    `paused: ${settings.paused}\n`
  Fs.writeFileSync(`${path}.tmp`, text, { mode: 0o600 })
  Fs.renameSync(`${path}.tmp`, path)
}

/** Sets (or with null removes) the command run when the group's last queued job has ended. */
export const writeOnDone = (layout: Home.Layout, name: string, command: string | null): void => {
  const path = Path.join(layout.home, "groups", `${name}.on_done`)
  if (command === null) {
    Fs.rmSync(path, { force: true })
    return
  }
  makeDirs(Path.dirname(path))
  Fs.writeFileSync(`${path}.tmp`, command, { mode: 0o600 })
  Fs.renameSync(`${path}.tmp`, path)
}

/** Removes a group's settings, its hook and its queue folder if empty (its jobs, if any, keep their group name). */
export const remove = (layout: Home.Layout, name: string): void => {
  Fs.rmSync(file(layout, name), { force: true })
  Fs.rmSync(Path.join(layout.home, "groups", `${name}.on_done`), { force: true })
  try {
    Fs.rmdirSync(Path.join(layout.home, "groups", name))
  } catch {
    // no queue folder, or one still in use
  }
}

/** The names of the groups that have settings or a queue. */
export const names = (layout: Home.Layout): Array<string> => {
  let entries: Array<string> = []
  try {
    entries = Fs.readdirSync(Path.join(layout.home, "groups"))
  } catch {
    return []
  }
  const found = new Set<string>()
  for (const e of entries) {
    if (e.endsWith(".yaml")) found.add(e.slice(0, -5))
    else if (!e.includes(".")) found.add(e)
  }
  return [...found].sort()
}

/** The 1-based place of a waiting job in its group's queue (priority, then submit order), or null. */
export const position = (layout: Home.Layout, name: string, id: string): number | null => {
  let entries: Array<string>
  try {
    entries = Fs.readdirSync(Path.join(layout.home, "groups", name, "queue")).sort()
  } catch {
    return null
  }
  const i = entries.findIndex((e) => e.endsWith(`-${id}`))
  return i < 0 ? null : i + 1
}
