import { InvalidOptionError } from '@rapide/core'
import { describe, expect, it } from 'vitest'
import { diskOptionsFromUrl } from '../src/from-url.js'

// Review of setup by URL (disk), the finding still open.

describe.runIf(process.platform !== 'win32')('disk: URL, Windows paths on another system', () => {
  it('are refused rather than becoming a folder literally named "C:\\cache" (or "/C:/cache")', () => {
    // The README documents these forms as Windows drive and share paths. Elsewhere they silently name a
    // folder of the working directory (or of the root) that no Windows reader of the same config uses.
    for (const url of [
      'disk:C:\\cache\\app',
      'disk:C:/cache/app',
      'disk:///C:/cache/app',
      'disk:\\\\server\\share',
    ]) {
      expect(() => diskOptionsFromUrl(url), url).toThrow(InvalidOptionError)
    }
  })
})
