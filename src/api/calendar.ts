/**
 * Whether year-month-day names a real day (year 1 to 9999): 2026-02-30 and 2025-02-29 do not.
 * JavaScript's Date rolls such dates over into the next month and PostgreSQL refuses them, so
 * input dates are checked here before either sees them.
 */
export function isCalendarDate(year: number, month: number, day: number): boolean {
  if (!Number.isInteger(year) || year < 1 || year > 9999 || !Number.isInteger(month) || month < 1 || month > 12) return false;
  // Day 0 of the next month is the last day of this one (Date.UTC maps years 0–99 to 19xx, so set it).
  const last = new Date(0);
  last.setUTCFullYear(year, month, 0);
  return Number.isInteger(day) && day >= 1 && day <= last.getUTCDate();
}
