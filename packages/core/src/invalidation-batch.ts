import type { AnyBackend, OnBackend } from './backend/contract.js'
import type { CacheContext } from './context.js'
import type { InvalidationTarget } from './invalidation.js'
import { chain, type MaybePromise } from './maybe-promise.js'

/** Collects invalidations for one atomic commit. Made by `cache.batch()`. */
export class InvalidationBatch<B extends AnyBackend> {
  private readonly targets: InvalidationTarget[] = []

  /** @internal */
  constructor(
    private readonly ctx: CacheContext,
    private readonly commitTargets: (targets: readonly InvalidationTarget[]) => MaybePromise<void>,
    private readonly resolve: {
      result(functionKey: string, args: readonly unknown[]): InvalidationTarget
      function(functionKey: string): InvalidationTarget
    },
  ) {}

  /** Adds one result; an unkeyable argument throws here, at once, since nothing is committed yet. */
  invalidateResult(functionKey: string, ...args: readonly unknown[]): this {
    this.targets.push(this.resolve.result(functionKey, args))
    return this
  }

  invalidateFunc(functionKey: string): this {
    this.targets.push(this.resolve.function(functionKey))
    return this
  }

  invalidateDomain(): this {
    this.targets.push({ level: 'domain' })
    return this
  }

  /** Applies every collected invalidation at once. */
  commit(): OnBackend<B, void> {
    return this.ctx.guard(
      this.ctx.async,
      () => chain(this.commitTargets(this.targets), () => undefined) as OnBackend<B, void>,
    )
  }
}
