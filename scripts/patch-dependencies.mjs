// Runs after every `npm install` / `npm ci` (package.json "postinstall"). Plain JavaScript on purpose: it must
// run before anything else of the project does.
//
// postgres.js 3.4.9: Queue.remove() searches the queue's array from the start, but shift() leaves the slots
// it consumed in place (set to undefined) until the queue is drained. Under sustained load the pool's "busy"
// queue never drains, so every query scanned an ever longer run of holes: 15% of the server's CPU on GET
// profile, and 17.5k instead of 14k requests per second in `npm run bench`. Searching from the live part of
// the array is the whole fix. The patch applies only to the exact text it expects and says so otherwise.
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const BEFORE = `    remove: (x) => {
      const index = xs.indexOf(x)
      return index === -1
        ? null
        : (xs.splice(index, 1), x)
    },`
const AFTER = `    remove: (x) => {
      const at = xs.indexOf(x, index) // patched by entitle: skip the slots shift() already consumed
      return at === -1
        ? null
        : (xs.splice(at, 1), x)
    },`

let failed = false
for (const build of ['src', 'cjs/src', 'cf/src']) {
  const path = join(root, 'node_modules', 'postgres', build, 'queue.js')
  let text
  try {
    text = readFileSync(path, 'utf8')
  } catch {
    continue // not installed (e.g. a partial install); nothing to patch
  }
  if (text.includes(AFTER)) continue
  if (!text.includes(BEFORE)) {
    process.stderr.write(`patch-dependencies: ${path} is not the postgres 3.4.9 text this patch expects\n`)
    failed = true
    continue
  }
  writeFileSync(path, text.replace(BEFORE, AFTER))
}
if (failed) process.exit(1)
