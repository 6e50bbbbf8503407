// list.js - the state of a token list: page, page size, search, ordering,
// status filter; loads pages from the API and drops answers that arrive out
// of turn.

import { listTokens } from './api.js';

export function tokenList(render, { pageSize = 20 } = {}) {
  const s = {
    page: 1,
    pageSize,
    search: '',
    ordering: '-created',
    filter: '', // the API's status=: active, expiring, expired; '' for all
    count: 0,
    totalPages: 0,
    results: [],
    status: 'idle', // idle, loading, ready, error
    loaded: false, // whether any page has arrived yet
    error: null,
  };
  let seq = 0;

  async function load() {
    const mine = ++seq;
    s.status = 'loading';
    render(s);
    try {
      const r = await listTokens(s);
      if (mine !== seq) return;
      // The last row of the last page went away: show the page before.
      if (r.results.length === 0 && s.page > 1 && r.count > 0) {
        s.page = r.total_pages;
        load();
        return;
      }
      s.count = r.count;
      s.totalPages = r.total_pages;
      s.results = r.results;
      s.status = 'ready';
      s.loaded = true;
      s.error = null;
    } catch (err) {
      if (mine !== seq) return;
      s.status = 'error';
      s.error = err;
    }
    render(s);
  }

  return {
    state: s,
    load,
    // Another column sorts ascending first; the same column flips.
    sort(field) {
      s.ordering = s.ordering === field ? `-${field}` : field;
      s.page = 1;
      return load();
    },
    setOrdering(ordering) {
      s.ordering = ordering;
      s.page = 1;
      return load();
    },
    search(q) {
      if (q === s.search) return undefined;
      s.search = q;
      s.page = 1;
      return load();
    },
    setFilter(filter) {
      s.filter = filter;
      s.page = 1;
      return load();
    },
    goTo(page) {
      s.page = Math.max(1, Math.min(page, Math.max(1, s.totalPages)));
      return load();
    },
    setPageSize(n) {
      s.pageSize = n;
      s.page = 1;
      return load();
    },
    reset() {
      seq++;
      Object.assign(s, {
        page: 1,
        search: '',
        ordering: '-created',
        filter: '',
        count: 0,
        totalPages: 0,
        results: [],
        status: 'idle',
        loaded: false,
        error: null,
      });
    },
  };
}

// "1–20 of 45"
export function rangeText(s) {
  if (s.count === 0) return 'No tokens';
  const first = (s.page - 1) * s.pageSize + 1;
  const last = first + s.results.length - 1;
  return `${first}–${last} of ${s.count}`;
}
