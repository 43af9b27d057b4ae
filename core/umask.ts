// The umask a job's command runs under (DESIGN §4a): the submitter's, recorded in the spec at submit and restored by
// the supervisor right before it execs the command. The home's own files stay private whatever it is.
import * as Fs from "node:fs"
import * as Schema from "effect/Schema"
import { Event } from "../events/mod.ts"

/** A umask as the spec records it: four octal digits, such as "0022". */
export const format = (mask: number): string => (mask & 0o777).toString(8).padStart(4, "0")

/** Whether a value is a umask as the spec records it. */
export const is: (value: unknown) => value is string = Schema.is(Event.Umask)

/**
 * This process's umask. Read from /proc/self/status: `process.umask()` without an argument sets the umask to 0 for a
 * moment to learn it, and a file created meanwhile by another thread (libuv's pool) would be world-writable.
 */
export const current = (): string => {
  try {
    const found = /^Umask:\s*([0-7]+)$/m.exec(Fs.readFileSync("/proc/self/status", "utf8"))
    if (found !== null) return format(Number.parseInt(found[1]!, 8))
  } catch {
    // no /proc (not Linux): the old way
  }
  return format(process.umask())
}
