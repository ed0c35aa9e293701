import { createRequire } from 'node:module'

// Schema compilers are optional peer packages, loaded only for the kind of schema a route
// declares. Loading is synchronous (routes compile in the onRoute hook) and resolves from this
// file, where a package manager links peers. The CommonJS build has no import.meta: there,
// scripts/build.mjs puts `__filename` in its place.
// @ts-ignore -- import.meta is only valid in the ESM build; see above
export const requirePeer: (id: string) => unknown = createRequire(import.meta.url)
