// This process and others as /proc tells them: pid plus start time and boot id, so a reused pid never passes for
// the process that had it. adapters/proc.ts builds on this (core imports no adapter).
import * as Fs from "node:fs"
import * as Os from "node:os"

/** A process, told apart from any later one with the same pid. */
export interface Identity {
  readonly pid: number
  readonly startTime: number
  readonly bootId: string
}

let boot: string | undefined

/** This host's boot id (the host name where /proc has none). */
export const bootId = (): string => {
  if (boot === undefined) {
    try {
      boot = Fs.readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim()
    } catch {
      boot = Os.hostname()
    }
  }
  return boot
}

/** State letter and start time (fields 3 and 22 of /proc/PID/stat), or undefined when there is no such process. */
const stat = (pid: number | "self"): { readonly state: string; readonly startTime: number } | undefined => {
  let text: string
  try {
    text = Fs.readFileSync(`/proc/${pid}/stat`, "utf8")
  } catch {
    return undefined
  }
  // the command name (field 2) may hold spaces and parentheses: split after its last ')'
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ")
  return { state: fields[0]!, startTime: Number(fields[19]) }
}

let me: Identity | undefined

/** This process. */
export const self = (): Identity => {
  me ??= { pid: process.pid, startTime: stat("self")?.startTime ?? 0, bootId: bootId() }
  return me
}

/** Whether that very process still runs (a zombie counts as gone). */
export const isAlive = (who: Identity): boolean => {
  if (who.bootId !== bootId()) return false
  const s = stat(who.pid)
  return s !== undefined && s.startTime === who.startTime && s.state !== "Z" && s.state !== "X"
}

/**
 * For tests only: `JOBS_TEST_PAUSE=STEP:MS` makes a submit stop MS milliseconds (blocking) right after STEP
 * ("claimed": the key file is linked, its claim file still aside, no job folder yet; "submitted": Submitted is
 * written, no supervisor yet; "pushed": a remote job's files are on its worker, its supervisor not started there;
 * "sbatched": sbatch accepted a Slurm job, its id not recorded yet), so that a test can kill it in that window for
 * certain.
 */
export const testPause = (step: "claimed" | "submitted" | "pushed" | "sbatched"): void => {
  const [at, ms] = (process.env.JOBS_TEST_PAUSE ?? "").split(":")
  if (at === step && Number(ms) > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(ms))
}
