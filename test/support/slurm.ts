// A real single-node Slurm for tests (munged, slurmctld, slurmd on this machine, as root), set up the way
// ../shared/reference/SLURM.md says. `ensure()` is idempotent and fast when everything is up already; it never
// stops daemons it did not start unless their configuration must change.
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"

/** CPUs the node claims (config_overrides lets it claim more than it has): enough to run jobs side by side. */
export const CPUS = 4

const CONF = "/etc/slurm/slurm.conf"
const LOCK = "/run/jobs-test-slurm.lock"

const host = (): string => Os.hostname().split(".")[0]!

/** slurm.conf for this machine. */
export const conf = (): string =>
  [
    "# written by the jobs test suite (test/support/slurm.ts)",
    "ClusterName=ci",
    `SlurmctldHost=${host()}(127.0.0.1)`,
    "AuthType=auth/munge",
    "CredType=cred/munge",
    "SlurmUser=root",
    "SlurmdUser=root",
    "StateSaveLocation=/var/spool/slurmctld",
    "SlurmdSpoolDir=/var/spool/slurmd",
    "SlurmctldPidFile=/run/slurmctld.pid",
    "SlurmdPidFile=/run/slurmd.pid",
    "ProctrackType=proctrack/linuxproc",
    "TaskPlugin=task/none",
    "SelectType=select/cons_tres",
    "SelectTypeParameters=CR_Core",
    "MpiDefault=none",
    "ReturnToService=2",
    "SlurmdParameters=config_overrides",
    "MinJobAge=3600",
    "MailProg=/bin/true",
    "AccountingStorageType=accounting_storage/none",
    "JobAcctGatherType=jobacct_gather/none",
    // the time limit is checked more often than the default, so a --time test ends sooner
    "KillWait=5",
    `NodeName=${host()} NodeAddr=127.0.0.1 CPUs=${CPUS} RealMemory=1000 State=UNKNOWN`,
    "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP",
    ""
  ].join("\n")

const TOOLS = ["/usr/sbin/munged", "/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/bin/sbatch", "/usr/bin/scontrol"]

/** Whether this machine has the Slurm and munge packages (munge slurmctld slurmd slurm-client) and runs as root. */
export const available = (): boolean => TOOLS.every((t) => Fs.existsSync(t)) && process.getuid?.() === 0

/** What is missing, for the skip message. */
export const missing = (): string =>
  process.getuid?.() !== 0
    ? "root (the test starts slurmctld and slurmd)"
    : `apt-get install munge slurmctld slurmd slurm-client (missing: ${TOOLS.filter((t) => !Fs.existsSync(t)).join(", ")})`

/** Whether the process in a pid file runs (and is not a zombie: PID 1 here reaps late). */
const alive = (pidFile: string): number | undefined => {
  try {
    const pid = Number(Fs.readFileSync(pidFile, "utf8").trim())
    if (!(pid > 0)) return undefined
    const status = Fs.readFileSync(`/proc/${pid}/status`, "utf8")
    return /^State:\s+[ZX]/m.test(status) ? undefined : pid
  } catch {
    return undefined
  }
}

const mungedAlive = (): boolean => {
  // munged writes its pid file in /run/munge
  return alive("/run/munge/munged.pid") !== undefined
}

const sh = (command: string): string =>
  ChildProcess.execFileSync("/bin/sh", ["-c", command], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const nodeState = (): string => {
  try {
    return sh("sinfo -h -o %t 2>/dev/null").trim()
  } catch {
    return ""
  }
}

const stopDaemon = async (pidFile: string) => {
  const pid = alive(pidFile)
  if (pid === undefined) return
  process.kill(pid, "SIGTERM")
  for (let i = 0; i < 200 && alive(pidFile) !== undefined; i++) await sleep(50)
}

const withLock = async <A>(f: () => Promise<A>): Promise<A> => {
  for (let i = 0; ; i++) {
    try {
      Fs.mkdirSync(LOCK)
      break
    } catch {
      // a lock older than two minutes is left over from a killed run
      try {
        if (Date.now() - Fs.statSync(LOCK).mtimeMs > 120_000) Fs.rmdirSync(LOCK)
      } catch {
        // gone in between
      }
      if (i > 1200) throw new Error(`another test holds ${LOCK}`)
      await sleep(100)
    }
  }
  try {
    return await f()
  } finally {
    Fs.rmdirSync(LOCK)
  }
}

/**
 * Makes sure munged, slurmctld and slurmd run with this suite's slurm.conf and the node takes jobs. Returns how long
 * it took, in milliseconds.
 */
export const ensure = (): Promise<number> =>
  withLock(async () => {
    const t0 = performance.now()
    let current = ""
    try {
      current = Fs.readFileSync(CONF, "utf8")
    } catch {
      // first time
    }
    if (current !== conf()) {
      // a changed configuration needs the daemons started again
      await stopDaemon("/run/slurmd.pid")
      await stopDaemon("/run/slurmctld.pid")
      Fs.mkdirSync("/etc/slurm", { recursive: true })
      Fs.writeFileSync(CONF, conf())
    }
    if (!mungedAlive()) {
      if (!Fs.existsSync("/etc/munge/munge.key")) sh("mungekey --create")
      sh("install -d -o munge -g munge -m 0755 /run/munge && runuser -u munge -- /usr/sbin/munged")
      for (let i = 0; i < 100 && !mungedAlive(); i++) await sleep(50)
    }
    Fs.mkdirSync("/var/spool/slurmctld", { recursive: true })
    Fs.mkdirSync("/var/spool/slurmd", { recursive: true })
    if (alive("/run/slurmctld.pid") === undefined) sh("/usr/sbin/slurmctld")
    if (alive("/run/slurmd.pid") === undefined) sh("/usr/sbin/slurmd")
    let state = ""
    for (let i = 0; i < 600; i++) {
      state = nodeState()
      if (/^(idle|mix|alloc|comp)/.test(state)) return performance.now() - t0
      if (/^(drain|drng|down|fail)/.test(state)) {
        try {
          sh(`scontrol update nodename=${host()} state=resume`)
        } catch {
          // not yet registered: try again on the next round
        }
      }
      await sleep(100)
    }
    throw new Error(`Slurm did not come up: sinfo says "${state}"`)
  })

/** Cancels every job of the cluster whose name starts with jobs- (what the suite submitted), leaving others alone. */
export const cancelOurs = (): void => {
  try {
    sh("squeue -h -o '%i %j' | awk '$2 ~ /^jobs-/ {print $1}' | xargs -r scancel")
  } catch {
    // nothing to cancel
  }
}
