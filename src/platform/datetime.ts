/**
 * Adapty's response format: ISO 8601 with microseconds and an explicit `+00:00` offset,
 * e.g. `2024-12-24T10:50:23.123000+00:00`.
 */
export function formatDateTime(date: Date): string {
  const iso = date.toISOString() // 2024-12-24T10:50:23.123Z
  return `${iso.slice(0, 23)}000+00:00`
}

/**
 * formatDateTime of an instant given as text. The instants of stored documents are toISOString() output
 * (24 characters, `Z`), which needs only its `Z` replaced: no Date to parse and print again, for the
 * dozens of instants a profile response and its events carry. Anything else goes through a Date.
 */
export function formatInstant(value: string): string {
  if (value.length === 24 && value.charCodeAt(23) === 90 /* Z */ && value.charCodeAt(19) === 46 /* . */) {
    return `${value.slice(0, 23)}000+00:00`
  }
  return formatDateTime(new Date(value))
}

export function formatNullableDateTime(date: Date | null): string | null {
  return date === null ? null : formatDateTime(date)
}
