import { namespaceOf } from '@rapide/core'
import { asCliError } from './open-store.js'

/** Which part of a store a command looks at: one domain, one key prefix, or everything. */
export interface Scope {
  readonly domain?: string
  readonly prefix?: string
}

/** The key prefix to list for a scope: `{prefix}|{domain}:`, `{prefix}|`, or everything (`''`). */
export function listingPrefix(scope: Scope): string {
  if (scope.domain === undefined && scope.prefix === undefined) return ''
  try {
    return namespaceOf({ keyPrefix: scope.prefix ?? '', domainKey: scope.domain })
  } catch (error) {
    throw asCliError(error)
  }
}

/** "domain SHOP (key prefix app)" */
export function describeScope(scope: Scope): string {
  const parts: string[] = []
  if (scope.domain !== undefined) parts.push(`domain ${scope.domain}`)
  if (scope.prefix !== undefined && scope.prefix !== '')
    parts.push(`key prefix ${JSON.stringify(scope.prefix)}`)
  return parts.length === 0 ? 'every domain' : parts.join(', ')
}
