// Reads what a job leaves on disk (its folder, its events) and in /proc (its process group), and kills whatever
// a test left running, checking start times so that a pid the kernel has handed on is never signalled.
import * as Fs from "node:fs"
import * as Path from "node:path"
import { eventually, tempDir } from "./cli.ts"

/** One line of events.jsonl, as a script would see it. */
export type EventLine = { readonly type: string; readonly [field: string]: any }

/** A job's folder. */
export const jobDir = (home: string, id: string): string => Path.join(home, "jobs", id)

/** A job's events log. */
export const eventsPath = (home: string, id: string): string => Path.join(jobDir(home, id), "events.jsonl")

/** The job folders of a home (none when the home or its jobs/ folder is missing). */
export const jobDirs = (home: string): Array<string> => {
  try {
    return Fs.readdirSync(Path.join(home, "jobs"))
  } catch {
    return []
  }
}

/** The complete, parseable lines of a job's events.jsonl. */
export const readEvents = (home: string, id: string): Array<EventLine> => {
  let text: string
  try {
    // a FIFO planted by a test would block this read (and the cleanup after a failed test) for ever
    if (!Fs.lstatSync(eventsPath(home, id)).isFile()) return []
    text = Fs.readFileSync(eventsPath(home, id), "utf8")
  } catch {
    return []
  }
  const lines = text.split("\n").slice(0, -1)
  const events: Array<EventLine> = []
  for (const line of lines) {
    try {
      events.push(JSON.parse(line) as EventLine)
    } catch {
      // a damaged line: not an event
    }
  }
  return events
}

/** The job's Started event, once the supervisor has written it. */
export const started = (home: string, id: string, timeoutMs = 15_000): Promise<EventLine> =>
  eventually(() => readEvents(home, id).find((e) => e.type === "Started"), timeoutMs, `Started of ${id}`)

interface Stat {
  readonly state: string
  readonly pgrp: number
  readonly startTime: number
}

/**
 * Fields 3, 5 and 22 of /proc/PID/stat, or undefined when there is no such process. Written again here rather than
 * imported from adapters/proc.ts on purpose: the tests check the product's process handling with a reader of their own.
 */
export const procStat = (pid: number): Stat | undefined => {
  let text: string
  try {
    text = Fs.readFileSync(`/proc/${pid}/stat`, "utf8")
  } catch {
    return undefined
  }
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ")
  return { state: fields[0]!, pgrp: Number(fields[2]), startTime: Number(fields[19]) }
}

/** The pids of the non-zombie processes of a process group. */
export const groupMembers = (pgid: number): Array<number> => {
  const members: Array<number> = []
  for (const name of Fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue
    const stat = procStat(Number(name))
    if (stat !== undefined && stat.pgrp === pgid && stat.state !== "Z" && stat.state !== "X") members.push(Number(name))
  }
  return members
}

/** Waits until a process group has no live member left (a KILL just sent takes a moment to land). */
export const groupGone = (pgid: number, timeoutMs = 30_000): Promise<true> =>
  eventually(() => (groupMembers(pgid).length === 0 ? true : undefined), timeoutMs, `process group ${pgid} to be gone`)

/**
 * Kills every job of a home that may still run: the command's process group (when its leader is still the one the
 * log names, or the group still has members) and the supervisor (when its start time matches).
 */
export const killJobsOf = (home: string): void => {
  for (const id of jobDirs(home)) {
    for (const event of readEvents(home, id)) {
      if (event.type !== "Started") continue
      const leader = procStat(event.pid)
      if (
        (leader !== undefined && leader.startTime === event.startTime) ||
        (leader === undefined && groupMembers(event.pgid).length > 0)
      ) {
        try {
          process.kill(-event.pgid, "SIGKILL")
        } catch {
          // already gone
        }
      }
      const supervisor = procStat(event.supervisorPid)
      if (supervisor !== undefined && supervisor.startTime === event.supervisorStartTime) {
        try {
          process.kill(event.supervisorPid, "SIGKILL")
        } catch {
          // already gone
        }
      }
    }
  }
}

/**
 * Temp dirs for one test file: `home()` is a JOBS_HOME that does not exist yet (so `jobs` creates it), `dir()` a
 * plain directory. `cleanup()` kills whatever their jobs left running and deletes them all.
 */
export const scratch = () => {
  const roots: Array<string> = []
  const dir = (): string => {
    const root = tempDir()
    roots.push(root)
    return root
  }
  return {
    dir,
    home: (): string => Path.join(dir(), "home"),
    cleanup: (): void => {
      for (const root of roots.splice(0)) {
        killJobsOf(root)
        killJobsOf(Path.join(root, "home"))
        Fs.rmSync(root, { recursive: true, force: true })
      }
    }
  }
}

/** The pids of every live process whose environment names job `id` (JOBS_ID=<id>), wherever its group is. */
export const processesOf = (id: string): Array<number> => {
  const found: Array<number> = []
  for (const name of Fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue
    try {
      if (!Fs.readFileSync(`/proc/${name}/environ`, "latin1").split("\0").includes(`JOBS_ID=${id}`)) continue
    } catch {
      continue
    }
    const s = procStat(Number(name))
    if (s !== undefined && s.state !== "Z" && s.state !== "X") found.push(Number(name))
  }
  return found
}
