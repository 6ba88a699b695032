/** Query parameters whose values are secrets, as drivers name them (`?password=`, `?token=`…). */
const SECRET_PARAMETER =
  /([?&;](?:[a-z_-]*(?:pass(?:word)?|pwd|secret|token|auth|credentials?|api[_-]?key|access[_-]?key)[a-z_-]*)=)([^&#;]*)/gi

/**
 * A backend URL with its credentials replaced by `***`, fit for messages, events and logs: the user name
 * stays where it can be told apart (it helps to tell accounts apart), a password never does, nor the value
 * of a query parameter named like a secret (`password`, `token`, `secret`…). Leading and trailing
 * whitespace (an environment variable's newline) is dropped first. Where the URL cannot be parsed
 * cleanly (no `//`, a password holding an unencoded `/`, `?` or `#`), everything up to its last `@` is
 * hidden: hiding too much is fine, showing a password never is.
 *
 * @example
 * redactUrl('redis://app:s3cret@cache.internal:6379/0') // 'redis://app:***@cache.internal:6379/0'
 */
export function redactUrl(url: string): string {
  const text = url.trim()
  return hideSecretParameters(hideUserInfo(text))
}

function hideUserInfo(text: string): string {
  const last = text.lastIndexOf('@')
  if (last < 0) return text
  const parsed = /^([a-z][a-z0-9+.-]*:)\/\/([^/?#]*)(.*)$/is.exec(text)
  if (parsed !== null) {
    const [, protocol, authority, rest] = parsed
    const at = authority!.lastIndexOf('@')
    // The credentials end inside the authority only when no `@` follows it: an unencoded / ? # in a
    // password ends the authority early and leaves the password's tail after it.
    if (at >= 0 && !rest!.includes('@')) {
      const userInfo = authority!.slice(0, at)
      const colon = userInfo.indexOf(':')
      const user = colon < 0 ? userInfo : userInfo.slice(0, colon)
      // A lone name may be a password (`redis://secret@host`): hidden whole.
      const hidden = colon < 0 ? '***' : `${user}:***`
      return `${protocol}//${hidden}@${authority!.slice(at + 1)}${rest}`
    }
  }
  const prefix = /^[a-z][a-z0-9+.-]*:(?:\/\/)?/i.exec(text)?.[0] ?? ''
  return `${prefix}***${text.slice(last)}`
}

function hideSecretParameters(text: string): string {
  return text.includes('=') ? text.replace(SECRET_PARAMETER, '$1***') : text
}

/** The values of a URL's secret-named query parameters, as written (what {@link redactUrl} hides). */
export function secretParameterValues(url: string): string[] {
  return [...url.matchAll(SECRET_PARAMETER)].map(([, , value]) => value!).filter((value) => value !== '')
}
