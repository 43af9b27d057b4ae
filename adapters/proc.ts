// Reading /proc: process start time, state and the boot id, for liveness that a reused pid cannot fool.
import * as Fs from "node:fs"
import type * as JobState from "../core/job_state.ts"
import * as Process from "../core/process.ts"

/** State letter and start time (field 3 and field 22 of /proc/<pid>/stat), or undefined when there is no such pid. */
export const stat = (
  pid: number
): { readonly state: string; readonly startTime: number; readonly pgrp: number } | undefined => {
  let text: string
  try {
    text = Fs.readFileSync(`/proc/${pid}/stat`, "utf8")
  } catch {
    return undefined
  }
  // the command name (field 2) may hold spaces and parentheses: split after its last ')'
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ")
  return { state: fields[0]!, pgrp: Number(fields[2]), startTime: Number(fields[19]) }
}

/** This host's boot id (one reader for core and adapters: core/process.ts). */
export const bootId = (): string => Process.bootId()

/**
 * Whether the process that had `pid` and `startTime` on boot `bootId` still runs. A zombie counts as gone, and so
 * does a pid the kernel gave to another process since.
 */
export const isAlive = (pid: number, startTime: number, bootIdOfStart: string): boolean =>
  Process.isAlive({ pid, startTime, bootId: bootIdOfStart })

/** Whether a process's environment names job `id`: the supervisor gives every command JOBS_ID. */
const carriesJob = (pid: number, id: string): boolean => {
  try {
    return Fs.readFileSync(`/proc/${pid}/environ`, "latin1").split("\0").includes(`JOBS_ID=${id}`)
  } catch {
    return false
  }
}

/** Where a job's command was started: its pid (the leader of its process group), start time and boot. */
export interface Leader {
  readonly pid: number
  readonly pgid: number
  readonly startTime: number
  readonly bootId: string
}

/**
 * The live members of job `id`'s process group, as long as the group still holds a process of that job: its leader
 * (pid and start time), or a member whose environment names the job. The leader may have exited while its children
 * run on; a group number the kernel handed on once the job's processes were all gone holds neither, and gives none.
 */
export const jobGroup = (leader: Leader, id: string): Array<number> => {
  if (leader.bootId !== bootId()) return []
  const members = groupMembers(leader.pgid)
  if (members.length === 0) return []
  if (isAlive(leader.pid, leader.startTime, leader.bootId)) return members
  return members.some((pid) => carriesJob(pid, id)) ? members : []
}

/** The pids of the live (non-zombie) members of a process group. */
export const groupMembers = (pgid: number): Array<number> => {
  const members: Array<number> = []
  for (const entry of Fs.readdirSync("/proc")) {
    const pid = Number(entry)
    if (!Number.isInteger(pid) || pid <= 0) continue
    const s = stat(pid)
    if (s !== undefined && s.pgrp === pgid && s.state !== "Z" && s.state !== "X") members.push(pid)
  }
  return members
}

/** A launcher writes its first event milliseconds after it is spawned: before this, a job is never judged. */
const LAUNCH_GRACE_MS = 3000
/** A submitter that still runs (a dashboard, an app) has started what it launches long before this. */
const LAUNCH_LIMIT_MS = 60_000

/**
 * Whether the submitter of a job that nothing has taken up yet can no longer start it: the job is older than a
 * launch takes, and its submitter (pid plus start time and boot id, never a bare pid) is gone, or has had far more
 * time than a launch takes. Every executor asks this first; what it launched may still be on its way (see each).
 */
export const abandoned = (state: JobState.JobState): boolean => {
  if (state.spec === null || state.createdAt === null) return false
  const age = Date.now() - Date.parse(state.createdAt)
  if (!(age > LAUNCH_GRACE_MS)) return false
  const submitter = state.submitter
  return !(submitter !== null && age < LAUNCH_LIMIT_MS && isAlive(submitter.pid, submitter.startTime, submitter.bootId))
}

/** Whether a live process's argv holds `text` as a part of one argument (a push to a worker names its work dir). */
export const mentions = (text: string): boolean => {
  for (const entry of Fs.readdirSync("/proc")) {
    const pid = Number(entry)
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) continue
    let args: string
    try {
      args = Fs.readFileSync(`/proc/${pid}/cmdline`, "utf8")
    } catch {
      continue
    }
    if (args.includes(text)) {
      const s = stat(pid)
      if (s !== undefined && s.state !== "Z" && s.state !== "X") return true
    }
  }
  return false
}

/**
 * Whether a live process was started for a job: its argv holds the job's folder (`.../jobs/ID`) followed by its id,
 * as a supervisor's does, and so does the `sh` that launches a batch of them (and its forks, until they exec).
 */
export const launches = (id: string): boolean => {
  const folder = `/jobs/${id}`
  for (const entry of Fs.readdirSync("/proc")) {
    const pid = Number(entry)
    if (!Number.isInteger(pid) || pid <= 0) continue
    let args: Array<string>
    try {
      args = Fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")
    } catch {
      continue
    }
    for (let i = 0; i + 1 < args.length; i++) {
      if (args[i + 1] === id && args[i]!.endsWith(folder)) {
        const s = stat(pid)
        if (s !== undefined && s.state !== "Z" && s.state !== "X") return true
      }
    }
  }
  return false
}
