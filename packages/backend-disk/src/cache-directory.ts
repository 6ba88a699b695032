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
  let text: string | undefined
  try {
    text = fs.readFileSync(markerPath, 'utf8')
  } catch (error) {
    if (codeOf(error) !== 'ENOENT') throw unavailable(directory, error)
  }
  if (text === undefined) {
    let entries: string[]
    try {
      entries = fs.readdirSync(directory)
    } catch (error) {
      throw unavailable(directory, error)
    }
    if (entries.length > 0) {
      throw new BackendUnavailableError(
        `Disk backend: ${directory} is not empty and is not a rapide disk cache (no ${MARKER_FILE}). The backend never writes among other files: choose an empty or new directory (option \`directory\` or RAPIDE_DISK_DIR).`,
      )
    }
    const marker: Marker = { format: 'rapide-disk', version: FORMAT_VERSION }
    try {
      fs.writeFileSync(markerPath, `${JSON.stringify(marker)}\n`, { flag: 'wx' })
    } catch (error) {
      // Another process created it meanwhile: fine, it is checked below.
      if (codeOf(error) !== 'EEXIST') throw unavailable(directory, error)
    }
    text = fs.readFileSync(markerPath, 'utf8')
  }
  checkMarker(directory, text)
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
