// Idempotency keys under real concurrency: 50 `jobs run --key` processes at once make exactly one job, and
// `jobs rm --force` frees the key for a new one.
import { afterAll, describe, expect, it } from "vitest"
import { jobs, jobsAsync, json } from "../support/cli.ts"
import { groupGone, jobDirs, scratch, started } from "../support/job_files.ts"

const tmp = scratch()
afterAll(() => tmp.cleanup())

interface RunJson {
  readonly id: string
  readonly existing: boolean
  readonly key: string | null
}

describe("jobs run --key", () => {
  it("makes exactly one job when 50 processes race for the same key, and rm --force frees the key", async () => {
    const home = tmp.home()
    const results = await Promise.all(
      Array.from({ length: 50 }, () => jobsAsync(["run", "--key", "same", "--json", "--", "sleep", "5"], { home }))
    )
    for (const r of results) expect(r.code, r.stderr).toBe(0)
    const runs = results.map((r) => json<RunJson>(r))

    const ids = new Set(runs.map((r) => r.id))
    expect(ids.size).toBe(1)
    const [id] = [...ids] as [string]
    expect(runs.filter((r) => !r.existing)).toHaveLength(1)
    expect(runs.every((r) => r.key === "same")).toBe(true)
    expect(jobDirs(home)).toEqual([id])

    // the one job really runs; removing it by force kills it and frees the key
    const { pgid } = await started(home, id)
    const rm = jobs(["rm", "--force", id], { home })
    expect(rm.code, rm.stderr).toBe(0)
    expect(jobDirs(home)).toEqual([])
    await groupGone(pgid)

    const again = jobs(["run", "--key", "same", "--json", "--", "sleep", "5"], { home })
    expect(again.code, again.stderr).toBe(0)
    const fresh = json<RunJson>(again)
    expect(fresh.existing).toBe(false)
    expect(fresh.id).not.toBe(id)
    expect(jobDirs(home)).toEqual([fresh.id])

    // and the key now names the new job
    const third = json<RunJson>(jobs(["run", "--key", "same", "--json", "--", "sleep", "5"], { home }))
    expect(third).toMatchObject({ id: fresh.id, existing: true })
  }, 120_000)
})
