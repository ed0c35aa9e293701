import { expectError, expectType } from 'tsd'
import { encodeEvent, type EncodeOptions } from 'fastify-typed-sse'

expectType<string>(encodeEvent({ data: 'x' }, { maxEventBytes: 1024 }))
expectType<string>(encodeEvent({ data: 'x' }, {}))
const options: EncodeOptions = { maxEventBytes: 1 }
expectType<string>(encodeEvent({ id: 1 }, options))
expectError(encodeEvent({ data: 'x' }, { maxEventBytes: '1' }))
