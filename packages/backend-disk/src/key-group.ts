/**
 * The group a key belongs to, by the Redis Cluster hash-tag rule (see "Key groups" in the conformance
 * README and `KeyLayout` in the core): the text between the first `{` and the next `}` when it is not
 * empty, else the whole key. Every key of one group lives in one file, so what the core needs written
 * together (a result with its generation; a domain's generations) is one file write.
 *
 * @example
 * keyGroup('app|SHOP:r:{{price:1:[42]}') // '{price:1:[42]'
 * keyGroup('plain-key') // 'plain-key'
 */
export function keyGroup(key: string): string {
  const open = key.indexOf('{')
  if (open === -1) return key
  const close = key.indexOf('}', open + 1)
  if (close === -1 || close === open + 1) return key
  return key.slice(open + 1, close)
}
