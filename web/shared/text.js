// text.js - text as the API counts it: trimmed of spaces, tabs and line
// breaks at both ends, then measured in Unicode code points.

export const trimApi = (s) => s.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');

export function codePoints(s) {
  let n = 0;
  for (const _ of s) n++; // eslint-disable-line no-unused-vars
  return n;
}

// The server's limits, from GET /v4/console/config (setLimits), read when a
// form checks or counts: the consoles keep no copy of their own.
export const limits = { name: 0, description: 0 };

export function setLimits(cfg) {
  limits.name = cfg.name_max_chars;
  limits.description = cfg.description_max_chars;
}
