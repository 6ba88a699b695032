// Not a regular test file: conformance's own test runs this in a child vitest and expects failures.
import { runBackendConformance } from '../../src/index.js'
import {
  AnswersAfterCloseBackend,
  FakeSharedBackend,
  HalfListingBackend,
  HangsAfterCloseBackend,
  IgnoresTtlBackend,
  LeaksAcrossPrefixesBackend,
  OverwritesGuardBackend,
} from './broken-backends.js'

runBackendConformance({ name: 'ignores-ttl', create: () => new IgnoresTtlBackend() })
runBackendConformance({ name: 'leaks-across-prefixes', create: () => new LeaksAcrossPrefixesBackend() })
runBackendConformance({ name: 'fake-shared', create: () => new FakeSharedBackend() })
runBackendConformance({
  name: 'overwrites-guard',
  create: () => new OverwritesGuardBackend('overwrites-guard'),
})
runBackendConformance({ name: 'answers-after-close', create: () => new AnswersAfterCloseBackend() })
runBackendConformance({ name: 'hangs-after-close', create: () => new HangsAfterCloseBackend('hangs') })
runBackendConformance({ name: 'half-listing', create: () => new HalfListingBackend('half-listing') })
