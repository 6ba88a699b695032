import fs from 'node:fs'
import { join } from 'node:path'
import { FAN_OUT } from './group-paths.js'

/**
 * The entries of one of the 256 subdirectories (absent: none). Listing and housekeeping walk these;
 * the request path never does.
 */
export function entriesOf(directory: string, subdirectory: string): string[] {
  try {
    return fs.readdirSync(join(directory, subdirectory))
  } catch {
    return []
  }
}

/** Every subdirectory name, in order: one step of a walk each. */
export const SUBDIRECTORIES = FAN_OUT
