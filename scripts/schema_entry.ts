// Entry for `npm run schema`: exposes the JSON Schema renderer to the build script.
export { render } from "../events/json_schema.ts"
