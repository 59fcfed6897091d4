/**
 * Adapty's response format: ISO 8601 with microseconds and an explicit `+00:00` offset,
 * e.g. `2024-12-24T10:50:23.123000+00:00`.
 */
export function formatDateTime(date: Date): string {
  const iso = date.toISOString() // 2024-12-24T10:50:23.123Z
  return `${iso.slice(0, 23)}000+00:00`
}

export function formatNullableDateTime(date: Date | null): string | null {
  return date === null ? null : formatDateTime(date)
}
