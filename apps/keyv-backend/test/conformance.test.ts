// #region conformance
import { runBackendConformance } from '@rapide/conformance'
import { KeyvBackend } from '../src/index.js'

runBackendConformance({ name: 'keyv', create: () => new KeyvBackend() })
// #endregion conformance
