import fs from 'node:fs'
import { join } from 'node:path'
import { BackendUnavailableError } from '@rapide/core'
import { codeOf, fileSystemError } from './fs-errors.js'
import { FORMAT_VERSION } from './record-format.js'

/** The file that marks a directory as a rapide disk cache. */
export const MARKER_FILE = 'rapide-disk.json'

interface Marker {
  format: 'rapide-disk'
  version: number
}

/**
 * Makes `directory` a cache directory, or checks it is one: created when missing, with its marker file
 * (the 256 subdirectories are created on the first write into each). A non-empty directory without the marker is refused (it is someone else's:
 * the backend never deletes a user's files), and so is a marker of another format version.
 */
export function prepareDirectory(directory: string): void {
  try {
    fs.mkdirSync(directory, { recursive: true })
  } catch (error) {
    throw unavailable(directory, error)
  }
  const markerPath = join(directory, MARKER_FILE)
  // Several processes may open a new directory at once: the marker appears whole or not at all (written
  // to a file of this process, then linked into place, which fails if another process linked first), and
  // a directory holding only markers being made is still empty.
  for (let attempt = 0; ; attempt++) {
    if (attempt === 10) {
      throw new BackendUnavailableError(
        `Disk backend: ${markerPath} can neither be read nor created (is it a broken link?). Choose another directory, or delete this one if it is a cache you no longer need.`,
      )
    }
    const text = readMarker(directory, markerPath)
    if (text !== undefined) {
      checkMarker(directory, text)
      return
    }
    let entries: string[]
    try {
      entries = fs.readdirSync(directory).filter((entry) => !isMarkerInTheMaking(entry))
    } catch (error) {
      throw unavailable(directory, error)
    }
    if (entries.includes(MARKER_FILE)) continue // Linked by another process since the read: read it.
    if (entries.length > 0) {
      throw new BackendUnavailableError(
        `Disk backend: ${directory} is not empty and is not a rapide disk cache (no ${MARKER_FILE}). The backend never writes among other files: choose an empty or new directory (option \`directory\` or RAPIDE_DISK_DIR).`,
      )
    }
    createMarker(directory, markerPath)
  }
}

/** The marker's text, or `undefined` when there is none. */
function readMarker(directory: string, markerPath: string): string | undefined {
  try {
    return fs.readFileSync(markerPath, 'utf8')
  } catch (error) {
    if (codeOf(error) !== 'ENOENT') throw unavailable(directory, error)
    return undefined
  }
}

const MARKER_TEMP = `${MARKER_FILE}.making-`

function isMarkerInTheMaking(entry: string): boolean {
  return entry.startsWith(MARKER_TEMP)
}

/** Writes the marker whole under a name of this process, then links it into place (once, atomically). */
function createMarker(directory: string, markerPath: string): void {
  const marker: Marker = { format: 'rapide-disk', version: FORMAT_VERSION }
  const temp = join(directory, `${MARKER_TEMP}${process.pid}-${Math.random().toString(36).slice(2)}`)
  try {
    fs.writeFileSync(temp, `${JSON.stringify(marker)}\n`, { flag: 'wx' })
    fs.linkSync(temp, markerPath)
  } catch (error) {
    // Another process linked its marker first: fine, the caller reads it.
    if (codeOf(error) !== 'EEXIST') throw unavailable(directory, error)
  } finally {
    try {
      fs.unlinkSync(temp)
    } catch {
      // Never written (the write failed): nothing to remove.
    }
  }
}

/**
 * Creates the subdirectory a group file goes in, on its first write (and again if the cache was deleted
 * under a running process: then the directory and its marker are made anew first).
 */
export function makeSubdirectory(directory: string, subdirectory: string): void {
  if (!fs.existsSync(join(directory, MARKER_FILE))) prepareDirectory(directory)
  try {
    fs.mkdirSync(subdirectory, { recursive: true })
  } catch (error) {
    throw unavailable(directory, error)
  }
}

function checkMarker(directory: string, text: string): void {
  let marker: Partial<Marker> | undefined
  try {
    marker = JSON.parse(text) as Partial<Marker>
  } catch {
    marker = undefined
  }
  if (marker?.format !== 'rapide-disk') {
    throw new BackendUnavailableError(
      `Disk backend: ${join(directory, MARKER_FILE)} is not a rapide disk cache marker. Choose another directory, or delete this one if it is a cache you no longer need.`,
    )
  }
  if (marker.version !== FORMAT_VERSION) {
    throw new BackendUnavailableError(
      `Disk backend: ${directory} holds a cache of format version ${String(marker.version)}; this release reads version ${FORMAT_VERSION}. Use the release that wrote it, or delete the directory (it is only a cache).`,
    )
  }
}

function unavailable(directory: string, error: unknown): Error {
  const typed = fileSystemError('open', directory, error)
  return typed instanceof BackendUnavailableError
    ? typed
    : new BackendUnavailableError(
        `Disk backend: cannot open the cache directory ${directory}: ${typed.message}`,
        error,
      )
}
