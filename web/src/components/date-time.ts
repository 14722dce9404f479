/** `YYYY-MM-DDTHH:mm` in local time, the value of an `<input type="datetime-local">`. */
export function toLocalInputValue(epochMs: number | null | undefined): string {
  if (epochMs === null || epochMs === undefined) return '';
  const date = new Date(epochMs);
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** Epoch milliseconds from a datetime-local value; empty means none. */
export function fromLocalInputValue(value: string | undefined): number | null {
  if (!value) return null;
  const epochMs = new Date(value).getTime();
  return Number.isNaN(epochMs) ? null : epochMs;
}
