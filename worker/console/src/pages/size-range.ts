// Owns how the console writes a policy group rule's size range: [min, max) with exact bounds, so a
// gap of one byte between two rules shows.
/** A size exactly: in the largest unit it is a whole number of, else in bytes ("1,048,577 B"). */
export function exactBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let unit = 0;
  let value = bytes;
  while (value > 0 && value % 1024 === 0 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toLocaleString("en-US")} ${units[unit]}`;
}

/** A rule's [min, max): the minimum matches, the maximum does not. */
export function sizeRange(min: number, max: number): string {
  if (min === 0 && max === 0) return "all sizes";
  if (max === 0) return `${exactBytes(min)} and above`;
  return `${exactBytes(min)} to under ${exactBytes(max)}`;
}
