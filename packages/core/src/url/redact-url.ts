/**
 * A backend URL with its credentials replaced by `***`, fit for messages, events and logs: the user name
 * stays (it helps to tell accounts apart), the password never does. Text that does not parse as a URL is
 * cut at its last `@` before the host, so a malformed URL cannot leak a password either.
 *
 * @example
 * redactUrl('redis://app:s3cret@cache.internal:6379/0') // 'redis://app:***@cache.internal:6379/0'
 */
export function redactUrl(url: string): string {
  const scheme = /^([a-z][a-z0-9+.-]*:)\/\/([^/?#]*)(.*)$/is.exec(url)
  if (scheme === null) return url
  const [, protocol, authority, rest] = scheme
  const at = authority!.lastIndexOf('@')
  if (at < 0) return url
  const userInfo = authority!.slice(0, at)
  const colon = userInfo.indexOf(':')
  const user = colon < 0 ? userInfo : userInfo.slice(0, colon)
  const hidden = colon < 0 && user !== '' ? '***' : `${user}:***`
  return `${protocol}//${hidden}@${authority!.slice(at + 1)}${rest}`
}
