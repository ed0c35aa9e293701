// Generators of hostile values and broken producers for the property tests. Every case is a
// function of a seeded PRNG, so a failure names a seed that reproduces it.
import { pick } from './rng.mjs'

const TRAPS = ['get', 'set', 'has', 'ownKeys', 'getOwnPropertyDescriptor', 'defineProperty', 'deleteProperty',
  'getPrototypeOf', 'setPrototypeOf', 'isExtensible', 'preventExtensions', 'apply', 'construct']

/** A Proxy whose every trap throws `thrown()`. */
export function trapAll (target = {}, thrown = () => new Error('trap')) {
  const handler = {}
  for (const trap of TRAPS) handler[trap] = () => { throw thrown() }
  return new Proxy(target, handler)
}

function revoked () {
  const { proxy, revoke } = Proxy.revocable({}, {})
  revoke()
  return proxy
}

/** An Error whose `field` getter throws `thrown()`. */
function errorWithThrowing (field, thrown) {
  const err = new Error('getter')
  Object.defineProperty(err, field, { get () { throw thrown() }, enumerable: field !== 'message' && field !== 'stack' })
  return err
}

/** Values a producer may throw, by name; the deeper ones are what getters throw. */
const SIMPLE = {
  string: () => 'just a string',
  number: () => 42,
  nan: () => NaN,
  zero: () => 0,
  false: () => false,
  bigint: () => 10n,
  undefined: () => undefined,
  null: () => null,
  symbol: () => Symbol('s'),
  nullPrototype: () => Object.create(null),
  toStringNotAFunction: () => JSON.parse('{"toString":"x"}'),
  throwingConversions: () => ({
    toString () { throw new Error('toString') },
    valueOf () { throw new Error('valueOf') },
    [Symbol.toPrimitive] () { throw new Error('toPrimitive') }
  }),
  proxy: () => trapAll(),
  errorProxy: () => trapAll(new Error('inside')),
  revokedProxy: revoked,
  function: () => function thrown () {},
  error: () => new Error('plain')
}
const SIMPLE_NAMES = Object.keys(SIMPLE)

export const VALUE_NAMES = [...SIMPLE_NAMES, 'errorMessageGetter', 'errorStackGetter', 'errorNameGetter', 'errorCauseGetter', 'errorCodeGetter']

/** One hostile value, named so a failure says what it was. */
export function hostileValue (next) {
  const name = pick(next, VALUE_NAMES)
  return [name, makeValue(name, next)]
}

function makeValue (name, next) {
  if (name in SIMPLE) return SIMPLE[name]()
  const inner = SIMPLE[pick(next, SIMPLE_NAMES)]
  const field = { errorMessageGetter: 'message', errorStackGetter: 'stack', errorNameGetter: 'name', errorCauseGetter: 'cause', errorCodeGetter: 'code' }[name]
  return errorWithThrowing(field, inner)
}

const ITEM = { data: 'a' }
const DONE = { done: true, value: undefined }
const nextItem = () => ({ done: false, value: ITEM })

/** A sync or async iterable from an iterator factory. */
function iterable (kind, makeIterator) {
  return kind === 'async' ? { [Symbol.asyncIterator]: makeIterator } : { [Symbol.iterator]: makeIterator }
}

/** One iterator result that breaks the protocol. */
function brokenResult (next, throwing) {
  return pick(next, [
    () => ['undefined', undefined],
    () => ['null', null],
    () => ['a number', 42],
    () => ['a string', 'x'],
    () => ['a symbol', Symbol('r')],
    () => ['a Proxy result', trapAll({}, throwing)],
    () => ['a done getter that throws', { get done () { throw throwing() }, value: ITEM }],
    () => ['a value getter that throws', { done: false, get value () { throw throwing() } }],
    () => ['a revoked proxy result', revoked()]
  ])()
}

/** One item the encoder cannot read. */
function brokenItem (next, throwing) {
  return pick(next, [
    () => ['a Proxy item', trapAll({}, throwing)],
    () => ['a revoked proxy item', revoked()],
    () => ['a data getter that throws', { get data () { throw throwing() } }],
    () => ['an event getter that throws', { data: 'x', get event () { throw throwing() } }],
    () => ['an id getter that throws', { data: 'x', get id () { throw throwing() } }],
    () => ['data whose toJSON throws', { data: { toJSON () { throw throwing() } } }],
    () => ['a Proxy as data', { data: trapAll({}, throwing) }]
  ])()
}

/** A return() that misbehaves, for producers cancelled after an item failure. */
function brokenReturn (next, throwing) {
  return pick(next, [
    () => ['no return()', {}],
    () => ['return() throws', { return () { throw throwing() } }],
    () => ['return() never settles', { return: () => new Promise(() => {}) }],
    () => ['return() rejects', { return: () => Promise.reject(throwing()) }],
    () => ['a return getter that throws', { get return () { throw throwing() } }],
    () => ['return() gives a non-object', { return: () => 7 }]
  ])()
}

/**
 * One hostile producer for `reply.sse(source)`: `{ name, source, outcome }`, where outcome is
 * 'stream-error' (a 200 stream that ends with the terminal error), 'stream-end' (a clean end)
 * or 'http-error' (a failure before the first byte: an ordinary 500), and itemsBefore is how
 * many good items come first.
 */
export function hostileProducer (next) {
  const [valueName, value] = hostileValue(next)
  const thrown = () => value
  const kind = next() < 0.5 ? 'async' : 'sync'
  const shape = pick(next, [
    'generator throws', 'next() throws', 'next() rejects', 'broken result', 'broken result, async',
    'thenable', 'broken item', 'broken item, broken return', 'promise with own constructor',
    'no next method', 'producer function throws', 'producer function rejects', 'iterator getter throws',
    'iterator is not an object'
  ])
  let detail = ''
  let outcome = 'stream-error'
  let itemsBefore = 1
  let source
  switch (shape) {
    case 'generator throws':
      source = kind === 'async'
        ? async function * () { yield ITEM; throw thrown() }
        : function * () { yield ITEM; throw thrown() }
      break
    case 'next() throws':
      source = () => iterable(kind, () => {
        let n = 0
        return { next () { if (n++ === 0) return kind === 'async' ? Promise.resolve(nextItem()) : nextItem(); throw thrown() } }
      })
      break
    case 'next() rejects':
      source = () => iterable('async', () => {
        let n = 0
        return { next: () => n++ === 0 ? Promise.resolve(nextItem()) : Promise.reject(thrown()) }
      })
      break
    case 'broken result':
    case 'broken result, async': {
      const [name, result] = brokenResult(next, thrown)
      detail = name
      const asyncResult = shape.endsWith('async')
      source = () => iterable(asyncResult ? 'async' : kind, () => {
        let n = 0
        return { next: () => { const r = n++ === 0 ? nextItem() : result; return asyncResult ? Promise.resolve(r) : r } }
      })
      break
    }
    case 'thenable': {
      const [name, then] = pick(next, [
        () => ['then() rejects', (resolve, reject) => reject(thrown())],
        () => ['then() throws', () => { throw thrown() }],
        () => ['then() resolves twice then throws', (resolve) => { resolve({ done: false, value: { data: 'twice' } }); resolve(DONE); throw thrown() }],
        () => ['then() resolves a broken result', (resolve) => resolve(brokenResult(next, thrown)[1])]
      ])()
      detail = name
      source = () => iterable('async', () => {
        let n = 0
        return { next: () => n++ === 0 ? Promise.resolve(nextItem()) : n > 3 ? Promise.resolve(DONE) : { then } }
      })
      if (name === 'then() resolves twice then throws') outcome = 'stream-end'
      break
    }
    case 'broken item':
    case 'broken item, broken return': {
      const [name, item] = brokenItem(next, thrown)
      const [returnName, extra] = shape === 'broken item' ? ['', {}] : brokenReturn(next, thrown)
      detail = name + (returnName ? ', ' + returnName : '')
      source = () => iterable(kind, () => {
        let n = 0
        const it = { next: () => { const r = n++ === 0 ? nextItem() : { done: false, value: item }; return kind === 'async' ? Promise.resolve(r) : r } }
        return Object.defineProperties(it, Object.getOwnPropertyDescriptors(extra))
      })
      break
    }
    case 'promise with own constructor':
      source = () => iterable('async', () => ({
        next () {
          const p = Promise.resolve(nextItem())
          Object.defineProperty(p, 'constructor', { get () { throw thrown() } })
          return p
        }
      }))
      itemsBefore = 0
      break
    case 'no next method':
      source = () => iterable(kind, () => ({ next: pick(next, [undefined, 42, 'next', null]) }))
      itemsBefore = 0
      break
    case 'producer function throws':
      source = () => { throw thrown() }
      outcome = 'http-error'
      break
    case 'producer function rejects':
      source = async () => { throw thrown() }
      outcome = 'http-error'
      break
    case 'iterator getter throws':
      source = () => Object.defineProperty({}, kind === 'async' ? Symbol.asyncIterator : Symbol.iterator, { get () { throw thrown() } })
      outcome = 'http-error'
      break
    case 'iterator is not an object': {
      const [name, it] = pick(next, [['42', 42], ['null', null], ['a string', 'it'], ['a symbol', Symbol('i')]])
      detail = name
      source = () => iterable(kind, () => it)
      outcome = 'http-error'
      break
    }
  }
  return { name: `${kind} ${shape}${detail ? ` (${detail})` : ''} with ${valueName}`, source, outcome, itemsBefore }
}

/** One item for `stream.send()` that cannot be encoded. */
export function hostileItem (next) {
  const [valueName, value] = hostileValue(next)
  const [name, item] = pick(next, [
    () => brokenItem(next, () => value),
    () => ['the value itself', value]
  ])()
  return { name: `${name} with ${valueName}`, item }
}
