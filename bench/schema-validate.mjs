// CPU per validation of the typed bench route's `tick` payload ({ i: integer, pad: string of
// 100 characters }), in process, for each schema library: what the event pipeline calls once
// per event. TypeBox: its compiled checker's Check(); Zod, Valibot, ArkType: the schema's
// Standard Schema `~standard.validate`. Prints the median of 7 rounds of 500 000 calls each, in
// nanoseconds per call. Run: node bench/schema-validate.mjs
import { Type } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { z } from 'zod'
import * as v from 'valibot'
import { type } from 'arktype'

const CALLS = 500_000
const ROUNDS = 7
const checker = TypeCompiler.Compile(Type.Object({ i: Type.Integer(), pad: Type.String() }))
const validators = {
  'TypeBox 0.34 (compiled Check)': (data) => checker.Check(data),
  'Zod 4': z.object({ i: z.number().int(), pad: z.string() })['~standard'].validate,
  'Valibot 1': v.object({ i: v.pipe(v.number(), v.integer()), pad: v.string() })['~standard'].validate,
  'ArkType 2': type({ i: 'number.integer', pad: 'string' })['~standard'].validate
}
const payloads = Array.from({ length: 1024 }, (_, i) => ({ i, pad: 'x'.repeat(100) }))

let sink = 0
function round (validate) {
  const start = process.cpuUsage()
  for (let n = 0; n < CALLS; n++) if (validate(payloads[n & 1023])) sink++
  const used = process.cpuUsage(start)
  return (used.user + used.system) * 1000 / CALLS
}

console.log(`Node ${process.version}; ns of CPU per validation, median of ${ROUNDS} rounds of ${CALLS} calls`)
console.log('| library | ns per validation |\n|---|---:|')
for (const [name, validate] of Object.entries(validators)) {
  round(validate) // warm-up
  const times = Array.from({ length: ROUNDS }, () => round(validate)).sort((a, b) => a - b)
  console.log(`| ${name} | ${times[ROUNDS >> 1].toFixed(0)} (${times[0].toFixed(0)}–${times[ROUNDS - 1].toFixed(0)}) |`)
}
if (sink === 0) console.log('')
