// text.js - text as the API counts it: trimmed of spaces, tabs and line
// breaks at both ends, then measured in Unicode code points.

export const trimApi = (s) => s.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');

export function codePoints(s) {
  let n = 0;
  for (const _ of s) n++; // eslint-disable-line no-unused-vars
  return n;
}

export const NAME_MAX = 100;
export const DESCRIPTION_MAX = 500;
