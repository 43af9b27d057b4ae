// The `jobs/events` entry: the event schema, the JSONL codec, reading and following a job's log. Nothing of the rest
// of jobs is loaded: a script can read and follow event files with this alone.
export * from "../events/mod.ts"
